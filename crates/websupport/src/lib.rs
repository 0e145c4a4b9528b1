//! websupport: the pieces the two web sidecars (the FAQ site and the contact history)
//! share, so that a fix to a login, a session or the access log is made once — the
//! HTTPS listener with its connection caps ([`tls`], [`conn_limits`], [`proxy`]), rate
//! limits ([`ratelimit`]), argon2 passwords ([`password`]), session rows ([`sessions`]),
//! the batched access log ([`accesslog`]), the request middleware's common steps and the
//! signed-in-staff extractor ([`web`]), and SQLite opening ([`sqlite`]).
//!
//! Each sidecar keeps what is its own: its roles, its error pages, its tables' other
//! columns.

pub mod accesslog;
pub mod conn_limits;
pub mod error;
pub mod password;
pub mod proxy;
pub mod ratelimit;
pub mod sessions;
pub mod sqlite;
pub mod tls;
pub mod web;

pub use error::{Error, Result};
