//! What systemd reports, as plain data, and the rules node_exporter applies
//! to it: which units are selected, how states are counted, how the
//! version and the D-Bus property values are read. No I/O here.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex_lite::Regex;
use zbus::zvariant::Value;

/// The five `ActiveState`s each unit gets a `node_systemd_unit_state` series
/// for, in node_exporter's order.
pub const UNIT_STATES: [&str; 5] = ["active", "activating", "deactivating", "inactive", "failed"];

/// The first systemd version with the manager's `SystemState` property and
/// the timers' `LastTriggerUSec`: older managers are not asked for them.
pub const MIN_VERSION_SYSTEM_STATE: f64 = 212.0;

/// One entry of the manager's `ListUnits` answer, reduced to what is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitStatus {
    /// Unit name, e.g. `ssh.service`.
    pub name: String,
    /// `LoadState`: `loaded`, `not-found`, `masked`, ...
    pub load_state: String,
    /// `ActiveState`: one of [`UNIT_STATES`], or a newer state such as
    /// `reloading`, `maintenance` or `refreshing`.
    pub active_state: String,
    /// The unit's object path on the bus.
    pub path: String,
}

/// The kinds of unit whose type-specific properties are read, by name suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// `*.service`: `Type`, `NRestarts`, `TasksCurrent`, `TasksMax`.
    Service,
    /// `*.mount`: `Type` (the filesystem type).
    Mount,
    /// `*.socket`: connection counters.
    Socket,
    /// `*.timer`: `LastTriggerUSec`.
    Timer,
    /// Everything else.
    Other,
}

impl UnitKind {
    /// The kind a unit name's suffix names.
    pub fn of(name: &str) -> UnitKind {
        match name.rsplit_once('.').map(|(_, suffix)| suffix) {
            Some("service") => UnitKind::Service,
            Some("mount") => UnitKind::Mount,
            Some("socket") => UnitKind::Socket,
            Some("timer") => UnitKind::Timer,
            _ => UnitKind::Other,
        }
    }
}

/// Selects the units reported per unit: the whole name must match the
/// include pattern and must not match the exclude pattern, and the unit
/// must be loaded.
#[derive(Debug, Clone)]
pub struct UnitFilter {
    include: Regex,
    exclude: Regex,
}

impl UnitFilter {
    /// A filter from the flags' patterns, anchored at both ends as
    /// node_exporter does (`.+\.scope` excludes `a.scope`, not `a.scopes`).
    pub fn new(include: &str, exclude: &str) -> Result<UnitFilter, String> {
        let anchored = |pattern: &str| {
            // Checked alone first: anchoring could balance a stray `)`.
            Regex::new(pattern)
                .and_then(|_| Regex::new(&format!("^(?:{pattern})$")))
                .map_err(|e| format!("{pattern:?}: {e}"))
        };
        Ok(UnitFilter {
            include: anchored(include)?,
            exclude: anchored(exclude)?,
        })
    }

    /// Whether `unit` is reported per unit.
    pub fn selects(&self, unit: &UnitStatus) -> bool {
        unit.load_state == "loaded"
            && self.include.is_match(&unit.name)
            && !self.exclude.is_match(&unit.name)
    }
}

/// Counts every listed unit (before filtering) by `ActiveState`. The five
/// [`UNIT_STATES`] are always present; any other state a unit is in gets its
/// own entry, as node_exporter's summary does.
pub fn summarize(units: &[UnitStatus]) -> BTreeMap<&str, f64> {
    let mut counts: BTreeMap<&str, f64> = UNIT_STATES.iter().map(|&s| (s, 0.0)).collect();
    for unit in units {
        *counts.entry(unit.active_state.as_str()).or_insert(0.0) += 1.0;
    }
    counts
}

/// The numeric systemd version and the `version` label for the manager's
/// `Version` property: the first number of three or more digits, with an
/// optional minor part (`252.22-1~deb12u1` is 252.22), and the whole string
/// as the label. A missing or number-less version is `(0, "")`.
pub fn parse_version(raw: Option<&str>) -> (f64, String) {
    static NUMBER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[0-9]{3,}(\.[0-9]+)?").expect("valid pattern"));
    let Some(raw) = raw else {
        return (0.0, String::new());
    };
    match NUMBER
        .find(raw)
        .and_then(|m| m.as_str().parse::<f64>().ok())
    {
        Some(version) => (version, raw.to_string()),
        None => (0.0, String::new()),
    }
}

/// The `virtualization_type` label for the manager's `Virtualization`
/// property: `none` on bare metal (empty), `unknown` when it could not be read.
pub fn virtualization_type(raw: Option<&str>) -> String {
    match raw.map(|v| v.trim_matches('"')) {
        None => "unknown".to_string(),
        Some("") => "none".to_string(),
        Some(kind) => kind.to_string(),
    }
}

