//! Runs the FAQ service alone.
//!
//! madoguchi-faq [--data DIR] [--listen ADDR] [--cert PEM --key PEM] [--seed CSV | --no-seed]
//!               [--admin LOGIN] (password from FAQ_ADMIN_PASSWORD, else generated)

use anyhow::{bail, Context};
use faq::{tls::TlsFiles, FaqConfig};
use std::path::PathBuf;

fn parse_args() -> anyhow::Result<FaqConfig> {
    let mut cfg = FaqConfig::default();
    let (mut cert, mut key) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--data" => cfg.data_dir = PathBuf::from(val()?),
            "--listen" => {
                cfg.listen = val()?
                    .parse()
                    .context("--listen wants an address like 127.0.0.1:8443")?
            }
            "--cert" => cert = Some(PathBuf::from(val()?)),
            "--key" => key = Some(PathBuf::from(val()?)),
            "--seed" => cfg.seed_csv = Some(PathBuf::from(val()?)),
            "--no-seed" => cfg.seed_sample = false,
            "--admin" => cfg.admin_user = val()?,
            "--log-days" => {
                cfg.access_log_days = val()?.parse().context("--log-days wants a number")?
            }
            "-h" | "--help" => {
                println!("usage: madoguchi-faq [--data DIR] [--listen ADDR] [--cert PEM --key PEM] [--seed CSV | --no-seed] [--admin LOGIN] [--log-days N]\nThe first administrator's password comes from FAQ_ADMIN_PASSWORD, or is generated into DIR/admin-password.txt.");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    cfg.tls = match (cert, key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        _ => bail!("--cert and --key go together"),
    };
    cfg.admin_password = std::env::var("FAQ_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    Ok(cfg)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cfg = parse_args()?;
    faq::serve(cfg).await
}
