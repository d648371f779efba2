//! The D-Bus side of the systemd collector: where systemd is reached, and
//! the calls that fill a [`Snapshot`] over the shared system bus connection.

use zbus::zvariant::{OwnedObjectPath, OwnedValue};
use zbus::Connection;

use super::units::{
    parse_version, unsigned, Snapshot, UnitDetails, UnitFilter, UnitKind, UnitStatus,
    MIN_VERSION_SYSTEM_STATE,
};
use crate::collectors::common::system_bus::{self, text, BusConnection, CallError, Endpoint};
use crate::collectors::RunDeadline;
use crate::host::Host;

const DESTINATION: &str = "org.freedesktop.systemd1";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
const UNIT: &str = "org.freedesktop.systemd1.Unit";
const SERVICE: &str = "org.freedesktop.systemd1.Service";
const MOUNT: &str = "org.freedesktop.systemd1.Mount";
const SOCKET: &str = "org.freedesktop.systemd1.Socket";
const TIMER: &str = "org.freedesktop.systemd1.Timer";

/// Where systemd is reached: its private socket under `host`'s root when
/// `private`, else the system bus (see [`Endpoint::system_bus`]).
pub fn endpoint(host: &Host, private: bool, env_address: Option<String>) -> Endpoint {
    if private {
        return Endpoint::Private(host.root_path("/run/systemd/private"));
    }
    Endpoint::system_bus(host, env_address)
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

/// The connection to systemd, kept across scrapes.
pub struct SystemdBus(BusConnection);

impl SystemdBus {
    /// A bus for `endpoint`; nothing is connected yet.
    pub fn new(endpoint: Endpoint) -> Result<SystemdBus, String> {
        BusConnection::new(endpoint, "systemd").map(SystemdBus)
    }

    /// Reads a snapshot, connecting first if needed, before `deadline`.
    pub fn read(
        &self,
        filter: &UnitFilter,
        wanted: Wanted,
        deadline: &RunDeadline,
    ) -> Result<Snapshot, String> {
        self.0.read(deadline, |connection| async move {
            read_snapshot(&connection, filter, wanted).await
        })
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
    let rows: Vec<ListedUnit> =
        system_bus::call(connection, DESTINATION, MANAGER_PATH, MANAGER, "ListUnits").await?;
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
    system_bus::get(connection, DESTINATION, path, interface, name).await
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
            endpoint(&host, false, None),
            Endpoint::BusSocket(Path::new("/host/root/run/dbus/system_bus_socket").into())
        );
        assert_eq!(
            endpoint(&host, true, Some("unix:path=/x/bus".into())),
            Endpoint::Private(Path::new("/host/root/run/systemd/private").into())
        );
    }

    #[test]
    fn a_missing_socket_names_the_path_and_the_mount() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("run/dbus/system_bus_socket");
        let bus = SystemdBus::new(Endpoint::BusSocket(socket.clone())).unwrap();
        let filter = UnitFilter::new(".+", "$^").unwrap();
        let deadline = RunDeadline::after(system_bus::READ_TIMEOUT);
        let err = bus.read(&filter, Wanted::default(), &deadline).unwrap_err();
        assert!(err.contains(&socket.display().to_string()), "{err}");
        assert!(err.contains("mount the host's /run/dbus/system_bus_socket"));
    }
}
