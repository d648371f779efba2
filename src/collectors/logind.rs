//! `logind`: the sessions systemd-logind knows, counted by seat, remoteness,
//! type and class, read from its `org.freedesktop.login1` D-Bus API on the
//! host's system bus.
//!
//! The bus is reached as the systemd collector reaches it
//! ([`Endpoint::system_bus`]): `DBUS_SYSTEM_BUS_ADDRESS` when set, else
//! `<--path.rootfs>/run/dbus/system_bus_socket`; the connection is kept
//! across scrapes, every call is bounded in time, and a missing socket is one
//! error naming it and what to mount.

use std::collections::HashMap;

use zbus::zvariant::OwnedObjectPath;
use zbus::Connection;

use crate::collectors::common::system_bus::{
    self, boolean, text, BusConnection, CallError, Endpoint,
};
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec, RunDeadline};
use crate::host::Host;
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "logind",
    default_enabled: false,
    reads: "logind over D-Bus: $DBUS_SYSTEM_BUS_ADDRESS, else /run/dbus/system_bus_socket under --path.rootfs",
    flags: None,
    build,
};

const DESTINATION: &str = "org.freedesktop.login1";
const MANAGER_PATH: &str = "/org/freedesktop/login1";
const MANAGER: &str = "org.freedesktop.login1.Manager";
const SESSION: &str = "org.freedesktop.login1.Session";

/// The values of the `remote` label.
const REMOTE_VALUES: [&str; 2] = ["true", "false"];
/// The session types logind knew as of systemd 229; any other is "other".
/// Every one gets a series, zero when no session has it.
const TYPE_VALUES: [&str; 7] = [
    "other",
    "unspecified",
    "tty",
    "x11",
    "wayland",
    "mir",
    "web",
];
/// The session classes logind knew as of systemd 229; any other (such as
/// newer systemd's "manager" or "user-early") is "other".
const CLASS_VALUES: [&str; 5] = ["other", "user", "greeter", "lock-screen", "background"];

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let endpoint = Endpoint::system_bus(&ctx.host, std::env::var("DBUS_SYSTEM_BUS_ADDRESS").ok());
    tracing::info!(collector = "logind", endpoint = %endpoint, "reading logind over D-Bus");
    Ok(Box::new(LogindCollector {
        bus: BusConnection::new(endpoint, "logind")?,
    }))
}

/// Reports `node_logind_sessions` from one read of logind per scrape.
struct LogindCollector {
    bus: BusConnection,
}

impl Collector for LogindCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        self.update_until(host, out, &RunDeadline::after(system_bus::READ_TIMEOUT))
    }

    fn update_until(
        &self,
        _: &Host,
        out: &mut MetricSet,
        deadline: &RunDeadline,
    ) -> Result<(), CollectError> {
        let (seats, sessions) = self
            .bus
            .read(deadline, |connection| async move {
                read_sessions(&connection).await
            })
            .map_err(CollectError::failed)?;
        render(&seats, &sessions, out);
        Ok(())
    }
}

/// The labels one session is counted under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Session {
    /// The seat's id; empty for sessions without one (SSH and the like).
    pub seat: String,
    /// Whether the session is remote.
    pub remote: bool,
    /// The session type (`tty`, `x11`, ...), as logind reports it.
    pub session_type: String,
    /// The session class (`user`, `greeter`, ...), as logind reports it.
    pub class: String,
}

