use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid input: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("tls: {0}")]
    Tls(String),
}

pub type Result<T> = std::result::Result<T, Error>;
