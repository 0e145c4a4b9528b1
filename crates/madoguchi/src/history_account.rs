//! `madoguchi history account …`: the desk's staff accounts from the command line (the
//! first operators before anyone has logged in to the web page, or a script). The same
//! database and the same rules as the accounts page (`history::auth`): an operator is
//! one of the switch's agents, passwords are argon2-hashed. A password is read from the
//! terminal with its echo off (twice), or as one line from standard input when that is a pipe;
//! it is never printed or logged.

use anyhow::{bail, Context};
use clap::Subcommand;
use history::auth;
use history::error::HistoryError;
use history::store::Store;
use std::io::{BufRead, IsTerminal};
use std::path::Path;

#[derive(Subcommand)]
pub enum HistorySub {
    /// The desk's staff accounts: add, list, passwd, disable, enable.
    Account {
        #[command(subcommand)]
        cmd: AccountCmd,
    },
}

#[derive(Subcommand)]
pub enum AccountCmd {
    /// Create (or replace) an account; the password is read from the terminal or stdin.
    Add {
        login: String,
        /// The name shown on the desk.
        #[arg(long)]
        name: String,
        /// operator, supervisor or admin.
        #[arg(long)]
        role: String,
        /// The operator's agent id on the switch (required for an operator).
        #[arg(long, default_value = "")]
        agent: String,
    },
    /// List the accounts: login, name, role, agent id, state.
    List,
    /// Set a new password (read from the terminal or stdin); the account's sessions end.
    Passwd { login: String },
    /// Disable an account: it logs in no more and its sessions end.
    Disable { login: String },
    /// Enable a disabled account again.
    Enable { login: String },
}

/// Opens the history database: PostgreSQL when `database` is given, else the SQLite
/// file in `data` (created 0700, as the sidecar creates it).
fn open(data: &Path, database: Option<&str>) -> anyhow::Result<Store> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700));
    }
    let path = data.join("history.sqlite3");
    history::open_db(database, &path)
}

/// The terminal's echo off until dropped (POSIX termios, General Terminal Interface
/// §11.2: ECHO cleared, ECHONL kept so that Enter still ends the line visibly). Echo is off
/// before the prompt is shown, so nothing typed after the prompt can be echoed.
struct NoEcho {
    fd: i32,
    saved: libc::termios,
}

impl NoEcho {
    fn on(fd: i32) -> std::io::Result<NoEcho> {
        // SAFETY: termios is plain data; tcgetattr fills it or fails (checked).
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(fd, &mut t) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let saved = t;
        t.c_lflag &= !libc::ECHO;
        t.c_lflag |= libc::ECHONL;
        // SAFETY: a valid termios read above, changed in two flags.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &t) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(NoEcho { fd, saved })
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `on`.
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}

fn read_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// The new password: on a terminal asked twice without echo; from a pipe one line.
fn read_password() -> anyhow::Result<String> {
    let pw = if std::io::stdin().is_terminal() {
        let _quiet = NoEcho::on(0).context("turning the terminal's echo off")?;
        eprint!("新しいパスワード: ");
        let pw = read_line()?;
        eprint!("もう一度: ");
        if read_line()? != pw {
            bail!("the two passwords differ; nothing was changed");
        }
        pw
    } else {
        read_line()?
    };
    if pw.is_empty() {
        bail!("no password given (one line on standard input, or run on a terminal)");
    }
    Ok(pw)
}

/// The rules' answers (Japanese, as the web page shows them) as one error.
fn invalid(e: HistoryError) -> anyhow::Error {
    match e {
        HistoryError::Invalid(p) => anyhow::anyhow!("{}", p.join("\n")),
        other => other.into(),
    }
}

fn found(ok: bool, login: &str) -> anyhow::Result<()> {
    if ok {
        Ok(())
    } else {
        bail!("no account {login:?}")
    }
}

/// `agents`: the switch's agent ids (an operator's must be one of them).
pub fn run(
    data: &Path,
    database: Option<&str>,
    agents: &[String],
    cmd: AccountCmd,
) -> anyhow::Result<()> {
    let db = open(data, database)?;
    match cmd {
        AccountCmd::Add {
            login,
            name,
            role,
            agent,
        } => {
            let password = read_password()?;
            let account = auth::NewAccount {
                login: login.clone(),
                name,
                role,
                agent_id: agent,
                password,
            };
            auth::save_account(&db, agents, &account).map_err(invalid)?;
            tracing::info!(login = %login, role = %account.role, "desk account saved from the command line");
            println!("{login}: saved");
        }
        AccountCmd::List => {
            for u in auth::users(&db)? {
                let state = if u.disabled {
                    "無効"
                } else if u.locked {
                    "ロック中"
                } else {
                    "有効"
                };
                println!(
                    "{}\t{}\t{}\t{}\t{state}",
                    u.login,
                    u.name,
                    u.role.as_str(),
                    u.agent_id
                );
            }
        }
        AccountCmd::Passwd { login } => {
            let password = read_password()?;
            found(
                auth::set_password(&db, &login, &password).map_err(invalid)?,
                &login,
            )?;
            println!("{login}: password changed; its sessions ended");
        }
        AccountCmd::Disable { login } => {
            found(auth::set_disabled(&db, &login, true)?, &login)?;
            println!("{login}: disabled; its sessions ended");
        }
        AccountCmd::Enable { login } => {
            found(auth::set_disabled(&db, &login, false)?, &login)?;
            println!("{login}: enabled");
        }
    }
    Ok(())
}