/// `value` when it is one of `known`, else "other".
fn known_or_other<'a>(value: &'a str, known: &[&'static str]) -> &'a str {
    if known.contains(&value) {
        value
    } else {
        "other"
    }
}

/// Writes `node_logind_sessions`: one series for every seat (and the empty
/// seat, always), remoteness, known type and known class, counting the
/// sessions under it. Sessions on a seat logind did not list are not
/// counted, as node_exporter does.
fn render(seats: &[String], sessions: &[Session], out: &mut MetricSet) {
    let mut counts: HashMap<(&str, &str, &str, &str), f64> = HashMap::new();
    for session in sessions {
        let key = (
            session.seat.as_str(),
            if session.remote { "true" } else { "false" },
            known_or_other(&session.session_type, &TYPE_VALUES),
            known_or_other(&session.class, &CLASS_VALUES),
        );
        *counts.entry(key).or_default() += 1.0;
    }
    let mut all_seats: Vec<&str> = seats.iter().map(String::as_str).collect();
    all_seats.push("");
    all_seats.sort_unstable();
    all_seats.dedup();

    let family = out.family(
        "node_logind_sessions",
        "Number of sessions registered in logind.",
        MetricType::Gauge,
        &["seat", "remote", "type", "class"],
    );
    for remote in REMOTE_VALUES {
        for session_type in TYPE_VALUES {
            for class in CLASS_VALUES {
                for &seat in &all_seats {
                    let count = counts
                        .get(&(seat, remote, session_type, class))
                        .copied()
                        .unwrap_or(0.0);
                    family.push(&[seat, remote, session_type, class], count);
                }
            }
        }
    }
}

/// `ListSeats`' row: seat id, object path.
type ListedSeat = (String, OwnedObjectPath);
/// `ListSessions`' row: session id, user id, user name, seat id, object path.
type ListedSession = (String, u32, String, String, OwnedObjectPath);

/// The seats and the sessions whose properties could be read.
async fn read_sessions(connection: &Connection) -> Result<(Vec<String>, Vec<Session>), CallError> {
    let seats: Vec<ListedSeat> =
        system_bus::call(connection, DESTINATION, MANAGER_PATH, MANAGER, "ListSeats").await?;
    let listed: Vec<ListedSession> = system_bus::call(
        connection,
        DESTINATION,
        MANAGER_PATH,
        MANAGER,
        "ListSessions",
    )
    .await?;
    let mut sessions = Vec::with_capacity(listed.len());
    for (id, _, _, seat, path) in listed {
        match session(connection, seat, path.as_str()).await {
            Ok(Some(session)) => sessions.push(session),
            // A session that ended since it was listed, or answers with
            // values of other types, is left out, as node_exporter does.
            Ok(None) => tracing::debug!(collector = "logind", id, "session properties not read"),
            Err(err) if err.breaks_connection() => return Err(err),
            Err(err) => tracing::debug!(collector = "logind", id, err = %err, "session not read"),
        }
    }
    Ok((seats.into_iter().map(|(id, _)| id).collect(), sessions))
}

/// The session at `path`, or `None` when a property has another type.
async fn session(
    connection: &Connection,
    seat: String,
    path: &str,
) -> Result<Option<Session>, CallError> {
    let property = |name| system_bus::get(connection, DESTINATION, path, SESSION, name);
    let Some(remote) = boolean(&*property("Remote").await?) else {
        return Ok(None);
    };
    let Some(session_type) = text(&*property("Type").await?) else {
        return Ok(None);
    };
    let Some(class) = text(&*property("Class").await?) else {
        return Ok(None);
    };
    Ok(Some(Session {
        seat,
        remote,
        session_type,
        class,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build as build_collector, fixture_host};
    use crate::exposition::Format;

    fn session(seat: &str, remote: bool, session_type: &str, class: &str) -> Session {
        Session {
            seat: seat.into(),
            remote,
            session_type: session_type.into(),
            class: class.into(),
        }
    }

    fn rendered(seats: &[&str], sessions: &[Session]) -> Vec<String> {
        let seats: Vec<String> = seats.iter().map(|s| s.to_string()).collect();
        let mut set = MetricSet::new();
        render(&seats, sessions, &mut set);
        let families = set.into_sorted();
        let mut out = Vec::new();
        Format::Text.encode(&families.iter().collect::<Vec<_>>(), &mut out);
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    fn sample(seat: &str, remote: &str, session_type: &str, class: &str, n: u32) -> String {
        format!(
            r#"node_logind_sessions{{class="{class}",remote="{remote}",seat="{seat}",type="{session_type}"}} {n}"#
        )
    }

    #[test]
    fn counts_sessions_under_every_known_combination() {
        let lines = rendered(
            &["seat0"],
            &[
                session("seat0", false, "wayland", "user"),
                session("", true, "tty", "user"),
                session("", true, "tty", "user"),
                session("seat0", false, "x11", "greeter"),
                // Newer logind's values fall back to "other".
                session("", false, "unspecified", "manager"),
                session("", false, "remote-desktop", "background"),
                // A seat logind did not list: not counted.
                session("seat1", false, "tty", "user"),
            ],
        );
        assert_eq!(
            lines[0],
            "# HELP node_logind_sessions Number of sessions registered in logind."
        );
        assert_eq!(lines[1], "# TYPE node_logind_sessions gauge");
        let samples = &lines[2..];
        // 2 seats ("seat0" and the empty one) x 2 x 7 types x 5 classes.
        assert_eq!(samples.len(), 2 * 2 * 7 * 5);
        for expected in [
            sample("seat0", "false", "wayland", "user", 1),
            sample("", "true", "tty", "user", 2),
            sample("seat0", "false", "x11", "greeter", 1),
            sample("", "false", "unspecified", "other", 1),
            sample("", "false", "other", "background", 1),
            sample("seat0", "true", "mir", "lock-screen", 0),
            sample("", "false", "web", "other", 0),
        ] {
            assert!(samples.contains(&expected), "missing {expected}");
        }
        assert!(!samples.iter().any(|l| l.contains("seat1")));
        let total: u32 = samples
            .iter()
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u32>().unwrap())
            .sum();
        assert_eq!(total, 6);
    }

    #[test]
    fn no_seats_still_has_the_empty_seat() {
        let lines = rendered(&[], &[]);
        assert_eq!(lines.len() - 2, 2 * 7 * 5);
        assert!(lines.iter().skip(2).all(|l| l.ends_with(" 0")));
        // A listed empty seat id is not doubled.
        assert_eq!(rendered(&[""], &[]).len(), lines.len());
    }

    #[test]
    fn disabled_by_default_and_fails_cleanly_without_a_bus() {
        const { assert!(!SPEC.default_enabled) };
        let collector = build_collector(&SPEC, fixture_host(), &["--collector.logind"])
            .expect("building connects to nothing");
        let mut out = MetricSet::new();
        let result = collector.update(&mut out);
        if std::env::var_os("DBUS_SYSTEM_BUS_ADDRESS").is_none() {
            let err = result.unwrap_err();
            assert!(err.message().contains("system_bus_socket"), "{err}");
        }
    }
}
