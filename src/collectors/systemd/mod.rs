//! `systemd`: unit states, the manager's version and state, and per-unit
//! service, socket and timer counters, read from systemd's
//! `org.freedesktop.systemd1` D-Bus API.
//!
//! Which socket is used:
//! - `DBUS_SYSTEM_BUS_ADDRESS`, when set (a D-Bus address such as
//!   `unix:path=/host/run/dbus/system_bus_socket`);
//! - else the host's system bus socket under the root filesystem,
//!   `<--path.rootfs>/run/dbus/system_bus_socket`. A pod that mounts the
//!   host root at `/host/root` (with `mountPropagation: HostToContainer`,
//!   since `/run` is a separate mount) reaches the host's bus there;
//!   connecting to a socket on a read-only mount works;
//! - with `--collector.systemd.private`, systemd's own socket
//!   `<--path.rootfs>/run/systemd/private`, without a bus daemon (root only).
//!
//! The connection is kept across scrapes and reopened when it breaks. Every
//! read ends by the scrape's deadline, so a wedged bus or systemd fails the
//! collector within the scrape instead of holding it. When the socket is missing or refuses the connection the
//! collector fails with one error naming the socket and what to mount.

mod bus;
mod units;

use clap::Args;
use regex_lite::Regex;

use crate::collectors::common::device_filter::with_deprecated_alias;
use crate::collectors::common::system_bus;
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec, RunDeadline};
use crate::host::Host;
use crate::metrics::{Desc, MetricSet, MetricType};
use bus::{SystemdBus, Wanted};
use units::{
    parse_version, summarize, usec_to_seconds, virtualization_type, Snapshot, UnitFilter,
    MIN_VERSION_SYSTEM_STATE, UNIT_STATES,
};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "systemd",
    default_enabled: false,
    reads: "systemd over D-Bus: $DBUS_SYSTEM_BUS_ADDRESS, else /run/dbus/system_bus_socket under --path.rootfs",
    flags: Some(Flags::augment_args),
    build,
};

/// The default of `--collector.systemd.unit-include`.
const DEFAULT_INCLUDE: &str = ".+";
/// The default of `--collector.systemd.unit-exclude`.
const DEFAULT_EXCLUDE: &str = r".+\.(automount|device|mount|scope|slice)";

/// Flags of the systemd collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of systemd units to include. Units must both match include and
    /// not match exclude to be included. [default: .+]
    #[arg(id = "collector.systemd.unit-include", long = "collector.systemd.unit-include", value_name = "REGEX",
          value_parser = crate::parse::regex)]
    pub unit_include: Option<Regex>,

    /// DEPRECATED: Use --collector.systemd.unit-include
    #[arg(id = "collector.systemd.unit-whitelist", long = "collector.systemd.unit-whitelist", value_name = "REGEX",
          value_parser = crate::parse::regex, hide = true)]
    pub unit_whitelist: Option<Regex>,

    /// Regexp of systemd units to exclude. Units must both match include and
    /// not match exclude to be included. [default:
    /// .+\.(automount|device|mount|scope|slice)]
    #[arg(id = "collector.systemd.unit-exclude", long = "collector.systemd.unit-exclude", value_name = "REGEX",
          value_parser = crate::parse::regex)]
    pub unit_exclude: Option<Regex>,

    /// DEPRECATED: Use collector.systemd.unit-exclude
    #[arg(id = "collector.systemd.unit-blacklist", long = "collector.systemd.unit-blacklist", value_name = "REGEX",
          value_parser = crate::parse::regex, hide = true)]
    pub unit_blacklist: Option<Regex>,

    /// Establish a private, direct connection to systemd without dbus
    /// (Strongly discouraged since it requires root. For testing purposes
    /// only).
    #[arg(
        id = "collector.systemd.private",
        long = "collector.systemd.private",
        hide = true
    )]
    pub private: bool,

    /// Enables service unit tasks metrics unit_tasks_current and
    /// unit_tasks_max
    #[arg(
        id = "collector.systemd.enable-task-metrics",
        long = "collector.systemd.enable-task-metrics"
    )]
    pub enable_task_metrics: bool,

    /// Enables service unit metric service_restart_total
    #[arg(
        id = "collector.systemd.enable-restarts-metrics",
        long = "collector.systemd.enable-restarts-metrics"
    )]
    pub enable_restarts_metrics: bool,

    /// Enables service unit metric unit_start_time_seconds
    #[arg(
        id = "collector.systemd.enable-start-time-metrics",
        long = "collector.systemd.enable-start-time-metrics"
    )]
    pub enable_start_time_metrics: bool,
}

