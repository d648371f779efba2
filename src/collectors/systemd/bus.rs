//! The D-Bus side of the systemd collector: where systemd is reached, the
//! one connection kept across scrapes (and replaced when it breaks), and the
//! calls that fill a [`Snapshot`], each bounded in time.

use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use tokio::net::UnixStream;
use tokio::runtime::Runtime;
use zbus::connection::Builder;
use zbus::zvariant::{OwnedObjectPath, OwnedValue};
use zbus::Connection;

use super::units::{
    parse_version, text, unsigned, Snapshot, UnitDetails, UnitFilter, UnitKind, UnitStatus,
    MIN_VERSION_SYSTEM_STATE,
};
use crate::host::Host;

/// How long one D-Bus call (or connecting) may take before it fails: a
/// healthy systemd answers in microseconds, a wedged one never.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long reading one whole snapshot may take, however many units there
/// are; past it the connection is dropped and the next scrape reconnects.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

const DESTINATION: &str = "org.freedesktop.systemd1";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";
const UNIT: &str = "org.freedesktop.systemd1.Unit";
const SERVICE: &str = "org.freedesktop.systemd1.Service";
const MOUNT: &str = "org.freedesktop.systemd1.Mount";
const SOCKET: &str = "org.freedesktop.systemd1.Socket";
const TIMER: &str = "org.freedesktop.systemd1.Timer";

/// Where systemd is reached.
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
    /// systemd's private socket under `host`'s root when `private`; else the
    /// system bus at `env_address` (`DBUS_SYSTEM_BUS_ADDRESS`) when set, or
    /// at the host's `/run/dbus/system_bus_socket` under its root.
    pub fn resolve(host: &Host, private: bool, env_address: Option<String>) -> Endpoint {
        if private {
            return Endpoint::Private(host.root_path("/run/systemd/private"));
        }
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

/// The optional properties to read besides unit states and manager facts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted {
    /// `NRestarts` of services.
    pub restarts: bool,
    /// `ActiveEnterTimestamp` of active units.
    pub start_time: bool,
    /// `TasksCurrent` and `TasksMax` of services.
    pub tasks: bool,
}

/// A connection to systemd that lives across scrapes: opened on first use,
/// and dropped (to be reopened) when a call shows it broken or wedged.
pub struct SystemdBus {
    connection: Mutex<Option<Connection>>,
    endpoint: Endpoint,
    /// Drives the connection's I/O while a scrape waits on it; a runtime of
    /// its own, so the connection does not depend on the caller's. Only
    /// taken out when dropped.
    runtime: Option<Runtime>,
}

