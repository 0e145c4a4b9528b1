use thiserror::Error;

#[derive(Debug, Error)]
pub enum FaqError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid input: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("not found")]
    NotFound,
    #[error("tls: {0}")]
    Tls(String),
    #[error("xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
}

pub type Result<T> = std::result::Result<T, FaqError>;
