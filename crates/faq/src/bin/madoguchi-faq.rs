//! Runs the FAQ service alone. The first administrator's password comes from
//! FAQ_ADMIN_PASSWORD, or is generated into DIR/admin-password.txt.

use clap::Parser;
use faq::{tls::TlsFiles, web::html::SiteInfo, FaqConfig};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The FAQ knowledge base (public site, editing, JSON API) over HTTPS.
#[derive(Parser, Debug)]
#[command(name = "madoguchi-faq", version)]
struct Args {
    /// Folder for faq.sqlite3, attachments and the generated certificate.
    #[arg(long, default_value = "data/faq")]
    data: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Certificate chain (PEM); with --key. Without both, a self-signed one is generated.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// Private key (PEM); with --cert.
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// CSV loaded into an empty database instead of the built-in sample corpus.
    #[arg(long, conflicts_with = "no_seed")]
    seed: Option<PathBuf>,
    /// Start with an empty database.
    #[arg(long)]
    no_seed: bool,
    /// Login ID of the first administrator.
    #[arg(long, default_value = "admin")]
    admin: String,
    /// Days the access log is kept (never less than 92).
    #[arg(long, default_value_t = 400)]
    log_days: u32,
    /// The call center's hours shown in the public site's footer.
    #[arg(long)]
    hours: Option<String>,
    /// The phone number citizens are given when the FAQ does not help.
    #[arg(long)]
    phone: Option<String>,
    /// A reverse proxy (address or network) whose X-Forwarded-For is believed; repeatable.
    #[arg(long = "trusted-proxy")]
    trusted_proxies: Vec<String>,
    /// IPADIC's CSV sources (Debian's mecab-ipadic) for kana → kanji search.
    #[arg(long, default_value = faq::search::dictionary::DEBIAN_IPADIC)]
    reading_dictionary: PathBuf,
}

impl Args {
    fn into_config(self) -> FaqConfig {
        let defaults = SiteInfo::default();
        FaqConfig {
            data_dir: self.data,
            listen: self.listen,
            tls: match (self.cert, self.key) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                _ => None,
            },
            seed_sample: !self.no_seed,
            seed_csv: self.seed,
            admin_user: self.admin,
            admin_password: std::env::var("FAQ_ADMIN_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty()),
            access_log_days: self.log_days,
            site: SiteInfo {
                hours: self.hours.unwrap_or(defaults.hours),
                phone: self.phone.unwrap_or(defaults.phone),
            },
            trusted_proxies: self.trusted_proxies,
            reading_dictionary: self.reading_dictionary,
            ..FaqConfig::default()
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    faq::serve(Args::parse().into_config()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_reach_the_configuration() {
        let cfg = Args::try_parse_from([
            "madoguchi-faq",
            "--data",
            "/tmp/x",
            "--listen",
            "127.0.0.1:9443",
            "--no-seed",
            "--phone",
            "0246-00-0000",
            "--trusted-proxy",
            "10.0.0.0/8",
            "--trusted-proxy",
            "::1",
        ])
        .unwrap()
        .into_config();
        assert_eq!(cfg.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(cfg.listen.port(), 9443);
        assert!(!cfg.seed_sample && cfg.tls.is_none());
        assert_eq!(cfg.site.phone, "0246-00-0000");
        assert_eq!(cfg.site.hours, SiteInfo::default().hours);
        assert_eq!(cfg.trusted_proxies, ["10.0.0.0/8", "::1"]);
        // Bad input gets a clear answer, not a panic.
        for bad in [
            &["madoguchi-faq", "--listen", "nowhere"][..],
            &["madoguchi-faq", "--cert", "c.pem"],
            &["madoguchi-faq", "--seed", "a.csv", "--no-seed"],
            &["madoguchi-faq", "--bogus"],
        ] {
            assert!(Args::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }
}
