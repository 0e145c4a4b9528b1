//! Which configuration a command works on, and where its data folder is.
//!
//! `serve` writes into `[switch] data_dir`; every other command must read the same
//! folder, from whatever folder it is run in. So they take the configuration the same
//! way and refuse, naming the path, when the folder is not there, rather than creating
//! an empty database next to the user (which reads as "0 recordings").

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

/// Where the service's configuration is installed (deploy/madoguchi.service).
pub const SYSTEM_CONFIG: &str = "/etc/madoguchi/madoguchi.toml";

/// A configuration and where it came from (said in every refusal).
pub struct Site {
    pub cfg: dialplan::Config,
    pub source: String,
}

impl Site {
    /// `--config FILE`, else `$MADOGUCHI_CONFIG`, else the installed
    /// `/etc/madoguchi/madoguchi.toml` when it exists, else the embedded default.
    pub fn load(config: Option<&Path>) -> anyhow::Result<Site> {
        let env = std::env::var_os("MADOGUCHI_CONFIG").map(PathBuf::from);
        let system = Path::new(SYSTEM_CONFIG);
        let (path, how) = match (config, env) {
            (Some(p), _) => (Some(p.to_path_buf()), "--config"),
            (None, Some(p)) => (Some(p), "MADOGUCHI_CONFIG"),
            (None, None) if system.exists() => (Some(system.to_path_buf()), "installed"),
            (None, None) => (None, ""),
        };
        match path {
            Some(p) => {
                let cfg = dialplan::load(&p).map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(Site {
                    cfg,
                    source: format!("{} ({how})", p.display()),
                })
            }
            None => Ok(Site {
                cfg: dialplan::default_config(),
                source: "the embedded default configuration (give --config FILE or set \
                         MADOGUCHI_CONFIG for yours)"
                    .into(),
            }),
        }
    }

    /// The data folder, made absolute, or a refusal that names it. Relative paths in
    /// the configuration are taken from the current folder, as `serve` does.
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        existing(&self.cfg.switch.data_dir, "data folder", &self.source)
    }

    /// The recordings folder, made absolute, or a refusal that names it.
    pub fn recordings_dir(&self) -> anyhow::Result<PathBuf> {
        existing(
            &self.cfg.switch.recordings_dir,
            "recordings folder",
            &self.source,
        )
    }

    /// The switch's API, from `[http] listen` (an unspecified address means loopback).
    pub fn api_base(&self) -> String {
        let mut a = self.cfg.http.listen;
        if a.ip().is_unspecified() {
            a.set_ip(match a {
                std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let scheme = if self.cfg.http.tls { "https" } else { "http" };
        format!("{scheme}://{a}")
    }

    /// The certificate the switch serves HTTPS with (`[sip] tls_cert`, else the one it
    /// generated into `data/tls/`): what the CLI trusts when it derives `https://`.
    pub fn switch_cert(&self) -> anyhow::Result<PathBuf> {
        match &self.cfg.sip.tls_cert {
            Some(c) => Ok(c.clone()),
            None => Ok(self.data_dir()?.join("tls/cert.pem")),
        }
    }
}

fn existing(p: &Path, what: &str, source: &str) -> anyhow::Result<PathBuf> {
    let abs = std::path::absolute(p).with_context(|| format!("the {what} {}", p.display()))?;
    if !abs.is_dir() {
        bail!(
            "there is no {what} at {} (from {source}); run the command where `madoguchi \
             serve` runs, or give that configuration with --config",
            abs.display()
        );
    }
    Ok(abs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_data_folder_is_refused_with_its_absolute_path() {
        let dir = std::env::temp_dir().join(format!("madoguchi-site-{}", std::process::id()));
        let mut cfg = dialplan::default_config();
        cfg.switch.data_dir = dir.join("nowhere");
        let site = Site {
            cfg,
            source: "test.toml".into(),
        };
        let e = site.data_dir().unwrap_err().to_string();
        assert!(
            e.contains(&dir.join("nowhere").display().to_string()),
            "{e}"
        );
        assert!(e.contains("test.toml"), "{e}");
        assert!(!dir.join("nowhere").exists());
    }

    #[test]
    fn an_unspecified_listen_address_is_reached_on_loopback() {
        let mut cfg = dialplan::default_config();
        cfg.http.listen = "0.0.0.0:8181".parse().unwrap();
        let site = Site {
            cfg,
            source: String::new(),
        };
        assert_eq!(site.api_base(), "http://127.0.0.1:8181");
    }
}
