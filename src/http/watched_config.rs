//! The web configuration in force: read from `--web.config.file` at
//! start-up, and again when the file (or the client CA file it names)
//! changes on disk. exporter-toolkit re-reads the file for every request
//! and handshake, so a user removed from a Secret is refused at once; here
//! the check is a `stat` of each file, and the file is read only when one
//! changed. An edit that does not load is logged once and the last good
//! configuration stays in force, as a half-written update must not open or
//! close the endpoint. A reload cannot turn TLS on or off: listeners keep
//! the protocol they started with.
//!
//! May import: the rest of the HTTP layer below it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio_rustls::TlsAcceptor;

use super::file_stamp::FileStamp;
use super::guard::Guard;
use super::tls::{self, Source, TlsSettings};
use super::web_config::WebConfig;
use crate::unpoisoned::lock;

/// The configuration in force and the files it came from.
pub struct WatchedConfig {
    /// `--web.config.file`; `None` when not given (nothing to watch).
    file: Option<PathBuf>,
    /// TLS served when the configuration has none (the certificate
    /// `--web.auth.kubernetes` generates).
    fallback_tls: Option<TlsSettings>,
    state: Mutex<State>,
}

struct State {
    /// The files' stamps when last read, whether that load succeeded or
    /// not (a broken edit is reported once).
    stamps: Vec<Option<FileStamp>>,
    applied: Arc<Applied>,
}

/// One configuration put in force.
pub struct Applied {
    /// The configuration as read.
    pub config: WebConfig,
    /// What every request must pass.
    pub guard: Arc<Guard>,
    /// The TLS set-up new connections get; `None` for plain HTTP.
    pub tls: Option<TlsAcceptor>,
}

impl Applied {
    fn new(
        config: WebConfig,
        replacing: Option<&Applied>,
        fallback_tls: Option<&TlsSettings>,
    ) -> Result<Applied, String> {
        let tls = match config.tls.as_ref().or(fallback_tls) {
            Some(settings) => Some(TlsAcceptor::from(tls::server_config(
                settings,
                config.http2,
            )?)),
            None => None,
        };
        let guard = Guard::new(&config, replacing.map(|old| (&old.config, &*old.guard)));
        Ok(Applied {
            config,
            guard: Arc::new(guard),
            tls,
        })
    }
}

impl WatchedConfig {
    /// Loads `file` (or the empty configuration without one); an error
    /// names what is wrong, for start-up to stop on.
    pub fn load(file: Option<&Path>) -> Result<WatchedConfig, String> {
        WatchedConfig::load_with_fallback_tls(file, None)
    }

    /// As [`WatchedConfig::load`], serving `fallback_tls` whenever the
    /// configuration itself has no TLS.
    pub fn load_with_fallback_tls(
        file: Option<&Path>,
        fallback_tls: Option<TlsSettings>,
    ) -> Result<WatchedConfig, String> {
        let before = file.and_then(FileStamp::of);
        let config = match file {
            Some(path) => WebConfig::load(path)?,
            None => WebConfig::default(),
        };
        let applied =
            Applied::new(config, None, fallback_tls.as_ref()).map_err(|e| match file {
                Some(path) => format!("invalid web config {}: {e}", path.display()),
                None => e,
            })?;
        let stamps = file.map_or_else(Vec::new, |path| {
            stamps_after_load(path, &applied.config, before)
        });
        Ok(WatchedConfig {
            file: file.map(Path::to_path_buf),
            fallback_tls,
            state: Mutex::new(State {
                stamps,
                applied: Arc::new(applied),
            }),
        })
    }

    /// The configuration in force, re-read first if its files changed.
    pub fn current(&self) -> Arc<Applied> {
        let mut state = lock(&self.state);
        if let Some(file) = &self.file {
            let now = stamps(file, &state.applied.config);
            if now != state.stamps {
                match reload(file, &state.applied, self.fallback_tls.as_ref()) {
                    Ok(applied) => {
                        tracing::info!(file = %file.display(), "reloaded the web configuration");
                        state.stamps = stamps_after_load(file, &applied.config, now[0]);
                        state.applied = Arc::new(applied);
                    }
                    Err(e) => {
                        state.stamps = now;
                        tracing::error!(
                            err = %e,
                            "cannot reload the web configuration; keeping the previous one"
                        );
                    }
                }
            }
        }
        Arc::clone(&state.applied)
    }
}

fn reload(
    file: &Path,
    current: &Applied,
    fallback_tls: Option<&TlsSettings>,
) -> Result<Applied, String> {
    let config = WebConfig::load(file)?;
    if config.tls.is_some() != current.config.tls.is_some() {
        return Err(format!(
            "{}: turning TLS on or off takes a restart",
            file.display()
        ));
    }
    Applied::new(config, Some(current), fallback_tls)
        .map_err(|e| format!("invalid web config {}: {e}", file.display()))
}

/// The stamps to remember once `config` is loaded from `file`: the file's
/// as it was before it was read, so that an edit landing while it was read
/// is picked up at the next check rather than taken as already read.
fn stamps_after_load(
    file: &Path,
    config: &WebConfig,
    file_before: Option<FileStamp>,
) -> Vec<Option<FileStamp>> {
    let mut stamps = stamps(file, config);
    stamps[0] = file_before;
    stamps
}

/// The stamps of the configuration file and of the client CA file it
/// names (read by the configuration's TLS set-up, not per handshake).
fn stamps(file: &Path, config: &WebConfig) -> Vec<Option<FileStamp>> {
    let mut stamps = vec![FileStamp::of(file)];
    if let Some(Source::File(ca)) = config.tls.as_ref().and_then(|t| t.client_ca.as_ref()) {
        stamps.push(FileStamp::of(ca));
    }
    stamps
}