impl Flags {
    /// The unit filter the include/exclude flags and their deprecated
    /// aliases describe; giving a flag and its alias is an error naming both.
    pub fn unit_filter(&self) -> Result<UnitFilter, String> {
        let include = with_deprecated_alias(
            "collector.systemd.unit-include",
            self.unit_include.as_ref(),
            "collector.systemd.unit-whitelist",
            self.unit_whitelist.as_ref(),
        )?;
        let exclude = with_deprecated_alias(
            "collector.systemd.unit-exclude",
            self.unit_exclude.as_ref(),
            "collector.systemd.unit-blacklist",
            self.unit_blacklist.as_ref(),
        )?;
        UnitFilter::new(
            include.as_ref().map_or(DEFAULT_INCLUDE, Regex::as_str),
            exclude.as_ref().map_or(DEFAULT_EXCLUDE, Regex::as_str),
        )
    }

    fn wanted(&self) -> Wanted {
        Wanted {
            restarts: self.enable_restarts_metrics,
            start_time: self.enable_start_time_metrics,
            tasks: self.enable_task_metrics,
        }
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags: Flags = ctx.flags()?;
    let endpoint = bus::endpoint(
        &ctx.host,
        flags.private,
        std::env::var("DBUS_SYSTEM_BUS_ADDRESS").ok(),
    );
    tracing::info!(collector = "systemd", endpoint = %endpoint, "reading systemd over D-Bus");
    Ok(Box::new(SystemdCollector {
        filter: flags.unit_filter()?,
        wanted: flags.wanted(),
        bus: SystemdBus::new(endpoint)?,
    }))
}

/// Reports the `node_systemd_*` families from one snapshot per scrape.
struct SystemdCollector {
    bus: SystemdBus,
    filter: UnitFilter,
    wanted: Wanted,
}

impl Collector for SystemdCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        self.update_until(host, out, &RunDeadline::after(system_bus::READ_TIMEOUT))
    }

    fn update_until(
        &self,
        _: &Host,
        out: &mut MetricSet,
        deadline: &RunDeadline,
    ) -> Result<(), CollectError> {
        let snapshot = self
            .bus
            .read(&self.filter, self.wanted, deadline)
            .map_err(CollectError::failed)?;
        render(&snapshot, self.wanted, out);
        match &snapshot.system_state {
            Some(Err(err)) => Err(CollectError::failed(format!(
                "couldn't get system state: {err}"
            ))),
            _ => Ok(()),
        }
    }
}

/// Writes a snapshot as node_exporter's families. `wanted` says which
/// optional families were asked for.
fn render(snapshot: &Snapshot, wanted: Wanted, out: &mut MetricSet) {
    let (version, version_label) = parse_version(snapshot.version.as_deref());
    out.family(
        "node_systemd_version",
        "Detected systemd version",
        MetricType::Gauge,
        &["version"],
    )
    .push(&[version_label], version);
    out.family(
        "node_systemd_virtualization_info",
        "Detected virtualization technology",
        MetricType::Gauge,
        &["virtualization_type"],
    )
    .push(
        &[virtualization_type(snapshot.virtualization.as_deref())],
        1.0,
    );

    let units = out.family(
        "node_systemd_units",
        "Summary of systemd unit states",
        MetricType::Gauge,
        &["state"],
    );
    for (state, count) in summarize(&snapshot.units) {
        units.push(&[state], count);
    }

    let unit_state = out.family(
        "node_systemd_unit_state",
        "Systemd unit",
        MetricType::Gauge,
        &["name", "state", "type"],
    );
    for unit in &snapshot.selected {
        let unit_type = unit.unit_type.as_deref().unwrap_or("");
        for state in UNIT_STATES {
            let value = if unit.active_state == state { 1.0 } else { 0.0 };
            unit_state.push(&[unit.name.as_str(), state, unit_type], value);
        }
    }

    per_unit(
        out,
        snapshot,
        Desc::counter(
            "node_systemd_service_restart_total",
            "Service unit count of Restart triggers",
            |u| u.restarts.map(|n| n as f64),
        ),
    );
    if wanted.start_time {
        per_unit(
            out,
            snapshot,
            Desc::gauge(
                "node_systemd_unit_start_time_seconds",
                "Start time of the unit since unix epoch in seconds.",
                |u| {
                    if u.active_state == "active" {
                        u.active_enter_usec.map(usec_to_seconds)
                    } else {
                        Some(0.0)
                    }
                },
            ),
        );
    }
    per_unit(
        out,
        snapshot,
        Desc::gauge(
            "node_systemd_unit_tasks_current",
            "Current number of tasks per Systemd unit",
            |u| bounded(u.tasks_current),
        ),
    );
    per_unit(
        out,
        snapshot,
        Desc::gauge(
            "node_systemd_unit_tasks_max",
            "Maximum number of tasks per Systemd unit",
            |u| bounded(u.tasks_max),
        ),
    );
    per_unit(
        out,
        snapshot,
        Desc::gauge(
            "node_systemd_timer_last_trigger_seconds",
            "Seconds since epoch of last trigger.",
            |u| u.last_trigger_usec.map(usec_to_seconds),
        ),
    );
    per_unit(
        out,
        snapshot,
        Desc::counter(
            "node_systemd_socket_accepted_connections_total",
            "Total number of accepted socket connections",
            |u| u.accepted.map(|n| n as f64),
        ),
    );
    per_unit(
        out,
        snapshot,
        Desc::gauge(
            "node_systemd_socket_current_connections",
            "Current number of socket connections",
            |u| u.connections.map(|n| n as f64),
        ),
    );
    // A gauge despite its name, as node_exporter types it.
    per_unit(
        out,
        snapshot,
        Desc::gauge(
            "node_systemd_socket_refused_connections_total",
            "Total number of refused socket connections",
            |u| u.refused.map(|n| n as f64),
        ),
    );

    if version >= MIN_VERSION_SYSTEM_STATE {
        if let Some(Ok(state)) = &snapshot.system_state {
            out.gauge(
                "node_systemd_system_running",
                "Whether the system is operational (see 'systemctl is-system-running')",
                if state == "running" { 1.0 } else { 0.0 },
            );
        }
    }
}

