//! The one error type of the crate. Messages are sentences an operator can act on.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum RecorderError {
    /// Less free space than the configured minimum: the call goes on unrecorded.
    #[error("recording refused: only {free} bytes free in {dir}, the minimum is {min}")]
    DiskFull { dir: String, free: u64, min: u64 },
    #[error("recording {0} is not in the catalogue")]
    UnknownRecording(String),
    #[error("recording {0} was already deleted")]
    AlreadyDeleted(i64),
    #[error("recording {0} is still being recorded and cannot be deleted")]
    StillRecording(i64),
    #[error("deletion request {0} does not exist")]
    UnknownRequest(i64),
    #[error("deletion request {0} was already approved")]
    AlreadyApproved(i64),
    #[error("no recording is due for deletion")]
    NothingDue,
    #[error("a call with id {0} is already being recorded")]
    DuplicateCall(String),
    #[error("call {0} is not being recorded (the recorder refused it; its log says why)")]
    NotRecorded(String),
    #[error("{0}")]
    Invalid(String),
    #[error("catalogue: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, RecorderError>;
