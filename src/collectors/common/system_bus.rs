//! The D-Bus connection shared by the collectors that read services on the
//! host's system bus (systemd, logind): where the bus is reached, the one
//! connection kept across scrapes (and replaced when it breaks), and the
//! bounds on every call.
//!
//! A read ends by the scrape's deadline at the latest (and by
//! [`READ_TIMEOUT`] outside a scrape): a bus or service that stops
//! answering fails the collector within the scrape, the wedged connection
//! is dropped, and the next scrape tries afresh. The read runs on the
//! collector's own run, of which there is one at a time, so a silent bus
//! costs no thread beyond that run, and only until the deadline.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use tokio::net::UnixStream;
use tokio::runtime::Runtime;
use zbus::connection::Builder;
use zbus::zvariant::{OwnedValue, Value};
use zbus::Connection;

use crate::collectors::RunDeadline;
use crate::host::Host;
use crate::unpoisoned::lock;

/// How long one D-Bus call (or connecting) may take before it fails: a
/// healthy service answers in microseconds, a wedged one never.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one whole read may take, however many objects it asks about;
/// past it the connection is dropped and the next scrape reconnects.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

const PROPERTIES: &str = "org.freedesktop.DBus.Properties";

/// Where a service on the system bus is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// The system bus at the address in `DBUS_SYSTEM_BUS_ADDRESS`.
    Address(String),
    /// The system bus socket, as mounted under the host root.
    BusSocket(PathBuf),
    /// systemd's own socket, without a bus daemon (`--collector.systemd.private`).
    Private(PathBuf),
}

impl Endpoint {
    /// The system bus at `env_address` (`DBUS_SYSTEM_BUS_ADDRESS`) when set,
    /// else at the host's `/run/dbus/system_bus_socket` under its root.
    pub fn system_bus(host: &Host, env_address: Option<String>) -> Endpoint {
        match env_address.filter(|a| !a.trim().is_empty()) {
            Some(address) => Endpoint::Address(address),
            None => Endpoint::BusSocket(host.root_path("/run/dbus/system_bus_socket")),
        }
    }

    /// What the operator must provide for this endpoint to work.
    fn remedy(&self) -> &'static str {
        match self {
            Endpoint::Address(_) => {
                "set DBUS_SYSTEM_BUS_ADDRESS to the host's system bus socket, mounted into the agent"
            }
            Endpoint::BusSocket(_) => {
                "mount the host's /run/dbus/system_bus_socket there (the host root at \
                 --path.rootfs with mountPropagation HostToContainer, or the host's /run/dbus \
                 as a hostPath volume), or set DBUS_SYSTEM_BUS_ADDRESS to where it is mounted"
            }
            Endpoint::Private(_) => {
                "--collector.systemd.private needs the host's /run/systemd/private mounted \
                 there and root privileges"
            }
        }
    }

    async fn open(&self) -> zbus::Result<Connection> {
        let builder = match self {
            Endpoint::Address(address) => Builder::address(address.as_str())?,
            Endpoint::BusSocket(path) => Builder::unix_stream(UnixStream::connect(path).await?),
            Endpoint::Private(path) => Builder::unix_stream(UnixStream::connect(path).await?).p2p(),
        };
        builder.method_timeout(CALL_TIMEOUT).build().await
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Address(address) => {
                write!(f, "the system bus at DBUS_SYSTEM_BUS_ADDRESS={address}")
            }
            Endpoint::BusSocket(path) => write!(f, "the system bus at {}", path.display()),
            Endpoint::Private(path) => {
                write!(f, "systemd's private socket at {}", path.display())
            }
        }
    }
}

/// A connection to a D-Bus service that lives across scrapes: opened on
/// first use, and dropped (to be reopened) when a call shows it broken or
/// wedged.
pub struct BusConnection {
    connection: Mutex<Option<Connection>>,
    endpoint: Endpoint,
    /// The service read, for messages ("systemd", "logind").
    service: &'static str,
    /// Drives the connection's I/O while a scrape waits on it; a runtime of
    /// its own, so the connection does not depend on the caller's. Only
    /// taken out when dropped.
    runtime: Option<Runtime>,
}

impl BusConnection {
    /// A connection to `service` at `endpoint`; nothing is connected yet.
    pub fn new(endpoint: Endpoint, service: &'static str) -> Result<BusConnection, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| format!("cannot start the D-Bus runtime: {e}"))?;
        Ok(BusConnection {
            connection: Mutex::new(None),
            endpoint,
            service,
            runtime: Some(runtime),
        })
    }

    fn runtime(&self) -> &Runtime {
        self.runtime.as_ref().expect("the runtime lives until drop")
    }

