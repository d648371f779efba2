//! The web server's security layer, configured by `--web.config.file` in
//! exporter-toolkit's format: TLS, basic authentication, response headers
//! and rate limiting, plus connection limits against slow clients.

pub mod auth;
pub mod config;
pub mod guard;
pub mod rate_limit;
pub mod serve;
pub mod tls;

pub use config::WebConfig;
