//! The HTTP layer: listeners, the routes and their handlers, the guard in
//! front of them (TLS, basic authentication, response headers, rate limit)
//! configured by `--web.config.file` in exporter-toolkit's format, access
//! control by the Kubernetes API (`--web.auth.kubernetes`), and what a
//! response is made of (the negotiated format, gzip).
//!
//! May import: [`crate::scrape`] and everything below it; never the command
//! line.

pub mod basic_auth;
pub mod client_cert_version;
pub mod client_sans;
pub mod connections;
pub mod der;
mod file_stamp;
pub mod guard;
pub mod gzip;
pub mod kubernetes_auth;
pub mod listen;
pub mod negotiate;
pub mod rate_limit;
pub mod readiness;
pub mod routes;
pub mod serve;
pub mod tls;
pub mod watched_config;
pub mod web_config;