/// A count, `None` for the `u64::MAX` systemd reports for "no limit" and
/// "not counted".
fn bounded(n: Option<u64>) -> Option<f64> {
    n.filter(|&n| n != u64::MAX).map(|n| n as f64)
}

/// The family `desc` with one `name`-labelled sample per selected unit that
/// has a value; its source is the unit's value, if any.
fn per_unit(
    out: &mut MetricSet,
    snapshot: &Snapshot,
    desc: Desc<fn(&units::UnitDetails) -> Option<f64>>,
) {
    let family = desc.family(out, &["name"]);
    for unit in &snapshot.selected {
        if let Some(v) = (desc.source)(unit) {
            family.push(&[unit.name.as_str()], v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build as build_collector, fixture_host};
    use crate::exposition::Format;
    use crate::metrics::Family;
    use units::{UnitDetails, UnitStatus};

    fn status(name: &str, load: &str, active: &str) -> UnitStatus {
        UnitStatus {
            name: name.into(),
            load_state: load.into(),
            active_state: active.into(),
            path: String::new(),
        }
    }

    fn details(name: &str, active: &str) -> UnitDetails {
        UnitDetails {
            name: name.into(),
            active_state: active.into(),
            ..UnitDetails::default()
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            version: Some("252.22-1~deb12u1".into()),
            virtualization: Some(String::new()),
            system_state: Some(Ok("degraded".into())),
            units: vec![
                status("ssh.service", "loaded", "active"),
                status("broken.service", "loaded", "failed"),
                status("gone.service", "not-found", "inactive"),
                status("dbus.socket", "loaded", "active"),
                status("apt-daily.timer", "loaded", "active"),
                status("-.mount", "loaded", "active"),
            ],
            selected: vec![
                UnitDetails {
                    unit_type: Some("notify".into()),
                    restarts: Some(3),
                    active_enter_usec: Some(1_700_000_000_500_000),
                    tasks_current: Some(4),
                    tasks_max: Some(u64::MAX),
                    ..details("ssh.service", "active")
                },
                UnitDetails {
                    unit_type: Some("simple".into()),
                    restarts: Some(0),
                    tasks_current: Some(u64::MAX),
                    tasks_max: Some(4915),
                    ..details("broken.service", "failed")
                },
                UnitDetails {
                    accepted: Some(12),
                    connections: Some(1),
                    refused: Some(2),
                    active_enter_usec: Some(1_600_000_000_000_000),
                    ..details("dbus.socket", "active")
                },
                UnitDetails {
                    last_trigger_usec: Some(1_700_000_100_000_000),
                    ..details("apt-daily.timer", "active")
                },
            ],
        }
    }

    fn text(families: Vec<Family>) -> String {
        let mut out = Vec::new();
        Format::Text.encode(&families.iter().collect::<Vec<_>>(), &mut out);
        String::from_utf8(out).unwrap()
    }

    fn rendered(snapshot: &Snapshot, wanted: Wanted) -> String {
        let mut set = MetricSet::new();
        render(snapshot, wanted, &mut set);
        text(set.into_sorted())
    }

    fn all_wanted() -> Wanted {
        Wanted {
            restarts: true,
            start_time: true,
            tasks: true,
        }
    }

    #[test]
    fn renders_every_family_with_upstream_names_labels_and_types() {
        let out = rendered(&snapshot(), all_wanted());
        for line in [
            "# HELP node_systemd_unit_state Systemd unit",
            "# TYPE node_systemd_unit_state gauge",
            r#"node_systemd_unit_state{name="ssh.service",state="active",type="notify"} 1"#,
            r#"node_systemd_unit_state{name="ssh.service",state="failed",type="notify"} 0"#,
            r#"node_systemd_unit_state{name="broken.service",state="failed",type="simple"} 1"#,
            r#"node_systemd_unit_state{name="dbus.socket",state="active",type=""} 1"#,
            r#"node_systemd_unit_state{name="dbus.socket",state="inactive",type=""} 0"#,
            "# TYPE node_systemd_units gauge",
            r#"node_systemd_units{state="active"} 4"#,
            r#"node_systemd_units{state="failed"} 1"#,
            r#"node_systemd_units{state="inactive"} 1"#,
            r#"node_systemd_units{state="activating"} 0"#,
            r#"node_systemd_units{state="deactivating"} 0"#,
            "# HELP node_systemd_version Detected systemd version",
            r#"node_systemd_version{version="252.22-1~deb12u1"} 252.22"#,
            r#"node_systemd_virtualization_info{virtualization_type="none"} 1"#,
            "# HELP node_systemd_system_running Whether the system is operational (see 'systemctl is-system-running')",
            "node_systemd_system_running 0",
            "# TYPE node_systemd_service_restart_total counter",
            r#"node_systemd_service_restart_total{name="ssh.service"} 3"#,
            r#"node_systemd_service_restart_total{name="broken.service"} 0"#,
            "# HELP node_systemd_unit_start_time_seconds Start time of the unit since unix epoch in seconds.",
            r#"node_systemd_unit_start_time_seconds{name="ssh.service"} 1.7000000005e+09"#,
            r#"node_systemd_unit_start_time_seconds{name="broken.service"} 0"#,
            r#"node_systemd_unit_start_time_seconds{name="dbus.socket"} 1.6e+09"#,
            r#"node_systemd_unit_tasks_current{name="ssh.service"} 4"#,
            r#"node_systemd_unit_tasks_max{name="broken.service"} 4915"#,
            r#"node_systemd_timer_last_trigger_seconds{name="apt-daily.timer"} 1.7000001e+09"#,
            "# TYPE node_systemd_socket_accepted_connections_total counter",
            r#"node_systemd_socket_accepted_connections_total{name="dbus.socket"} 12"#,
            "# TYPE node_systemd_socket_current_connections gauge",
            r#"node_systemd_socket_current_connections{name="dbus.socket"} 1"#,
            "# TYPE node_systemd_socket_refused_connections_total gauge",
            r#"node_systemd_socket_refused_connections_total{name="dbus.socket"} 2"#,
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
        // u64::MAX means "not counted" or "no limit": no series.
        assert!(!out.contains(r#"node_systemd_unit_tasks_max{name="ssh.service"}"#));
        assert!(!out.contains(r#"node_systemd_unit_tasks_current{name="broken.service"}"#));
        // Units left out by the filter have no per-unit series.
        assert!(!out.contains("gone.service"));
        assert!(!out.contains("-.mount"));
        assert_eq!(
            out.lines()
                .filter(|l| l.starts_with("node_systemd_unit_state{"))
                .count(),
            4 * UNIT_STATES.len()
        );
    }

    #[test]
    fn optional_families_only_when_asked() {
        let mut snapshot = snapshot();
        for unit in &mut snapshot.selected {
            unit.restarts = None;
            unit.tasks_current = None;
            unit.tasks_max = None;
        }
        let out = rendered(&snapshot, Wanted::default());
        for family in [
            "node_systemd_service_restart_total",
            "node_systemd_unit_start_time_seconds",
            "node_systemd_unit_tasks_current",
            "node_systemd_unit_tasks_max",
        ] {
            assert!(!out.contains(family), "{family} in\n{out}");
        }
        assert!(out.contains("node_systemd_socket_accepted_connections_total"));
        assert!(out.contains("node_systemd_timer_last_trigger_seconds"));
    }

    #[test]
    fn running_system_and_bare_metal() {
        let mut snapshot = snapshot();
        snapshot.system_state = Some(Ok("running".into()));
        snapshot.virtualization = Some("kvm".into());
        let out = rendered(&snapshot, Wanted::default());
        assert!(out.contains("\nnode_systemd_system_running 1\n"));
        assert!(out.contains(r#"node_systemd_virtualization_info{virtualization_type="kvm"} 1"#));
    }

    #[test]
    fn old_or_unreadable_manager_facts_fall_back_as_upstream() {
        let mut snapshot = snapshot();
        snapshot.version = None;
        snapshot.virtualization = None;
        snapshot.system_state = None;
        let out = rendered(&snapshot, Wanted::default());
        assert!(
            out.contains(r#"node_systemd_version{version=""} 0"#),
            "{out}"
        );
        assert!(out.contains(r#"virtualization_type="unknown""#));
        assert!(!out.contains("node_systemd_system_running"));
    }

    #[test]
    fn states_beyond_the_five_are_counted_but_match_no_state_series() {
        let mut snapshot = snapshot();
        snapshot
            .units
            .push(status("r.service", "loaded", "reloading"));
        snapshot.selected = vec![details("r.service", "reloading")];
        let out = rendered(&snapshot, Wanted::default());
        assert!(out.contains(r#"node_systemd_units{state="reloading"} 1"#));
        assert_eq!(
            out.lines()
                .filter(|l| l.starts_with("node_systemd_unit_state{") && l.ends_with(" 1"))
                .count(),
            0
        );
    }

    fn filter_of(flags: &[&str]) -> Result<UnitFilter, String> {
        let mut args = vec!["hostwatch"];
        args.extend_from_slice(flags);
        let options = crate::cli::parse(args).map_err(|e| e.to_string())?;
        options.collector_flags::<Flags>().unit_filter()
    }

    #[test]
    fn flags_and_their_deprecated_aliases() {
        let unit = |name: &str| status(name, "loaded", "active");
        let default = filter_of(&[]).unwrap();
        assert!(default.selects(&unit("ssh.service")));
        assert!(default.selects(&unit("multi-user.target")));
        assert!(!default.selects(&unit("user.slice")));

        let include = filter_of(&["--collector.systemd.unit-include=ssh\\.service"]).unwrap();
        assert!(include.selects(&unit("ssh.service")));
        assert!(!include.selects(&unit("cron.service")));

        let whitelist = filter_of(&["--collector.systemd.unit-whitelist=cron\\..*"]).unwrap();
        assert!(whitelist.selects(&unit("cron.service")));
        assert!(!whitelist.selects(&unit("ssh.service")));

        let blacklist = filter_of(&["--collector.systemd.unit-blacklist=ssh\\.service"]).unwrap();
        assert!(!blacklist.selects(&unit("ssh.service")));
        // The alias replaces the default exclusions.
        assert!(blacklist.selects(&unit("user.slice")));

        let err = filter_of(&[
            "--collector.systemd.unit-exclude=a",
            "--collector.systemd.unit-blacklist=b",
        ])
        .unwrap_err();
        assert!(err.contains("mutually exclusive"), "{err}");
        assert!(filter_of(&["--collector.systemd.unit-include=("]).is_err());
    }

    #[test]
    fn boolean_flags_follow_kingpin() {
        let parse = |flags: &[&str]| {
            let mut args = vec!["hostwatch"];
            args.extend_from_slice(flags);
            crate::cli::parse(args).unwrap().collector_flags::<Flags>()
        };
        let flags = parse(&[
            "--collector.systemd.enable-task-metrics",
            "--collector.systemd.enable-restarts-metrics=true",
            "--collector.systemd.enable-start-time-metrics",
            "--no-collector.systemd.enable-start-time-metrics",
            "--collector.systemd.private",
        ]);
        assert_eq!(
            flags.wanted(),
            Wanted {
                restarts: true,
                start_time: false,
                tasks: true
            }
        );
        assert!(flags.private);
        assert_eq!(parse(&[]).wanted(), Wanted::default());
    }

    #[test]
    fn disabled_by_default_and_builds_without_a_bus() {
        const { assert!(!SPEC.default_enabled) };
        let collector = build_collector(&SPEC, fixture_host(), &["--collector.systemd"])
            .expect("building connects to nothing");
        let mut out = MetricSet::new();
        let result = collector.update(&mut out);
        if std::env::var_os("DBUS_SYSTEM_BUS_ADDRESS").is_none() {
            // The fixture root has no bus socket: a failure, not a panic.
            let err = result.unwrap_err();
            assert!(err.message().contains("system_bus_socket"), "{err}");
        }
    }
}
