//! The `madoguchi` command line: `serve` runs the switch, `check` validates a
//! configuration file and says what to fix.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "madoguchi", version, about = "madoguchi (窓口) — the call center's switch")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the switch (SIP, media, HTTP) on the given or the embedded configuration.
    Serve {
        /// A configuration file (TOML, see dialplans/default.toml); default: the embedded one.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Check a configuration file and report every error with file, line and what to fix.
    Check {
        file: PathBuf,
    },
    /// Print the embedded default configuration (a starting point for your own).
    DefaultConfig,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Check { file } => match dialplan::load(&file) {
            Ok(_) => {
                println!("{}: OK", file.display());
                Ok(())
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        },
        Cmd::DefaultConfig => {
            print!("{}", dialplan::DEFAULT_TOML);
            Ok(())
        }
        Cmd::Serve { config } => {
            init_logs();
            let cfg = match &config {
                Some(path) => match dialplan::load(path) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("{e}");
                        std::process::exit(1);
                    }
                },
                None => dialplan::default_config(),
            };
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(serve(cfg))
        }
    }
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
}

async fn serve(cfg: dialplan::Config) -> anyhow::Result<()> {
    let agents: Vec<(String, String)> = cfg.agents.iter().map(|a| (a.id.clone(), a.password.clone())).collect();
    let domain = cfg.sip.domain.clone();
    let sw = switch::start(cfg).await.context("starting the switch")?;
    println!("madoguchi is up.");
    for a in &sw.sip_addrs {
        println!("  operators' softphones register to  sip:{a} (UDP and TCP), realm \"{domain}\"");
    }
    for (id, pw) in agents.iter().take(4) {
        println!("    account {id} / password {pw}");
    }
    for (name, a) in &sw.trunk_addrs {
        println!("  trunk {name:<8} listens on        {a}");
    }
    println!("  metrics and API                    http://{}/metrics", sw.http_addr);
    println!("  try: a softphone registered as 1001, then call sip:0246221111@{}", sw.trunk_addrs.first().map(|t| t.1.to_string()).unwrap_or_default());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("stopping");
    sw.shutdown().await;
    Ok(())
}