/// A D-Bus property value as an unsigned integer: systemd's counters,
/// timestamps and limits are `u` or `t`; other integer widths are accepted,
/// negative and non-integer values are not.
pub fn unsigned(value: &Value<'_>) -> Option<u64> {
    match value {
        Value::U8(v) => Some(u64::from(*v)),
        Value::U16(v) => Some(u64::from(*v)),
        Value::U32(v) => Some(u64::from(*v)),
        Value::U64(v) => Some(*v),
        Value::I16(v) => u64::try_from(*v).ok(),
        Value::I32(v) => u64::try_from(*v).ok(),
        Value::I64(v) => u64::try_from(*v).ok(),
        Value::Value(inner) => unsigned(inner),
        _ => None,
    }
}

/// A microsecond timestamp or duration in seconds.
pub fn usec_to_seconds(usec: u64) -> f64 {
    usec as f64 / 1e6
}

/// What one scrape read from systemd: the manager's facts, every unit, and
/// the properties of the selected units. A property that could not be read
/// is `None`, and its series is left out, as node_exporter does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// The manager's `Version`, if it could be read.
    pub version: Option<String>,
    /// The manager's `Virtualization`, if it could be read.
    pub virtualization: Option<String>,
    /// The manager's `SystemState`, or why reading it failed; `None` when
    /// the version is too old to have it.
    pub system_state: Option<Result<String, String>>,
    /// Every unit `ListUnits` returned.
    pub units: Vec<UnitStatus>,
    /// The selected units' properties, in `units` order.
    pub selected: Vec<UnitDetails>,
}

