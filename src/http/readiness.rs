//! The readiness probe, `/-/ready`: 200 while the host's roots pass
//! [`crate::process::readiness::check`], else 503 with the reason in the
//! body. A change of verdict is logged once, not every probe.
//!
//! The check runs on a blocking thread, one at a time (a probe arriving
//! while one runs waits for that one), and a probe waits for it at most
//! [`PROBE_WAIT`]: a root on a hung filesystem makes the probe answer 503,
//! never hang, and costs one thread, not one per probe.
//!
//! May import: [`crate::process`], [`crate::host`] and the lowest layer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::host::Host;
use crate::process::readiness::{self, RootKind, Roots};
use crate::unpoisoned::lock;

/// How long a probe waits for the check: far more than reading a few
/// procfs files takes, well under a kubelet probe's default timeout (1 s).
pub const PROBE_WAIT: Duration = Duration::from_millis(800);

type Verdict = Result<Roots, String>;

/// The probe's state: the check in flight, and the last verdict logged.
pub struct Readiness {
    host: Arc<Host>,
    in_flight: Arc<Mutex<Option<watch::Receiver<Option<Verdict>>>>>,
    logged: Arc<Mutex<Option<Verdict>>>,
}

impl Readiness {
    /// Readiness of the agent observing `host`.
    pub fn new(host: Arc<Host>) -> Readiness {
        Readiness {
            host,
            in_flight: Arc::default(),
            logged: Arc::new(Mutex::new(None)),
        }
    }

    /// Checks the roots (joining a check in flight), within [`PROBE_WAIT`].
    pub async fn probe(&self) -> Result<(), String> {
        let mut receiver = self.start_or_join();
        let waited = tokio::time::timeout(PROBE_WAIT, receiver.wait_for(Option::is_some))
            .await
            .map(|seen| seen.map(|verdict| verdict.clone().expect("waited for Some")));
        match waited {
            Ok(Ok(verdict)) => verdict.map(|_| ()),
            Ok(Err(_)) => Err("the readiness check ended without a verdict".to_string()),
            Err(_) => {
                let reason = format!(
                    "reading --path.procfs {} or --path.sysfs {} did not finish within {:.1}s",
                    self.host.procfs().display(),
                    self.host.sysfs().display(),
                    PROBE_WAIT.as_secs_f64()
                );
                log_change(&self.logged, &Err(reason.clone()));
                Err(reason)
            }
        }
    }

    fn start_or_join(&self) -> watch::Receiver<Option<Verdict>> {
        let mut in_flight = lock(&self.in_flight);
        if let Some(receiver) = in_flight.as_ref() {
            return receiver.clone();
        }
        let (sender, receiver) = watch::channel(None);
        *in_flight = Some(receiver.clone());
        drop(in_flight);
        let host = Arc::clone(&self.host);
        let logged = Arc::clone(&self.logged);
        let in_flight = Arc::clone(&self.in_flight);
        tokio::task::spawn_blocking(move || {
            let verdict = readiness::check(&host);
            log_change(&logged, &verdict);
            // Cleared before publishing: a probe arriving after this point
            // starts a fresh check.
            *lock(&in_flight) = None;
            let _ = sender.send(Some(verdict));
        });
        receiver
    }
}

/// Logs `verdict` if it differs from the last one logged: a warning with
/// the reason when not ready, a line at info when ready.
fn log_change(logged: &Mutex<Option<Verdict>>, verdict: &Verdict) {
    let mut last = lock(logged);
    if last.as_ref() == Some(verdict) {
        return;
    }
    match verdict {
        Ok(roots) => tracing::info!(
            procfs = describe(roots.procfs),
            sysfs = describe(roots.sysfs),
            "ready: the host's roots can be read"
        ),
        Err(reason) => tracing::warn!(reason = %reason, "not ready"),
    }
    *last = Some(verdict.clone());
}

fn describe(kind: RootKind) -> &'static str {
    match kind {
        RootKind::Kernel => "the kernel's",
        RootKind::Tree => "a tree of its files",
    }
}