    /// Runs `read` on the connection, connecting first if needed, within
    /// [`READ_TIMEOUT`] and before `deadline`, connecting included. A
    /// connection kept from an earlier scrape that turns out broken (the
    /// service or the bus restarted) is replaced and the read retried once.
    pub fn read<T, F, Fut>(&self, deadline: &RunDeadline, read: F) -> Result<T, String>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let started = std::time::Instant::now();
        if deadline.remaining().is_zero() {
            // Nobody waits for this read any more: leave the connection be.
            return Err(format!(
                "reading {} not started: the scrape's deadline had passed",
                self.service
            ));
        }
        let mut slot = lock(&self.connection);
        let mut may_retry = true;
        loop {
            let reused = slot.is_some();
            let connection = match slot.as_ref() {
                Some(connection) => connection.clone(),
                None => slot.insert(self.connect(deadline)?).clone(),
            };
            let budget = READ_TIMEOUT
                .saturating_sub(started.elapsed())
                .min(deadline.remaining());
            let result = self
                .runtime()
                .block_on(async { tokio::time::timeout(budget, read(connection.clone())).await });
            match result {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(err)) if !err.breaks_connection() => return Err(err.to_string()),
                Ok(Err(err)) => {
                    self.discard(&mut slot, connection);
                    if reused && may_retry {
                        tracing::debug!(
                            service = self.service,
                            err = %err,
                            "D-Bus connection broke; reconnecting"
                        );
                        may_retry = false;
                        continue;
                    }
                    return Err(err.to_string());
                }
                Err(_) => {
                    self.discard(&mut slot, connection);
                    return Err(format!(
                        "reading {} timed out after {:.1}s, at the scrape's deadline; \
                         the connection is dropped and reopened on the next scrape",
                        self.service,
                        started.elapsed().as_secs_f64()
                    ));
                }
            }
        }
    }

    fn connect(&self, deadline: &RunDeadline) -> Result<Connection, String> {
        let budget = CALL_TIMEOUT.min(deadline.remaining());
        let opened = self
            .runtime()
            .block_on(async { tokio::time::timeout(budget, self.endpoint.open()).await });
        let problem = match opened {
            Ok(Ok(connection)) => return Ok(connection),
            Ok(Err(err)) => err.to_string(),
            Err(_) => format!("timed out after {:.1}s", budget.as_secs_f64()),
        };
        Err(format!(
            "cannot connect to {}: {problem}: {}",
            self.endpoint,
            self.endpoint.remedy()
        ))
    }

    /// Drops the kept connection; its I/O tasks end within the runtime.
    fn discard(&self, slot: &mut Option<Connection>, connection: Connection) {
        let _context = self.runtime().enter();
        slot.take();
        drop(connection);
    }
}

impl Drop for BusConnection {
    /// Closes the connection within its runtime, then stops the runtime
    /// without waiting: the agent drops its collectors from async code,
    /// where a plain runtime drop would panic.
    fn drop(&mut self) {
        let connection = self
            .connection
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(runtime) = self.runtime.take() {
            let context = runtime.enter();
            drop(connection);
            drop(context);
            runtime.shutdown_background();
        }
    }
}

/// A failed call, naming it. Boxed: zbus's error is large, and travels
/// through every property read.
#[derive(Debug)]
pub struct CallError(Box<FailedCall>);

#[derive(Debug)]
struct FailedCall {
    call: String,
    error: zbus::Error,
}

impl CallError {
    /// The failure of `call` (a method or property, for messages).
    pub fn new(call: String, error: zbus::Error) -> CallError {
        CallError(Box::new(FailedCall { call, error }))
    }

    /// Whether the connection is unusable after this error: anything but an
    /// answer from the peer (an error reply, or a value of another type).
    pub fn breaks_connection(&self) -> bool {
        !matches!(
            self.0.error,
            zbus::Error::MethodError(..) | zbus::Error::FDO(_) | zbus::Error::Variant(_)
        )
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.call, self.0.error)
    }
}

/// Calls `method` of `interface` on the object at `path` of `destination`
/// without arguments, and decodes its reply as `T`.
pub async fn call<T>(
    connection: &Connection,
    destination: &str,
    path: &str,
    interface: &str,
    method: &str,
) -> Result<T, CallError>
where
    T: for<'d> zbus::zvariant::DynamicDeserialize<'d>,
{
    let failed = |error| CallError::new(format!("{interface}.{method}"), error);
    let reply = connection
        .call_method(Some(destination), path, Some(interface), method, &())
        .await
        .map_err(failed)?;
    reply.body().deserialize().map_err(failed)
}