/// The properties read for one selected unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitDetails {
    /// Unit name.
    pub name: String,
    /// `ActiveState`.
    pub active_state: String,
    /// `Service.Type` or `Mount.Type`; `None` for other kinds.
    pub unit_type: Option<String>,
    /// `Service.NRestarts`.
    pub restarts: Option<u64>,
    /// `Unit.ActiveEnterTimestamp`, in microseconds since the epoch.
    pub active_enter_usec: Option<u64>,
    /// `Service.TasksCurrent`.
    pub tasks_current: Option<u64>,
    /// `Service.TasksMax`.
    pub tasks_max: Option<u64>,
    /// `Timer.LastTriggerUSec`, in microseconds since the epoch.
    pub last_trigger_usec: Option<u64>,
    /// `Socket.NAccepted`.
    pub accepted: Option<u64>,
    /// `Socket.NConnections`.
    pub connections: Option<u64>,
    /// `Socket.NRefused` (systemd 239 and later).
    pub refused: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::system_bus::text;
    use zbus::zvariant::{ObjectPath, Str};

    fn unit(name: &str, load: &str, active: &str) -> UnitStatus {
        UnitStatus {
            name: name.to_string(),
            load_state: load.to_string(),
            active_state: active.to_string(),
            path: String::new(),
        }
    }

    #[test]
    fn kinds_come_from_the_last_suffix() {
        assert_eq!(UnitKind::of("ssh.service"), UnitKind::Service);
        assert_eq!(UnitKind::of("getty@tty1.service"), UnitKind::Service);
        assert_eq!(UnitKind::of("run-user-1000.mount"), UnitKind::Mount);
        assert_eq!(UnitKind::of("dbus.socket"), UnitKind::Socket);
        assert_eq!(UnitKind::of("apt-daily.timer"), UnitKind::Timer);
        assert_eq!(UnitKind::of("a.service.d"), UnitKind::Other);
        assert_eq!(UnitKind::of("multi-user.target"), UnitKind::Other);
        assert_eq!(UnitKind::of("service"), UnitKind::Other);
        assert_eq!(UnitKind::of(""), UnitKind::Other);
    }

    #[test]
    fn default_filter_keeps_loaded_services_and_drops_upstream_exclusions() {
        let filter = UnitFilter::new(".+", r".+\.(automount|device|mount|scope|slice)").unwrap();
        assert!(filter.selects(&unit("ssh.service", "loaded", "active")));
        assert!(filter.selects(&unit("dbus.socket", "loaded", "active")));
        assert!(filter.selects(&unit("multi-user.target", "loaded", "active")));
        assert!(!filter.selects(&unit("-.mount", "loaded", "active")));
        assert!(!filter.selects(&unit("session-3.scope", "loaded", "active")));
        assert!(!filter.selects(&unit("system.slice", "loaded", "active")));
        assert!(!filter.selects(&unit("dev-sda.device", "loaded", "active")));
        assert!(!filter.selects(&unit("proc-sys.automount", "loaded", "active")));
        assert!(!filter.selects(&unit("gone.service", "not-found", "inactive")));
        assert!(!filter.selects(&unit("masked.service", "masked", "inactive")));
    }

    #[test]
    fn patterns_must_match_the_whole_name() {
        let filter = UnitFilter::new("ssh", r"x\.scope").unwrap();
        assert!(filter.selects(&unit("ssh", "loaded", "active")));
        assert!(!filter.selects(&unit("ssh.service", "loaded", "active")));
        let filter = UnitFilter::new(".+", r".+\.scope").unwrap();
        assert!(filter.selects(&unit("a.scopes", "loaded", "active")));
        // Alternatives are grouped before anchoring.
        let filter = UnitFilter::new("a.service|b.service", "$^").unwrap();
        assert!(filter.selects(&unit("b.service", "loaded", "active")));
        assert!(!filter.selects(&unit("xb.service", "loaded", "active")));
        // An explicitly empty include matches no unit name.
        let filter = UnitFilter::new("", "$^").unwrap();
        assert!(!filter.selects(&unit("a.service", "loaded", "active")));
    }

    #[test]
    fn invalid_patterns_are_refused() {
        assert!(UnitFilter::new("(", ".+").is_err());
        // Invalid alone, though the anchoring group would balance it.
        assert!(UnitFilter::new("a)|(b", ".+").is_err());
    }

    #[test]
    fn summary_counts_all_units_including_new_states() {
        let units = [
            unit("a.service", "loaded", "active"),
            unit("b.service", "loaded", "active"),
            unit("c.service", "not-found", "inactive"),
            unit("d.service", "loaded", "failed"),
            unit("e.service", "loaded", "reloading"),
        ];
        let summary = summarize(&units);
        let expected: Vec<(&str, f64)> = vec![
            ("activating", 0.0),
            ("active", 2.0),
            ("deactivating", 0.0),
            ("failed", 1.0),
            ("inactive", 1.0),
            ("reloading", 1.0),
        ];
        assert_eq!(summary.into_iter().collect::<Vec<_>>(), expected);
        assert_eq!(summarize(&[]).len(), 5);
    }

    #[test]
    fn versions_of_distributions() {
        let cases = [
            ("252.22-1~deb12u1", 252.22),
            ("249.11-0ubuntu3.12", 249.11),
            ("257.4-1", 257.4),
            ("245", 245.0),
            ("v254", 254.0),
            ("systemd 239 (239-78.el8)", 239.0),
            ("219", 219.0),
        ];
        for (raw, number) in cases {
            assert_eq!(parse_version(Some(raw)), (number, raw.to_string()), "{raw}");
        }
        assert_eq!(parse_version(Some("99")), (0.0, String::new()));
        assert_eq!(parse_version(Some("")), (0.0, String::new()));
        assert_eq!(parse_version(Some("garbage")), (0.0, String::new()));
        assert_eq!(parse_version(None), (0.0, String::new()));
    }

    #[test]
    fn virtualization_labels() {
        assert_eq!(virtualization_type(Some("kvm")), "kvm");
        assert_eq!(virtualization_type(Some("")), "none");
        assert_eq!(virtualization_type(Some("\"\"")), "none");
        assert_eq!(virtualization_type(None), "unknown");
    }

    #[test]
    fn property_values_convert_leniently_but_safely() {
        assert_eq!(unsigned(&Value::U32(7)), Some(7));
        assert_eq!(unsigned(&Value::U64(u64::MAX)), Some(u64::MAX));
        assert_eq!(unsigned(&Value::U8(1)), Some(1));
        assert_eq!(unsigned(&Value::U16(2)), Some(2));
        assert_eq!(unsigned(&Value::I32(3)), Some(3));
        assert_eq!(unsigned(&Value::I64(-1)), None);
        assert_eq!(unsigned(&Value::I16(-1)), None);
        assert_eq!(unsigned(&Value::F64(1.5)), None);
        assert_eq!(unsigned(&Value::Bool(true)), None);
        assert_eq!(unsigned(&Value::Str(Str::from("5"))), None);
        assert_eq!(unsigned(&Value::Value(Box::new(Value::U32(9)))), Some(9));

        assert_eq!(
            text(&Value::Str(Str::from("simple"))),
            Some("simple".into())
        );
        let path = ObjectPath::try_from("/org/freedesktop/systemd1").unwrap();
        assert_eq!(
            text(&Value::ObjectPath(path)),
            Some("/org/freedesktop/systemd1".into())
        );
        assert_eq!(
            text(&Value::Value(Box::new(Value::Str(Str::from("notify"))))),
            Some("notify".into())
        );
        assert_eq!(text(&Value::U32(1)), None);
    }

    #[test]
    fn microseconds_become_seconds() {
        assert_eq!(usec_to_seconds(1_700_000_000_123_456), 1_700_000_000.123456);
        assert_eq!(usec_to_seconds(0), 0.0);
    }
}
