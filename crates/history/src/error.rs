use thiserror::Error;

#[derive(Debug, Error)]
pub enum HistoryError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[cfg(feature = "postgres")]
    #[error("postgresql: {0}")]
    Pg(#[from] postgres::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid input: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("not found")]
    NotFound,
    /// The record changed since the editor opened it.
    #[error("the record was changed by someone else")]
    Conflict,
    #[error("xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("tls: {0}")]
    Tls(String),
    #[error("{0}")]
    Other(String),
}

impl From<websupport::Error> for HistoryError {
    fn from(e: websupport::Error) -> Self {
        match e {
            websupport::Error::Db(e) => HistoryError::Db(e),
            websupport::Error::Io(e) => HistoryError::Io(e),
            websupport::Error::Invalid(v) => HistoryError::Invalid(v),
            websupport::Error::Tls(t) => HistoryError::Tls(t),
        }
    }
}

impl From<faq::error::FaqError> for HistoryError {
    fn from(e: faq::error::FaqError) -> Self {
        HistoryError::Other(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, HistoryError>;
