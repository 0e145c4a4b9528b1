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

impl From<websupport::Error> for FaqError {
    fn from(e: websupport::Error) -> Self {
        match e {
            websupport::Error::Db(e) => FaqError::Db(e),
            websupport::Error::Io(e) => FaqError::Io(e),
            websupport::Error::Invalid(v) => FaqError::Invalid(v),
            websupport::Error::Tls(t) => FaqError::Tls(t),
        }
    }
}

pub type Result<T> = std::result::Result<T, FaqError>;