impl SystemdBus {
    /// A bus for `endpoint`; nothing is connected yet.
    pub fn new(endpoint: Endpoint) -> Result<SystemdBus, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| format!("cannot start the D-Bus runtime: {e}"))?;
        Ok(SystemdBus {
            connection: Mutex::new(None),
            endpoint,
            runtime: Some(runtime),
        })
    }

    fn runtime(&self) -> &Runtime {
        self.runtime.as_ref().expect("the runtime lives until drop")
    }

    /// Reads a snapshot, connecting first if needed. A connection kept from
    /// an earlier scrape that turns out broken (systemd or the bus
    /// restarted) is replaced and the read retried once.
    pub fn read(&self, filter: &UnitFilter, wanted: Wanted) -> Result<Snapshot, String> {
        let mut slot = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        let mut may_retry = true;
        loop {
            let reused = slot.is_some();
            let connection = match slot.as_ref() {
                Some(connection) => connection.clone(),
                None => slot.insert(self.connect()?).clone(),
            };
            let read = self.runtime().block_on(async {
                tokio::time::timeout(READ_TIMEOUT, read_snapshot(&connection, filter, wanted)).await
            });
            match read {
                Ok(Ok(snapshot)) => return Ok(snapshot),
                Ok(Err(err)) if !err.breaks_connection() => return Err(err.to_string()),
                Ok(Err(err)) => {
                    self.discard(&mut slot, connection);
                    if reused && may_retry {
                        tracing::debug!(err = %err, "systemd connection broke; reconnecting");
                        may_retry = false;
                        continue;
                    }
                    return Err(err.to_string());
                }
                Err(_) => {
                    self.discard(&mut slot, connection);
                    return Err(format!(
                        "reading systemd timed out after {}s; the connection is dropped \
                         and reopened on the next scrape",
                        READ_TIMEOUT.as_secs()
                    ));
                }
            }
        }
    }

    fn connect(&self) -> Result<Connection, String> {
        let opened = self
            .runtime()
            .block_on(async { tokio::time::timeout(CALL_TIMEOUT, self.endpoint.open()).await });
        let problem = match opened {
            Ok(Ok(connection)) => return Ok(connection),
            Ok(Err(err)) => err.to_string(),
            Err(_) => format!("timed out after {}s", CALL_TIMEOUT.as_secs()),
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

impl Drop for SystemdBus {
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
struct CallError(Box<FailedCall>);

#[derive(Debug)]
struct FailedCall {
    call: String,
    error: zbus::Error,
}

impl CallError {
    fn new(call: String, error: zbus::Error) -> CallError {
        CallError(Box::new(FailedCall { call, error }))
    }
}

impl CallError {
    /// Whether the connection is unusable after this error: anything but an
    /// answer from the peer (an error reply, or a value of another type).
    fn breaks_connection(&self) -> bool {
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

/// `ListUnits`' row: name, description, load state, active state, sub
/// state, followed unit, object path, job id, job type, job path.
type ListedUnit = (
    String,
    String,
    String,
    String,
    String,
    String,
    OwnedObjectPath,
    u32,
    String,
    OwnedObjectPath,
);

async fn read_snapshot(
    connection: &Connection,
    filter: &UnitFilter,
    wanted: Wanted,
) -> Result<Snapshot, CallError> {
    let version = manager_text(connection, "Version").await?;
    let virtualization = manager_text(connection, "Virtualization").await?;
    let units = list_units(connection).await?;
    let has_system_state = parse_version(version.as_deref()).0 >= MIN_VERSION_SYSTEM_STATE;
    let mut selected = Vec::new();
    for unit in units.iter().filter(|u| filter.selects(u)) {
        selected.push(unit_details(connection, unit, wanted, has_system_state).await?);
    }
    let system_state = if has_system_state {
        Some(
            match get(connection, MANAGER_PATH, MANAGER, "SystemState").await {
                Ok(value) => text(&value).ok_or_else(|| "SystemState is not a string".to_string()),
                Err(err) if err.breaks_connection() => return Err(err),
                Err(err) => Err(err.to_string()),
            },
        )
    } else {
        None
    };
    Ok(Snapshot {
        version,
        virtualization,
        system_state,
        units,
        selected,
    })
}

async fn list_units(connection: &Connection) -> Result<Vec<UnitStatus>, CallError> {
    let failed = |error| CallError::new(format!("{MANAGER}.ListUnits"), error);
    let reply = connection
        .call_method(
            Some(DESTINATION),
            MANAGER_PATH,
            Some(MANAGER),
            "ListUnits",
            &(),
        )
        .await
        .map_err(failed)?;
    let rows: Vec<ListedUnit> = reply.body().deserialize().map_err(failed)?;
    Ok(rows
        .into_iter()
        .map(
            |(name, _, load_state, active_state, _, _, path, ..)| UnitStatus {
                name,
                load_state,
                active_state,
                path: path.as_str().to_string(),
            },
        )
        .collect())
}

/// A string property of the manager; `None` when systemd refuses it (too
/// old a version), as node_exporter then reports defaults.
async fn manager_text(connection: &Connection, name: &str) -> Result<Option<String>, CallError> {
    Ok(optional(
        get(connection, MANAGER_PATH, MANAGER, name).await,
        MANAGER_PATH,
    )?
    .as_deref()
    .and_then(text))
}

async fn unit_details(
    connection: &Connection,
    unit: &UnitStatus,
    wanted: Wanted,
    has_timer_triggers: bool,
) -> Result<UnitDetails, CallError> {
    let property = |interface: &'static str, name: &'static str| async move {
        optional(
            get(connection, &unit.path, interface, name).await,
            &unit.name,
        )
    };
    let number = |interface, name| async move {
        Ok::<_, CallError>(
            property(interface, name)
                .await?
                .as_deref()
                .and_then(unsigned),
        )
    };
    let mut details = UnitDetails {
        name: unit.name.clone(),
        active_state: unit.active_state.clone(),
        ..UnitDetails::default()
    };
    match UnitKind::of(&unit.name) {
        UnitKind::Service => {
            details.unit_type = property(SERVICE, "Type").await?.as_deref().and_then(text);
            if wanted.restarts {
                details.restarts = number(SERVICE, "NRestarts").await?;
            }
            if wanted.tasks {
                details.tasks_current = number(SERVICE, "TasksCurrent").await?;
                details.tasks_max = number(SERVICE, "TasksMax").await?;
            }
        }
        UnitKind::Mount => {
            details.unit_type = property(MOUNT, "Type").await?.as_deref().and_then(text);
        }
        UnitKind::Socket => {
            // Each counter is only asked for when the one before it was
            // read, as node_exporter does.
            details.accepted = number(SOCKET, "NAccepted").await?;
            if details.accepted.is_some() {
                details.connections = number(SOCKET, "NConnections").await?;
            }
            if details.connections.is_some() {
                details.refused = number(SOCKET, "NRefused").await?;
            }
        }
        UnitKind::Timer if has_timer_triggers => {
            details.last_trigger_usec = number(TIMER, "LastTriggerUSec").await?;
        }
        UnitKind::Timer | UnitKind::Other => {}
    }
    if wanted.start_time && unit.active_state == "active" {
        details.active_enter_usec = number(UNIT, "ActiveEnterTimestamp").await?;
    }
    Ok(details)
}

/// `org.freedesktop.DBus.Properties.Get` of one property.
async fn get(
    connection: &Connection,
    path: &str,
    interface: &str,
    name: &str,
) -> Result<OwnedValue, CallError> {
    let failed = |error| CallError::new(format!("reading {interface}.{name} of {path}"), error);
    let reply = connection
        .call_method(
            Some(DESTINATION),
            path,
            Some(PROPERTIES),
            "Get",
            &(interface, name),
        )
        .await
        .map_err(failed)?;
    reply.body().deserialize::<OwnedValue>().map_err(failed)
}

/// A property's value, or `None` when systemd answered with an error (the
/// property does not exist in its version, the unit vanished): logged at
/// debug, as node_exporter does. A broken connection is still an error.
fn optional(
    result: Result<OwnedValue, CallError>,
    subject: &str,
) -> Result<Option<OwnedValue>, CallError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.breaks_connection() => Err(err),
        Err(err) => {
            tracing::debug!(collector = "systemd", subject, err = %err, "property not read");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn endpoint_follows_flag_then_environment_then_host_root() {
        let host = Host::new("/host/proc", "/host/sys", "/host/root", "/host/udev");
        assert_eq!(
            Endpoint::resolve(&host, false, None),
            Endpoint::BusSocket(Path::new("/host/root/run/dbus/system_bus_socket").into())
        );
        assert_eq!(
            Endpoint::resolve(&host, false, Some("unix:path=/x/bus".into())),
            Endpoint::Address("unix:path=/x/bus".into())
        );
        assert_eq!(
            Endpoint::resolve(&host, false, Some(" ".into())),
            Endpoint::BusSocket(Path::new("/host/root/run/dbus/system_bus_socket").into())
        );
        assert_eq!(
            Endpoint::resolve(&host, true, Some("unix:path=/x/bus".into())),
            Endpoint::Private(Path::new("/host/root/run/systemd/private").into())
        );
    }

    #[test]
    fn a_missing_socket_is_one_error_naming_the_path_and_the_mount() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("run/dbus/system_bus_socket");
        let bus = SystemdBus::new(Endpoint::BusSocket(socket.clone())).unwrap();
        let filter = UnitFilter::new(".+", "$^").unwrap();
        let first = bus.read(&filter, Wanted::default()).unwrap_err();
        assert!(first.contains(&socket.display().to_string()), "{first}");
        assert!(first.contains("mount the host's /run/dbus/system_bus_socket"));
        assert!(first.contains("DBUS_SYSTEM_BUS_ADDRESS"));
        // The same words every scrape, so the failure is logged once.
        assert_eq!(bus.read(&filter, Wanted::default()).unwrap_err(), first);
    }

    #[tokio::test]
    async fn may_be_dropped_inside_another_runtime() {
        // As the agent does at shutdown; a plain runtime drop would panic.
        let bus = SystemdBus::new(Endpoint::BusSocket("/nonexistent".into())).unwrap();
        drop(bus);
    }

    #[test]
    fn a_bad_address_names_the_variable() {
        let bus = SystemdBus::new(Endpoint::Address("nonsense".into())).unwrap();
        let filter = UnitFilter::new(".+", "$^").unwrap();
        let err = bus.read(&filter, Wanted::default()).unwrap_err();
        assert!(err.contains("DBUS_SYSTEM_BUS_ADDRESS=nonsense"), "{err}");
    }

    #[test]
    fn a_peer_that_never_answers_times_out() {
        // A socket that accepts connections but never speaks: the handshake
        // must give up rather than wait forever.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let bus = SystemdBus::new(Endpoint::Private(path)).unwrap();
        let filter = UnitFilter::new(".+", "$^").unwrap();
        let err = bus.read(&filter, Wanted::default()).unwrap_err();
        assert!(err.contains("timed out"), "{err}");
        assert!(err.contains("/run/systemd/private"), "{err}");
        drop(listener);
    }
}