/// `org.freedesktop.DBus.Properties.Get` of one property of the object at
/// `path` of `destination`.
pub async fn get(
    connection: &Connection,
    destination: &str,
    path: &str,
    interface: &str,
    name: &str,
) -> Result<OwnedValue, CallError> {
    let failed = |error| CallError::new(format!("reading {interface}.{name} of {path}"), error);
    let reply = connection
        .call_method(
            Some(destination),
            path,
            Some(PROPERTIES),
            "Get",
            &(interface, name),
        )
        .await
        .map_err(failed)?;
    reply.body().deserialize::<OwnedValue>().map_err(failed)
}

/// A D-Bus property value as a string, for `s` (and `o`) properties.
pub fn text(value: &Value<'_>) -> Option<String> {
    match value {
        Value::Str(s) => Some(s.as_str().to_string()),
        Value::ObjectPath(p) => Some(p.as_str().to_string()),
        Value::Value(inner) => text(inner),
        _ => None,
    }
}

/// A D-Bus property value as a boolean, for `b` properties.
pub fn boolean(value: &Value<'_>) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Value(inner) => boolean(inner),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn endpoint_follows_environment_then_host_root() {
        let host = Host::new("/host/proc", "/host/sys", "/host/root", "/host/udev");
        assert_eq!(
            Endpoint::system_bus(&host, None),
            Endpoint::BusSocket(Path::new("/host/root/run/dbus/system_bus_socket").into())
        );
        assert_eq!(
            Endpoint::system_bus(&host, Some("unix:path=/x/bus".into())),
            Endpoint::Address("unix:path=/x/bus".into())
        );
        assert_eq!(
            Endpoint::system_bus(&host, Some(" ".into())),
            Endpoint::BusSocket(Path::new("/host/root/run/dbus/system_bus_socket").into())
        );
    }

    fn read_nothing(bus: &BusConnection) -> Result<(), String> {
        bus.read(&RunDeadline::after(READ_TIMEOUT), |_| async { Ok(()) })
    }

    #[test]
    fn a_missing_socket_is_one_error_naming_the_path_and_the_mount() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("run/dbus/system_bus_socket");
        let bus = BusConnection::new(Endpoint::BusSocket(socket.clone()), "test").unwrap();
        let first = read_nothing(&bus).unwrap_err();
        assert!(first.contains(&socket.display().to_string()), "{first}");
        assert!(first.contains("mount the host's /run/dbus/system_bus_socket"));
        assert!(first.contains("DBUS_SYSTEM_BUS_ADDRESS"));
        // The same words every scrape, so the failure is logged once.
        assert_eq!(read_nothing(&bus).unwrap_err(), first);
    }

    #[tokio::test]
    async fn may_be_dropped_inside_another_runtime() {
        // As the agent does at shutdown; a plain runtime drop would panic.
        let bus = BusConnection::new(Endpoint::BusSocket("/nonexistent".into()), "test").unwrap();
        drop(bus);
    }

    #[test]
    fn a_bad_address_names_the_variable() {
        let bus = BusConnection::new(Endpoint::Address("nonsense".into()), "test").unwrap();
        let err = read_nothing(&bus).unwrap_err();
        assert!(err.contains("DBUS_SYSTEM_BUS_ADDRESS=nonsense"), "{err}");
    }

    #[test]
    fn a_peer_that_never_answers_times_out() {
        // A socket that accepts connections but never speaks: the handshake
        // must give up rather than wait forever.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let bus = BusConnection::new(Endpoint::Private(path), "test").unwrap();
        let err = read_nothing(&bus).unwrap_err();
        assert!(err.contains("timed out"), "{err}");
        assert!(err.contains("/run/systemd/private"), "{err}");
        drop(listener);
    }

    #[test]
    fn a_read_past_its_deadline_is_not_started() {
        let bus = BusConnection::new(Endpoint::BusSocket("/nonexistent".into()), "test").unwrap();
        let past = RunDeadline::after(Duration::ZERO);
        let err = bus.read(&past, |_| async { Ok(()) }).unwrap_err();
        assert!(err.contains("not started"), "{err}");
    }

    #[test]
    fn a_silent_peer_fails_the_read_by_the_scrape_deadline_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let bus = BusConnection::new(Endpoint::Private(path), "test").unwrap();
        for _ in 0..3 {
            let started = std::time::Instant::now();
            let deadline = RunDeadline::after(Duration::from_millis(200));
            let err = bus.read(&deadline, |_| async { Ok(()) }).unwrap_err();
            let took = started.elapsed();
            assert!(err.contains("timed out"), "{err}");
            assert!(
                took < Duration::from_secs(2),
                "{took:?}: not bounded by the deadline"
            );
        }
        drop(listener);
    }
}
