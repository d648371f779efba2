//! `nvmesubsystem`: NVMe subsystems and the health of their controller
//! paths (NVMe over Fabrics multipath), from
//! `<sysfs>/class/nvme-subsystem/nvme-subsys<N>/`: its `subsysnqn`, `model`,
//! `serial` and `iopolicy`, its controllers (`nvme<M>` links, each with
//! `state`, `transport` and `address`) and its namespace block devices
//! (`nvme<N>n<K>`, the multipath heads).
//!
//! As node_exporter: a path's state is one series per state it knows
//! (`live`, `connecting`, `resetting`, `dead`, `unknown`), `unknown` for a
//! state the kernel names otherwise, and none set for `new` and `deleting`;
//! a controller without its attributes fails the run. Unlike node_exporter,
//! a subsystem without `iopolicy` (kernels built without
//! `CONFIG_NVME_MULTIPATH`) is reported with an empty `iopolicy` label,
//! where node_exporter reports nothing.

use std::fs;
use std::path::Path;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_trimmed, Host};
use crate::kernel::sysfs_value::read_optional;
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "nvmesubsystem",
    default_enabled: false,
    reads: "/sys/class/nvme-subsystem/*/",
    flags: None,
    build: plain::<NvmeSubsystemCollector>,
};

/// Reports the `node_nvmesubsystem_*` families.
#[derive(Default)]
struct NvmeSubsystemCollector;

/// The states `node_nvmesubsystem_path_state` has a series for.
const PATH_STATES: [&str; 5] = ["live", "connecting", "resetting", "dead", "unknown"];

/// One NVMe subsystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NvmeSubsystem {
    /// Its directory name, `nvme-subsys0`.
    pub name: String,
    pub nqn: String,
    pub model: String,
    pub serial: String,
    /// `numa`, `round-robin`, `queue-depth`; empty without multipath.
    pub iopolicy: String,
    pub controllers: Vec<NvmeController>,
    /// Namespace block devices, `nvme0n1`.
    pub namespaces: Vec<String>,
}

/// One controller (path) of a subsystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NvmeController {
    /// `nvme0`.
    pub name: String,
    /// As the kernel writes it: `live`, `connecting`, `deleting (no IO)`.
    pub state: String,
    /// `pcie`, `tcp`, `rdma`, `fc`, `loop`.
    pub transport: String,
}

/// Whether `name` is `<prefix><digits>`.
fn numbered<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let digits_end = name
        .strip_prefix(prefix)?
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    (digits_end > 0).then(|| &name[prefix.len() + digits_end..])
}

/// A controller entry: `nvme` and a number.
pub fn is_controller(name: &str) -> bool {
    numbered(name, "nvme") == Some("")
}

/// A namespace entry: `nvme<N>n<K>`.
pub fn is_namespace(name: &str) -> bool {
    numbered(name, "nvme").and_then(|rest| numbered(rest, "n")) == Some("")
}

/// The state a path's series mark: the kernel's own for the four
/// node_exporter knows, none for the transient `new` and `deleting`, and
/// `unknown` for anything else.
pub fn path_state(kernel_state: &str) -> Option<&'static str> {
    match kernel_state {
        "live" => Some("live"),
        "connecting" => Some("connecting"),
        "resetting" => Some("resetting"),
        "dead" => Some("dead"),
        "new" | "deleting" | "deleting (no IO)" => None,
        _ => Some("unknown"),
    }
}

impl NvmeSubsystem {
    /// Reads the subsystem directory `dir`.
    pub fn read(name: &str, dir: &Path) -> Result<NvmeSubsystem, String> {
        let attribute = |dir: &Path, file: &str| {
            read_trimmed(&dir.join(file)).map_err(|e| format!("reading {file}: {e}"))
        };
        let mut entries: Vec<String> = fs::read_dir(dir)
            .map_err(|e| format!("listing {}: {e}", dir.display()))?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        entries.sort();
        let mut controllers = Vec::new();
        let mut namespaces = Vec::new();
        for entry in entries {
            if is_controller(&entry) {
                let at = dir.join(&entry);
                let read = |file| attribute(&at, file).map_err(|e| format!("{entry}: {e}"));
                controllers.push(NvmeController {
                    state: read("state")?,
                    transport: read("transport")?,
                    name: entry,
                });
            } else if is_namespace(&entry) {
                namespaces.push(entry);
            }
        }
        Ok(NvmeSubsystem {
            name: name.to_string(),
            nqn: attribute(dir, "subsysnqn")?,
            model: attribute(dir, "model")?,
            serial: attribute(dir, "serial")?,
            iopolicy: read_optional(&dir.join("iopolicy"))?.unwrap_or_default(),
            controllers,
            namespaces,
        })
    }
}

/// Reads every `nvme-subsys*` of the class.
fn read_subsystems(host: &Host) -> Result<Vec<NvmeSubsystem>, CollectError> {
    let root = host.sys_path("class/nvme-subsystem");
    let entries = fs::read_dir(&root).map_err(|e| CollectError::io_or_no_data(&root, &e))?;
    let mut subsystems = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("nvme-subsys") {
            continue;
        }
        let subsystem = NvmeSubsystem::read(&name, &entry.path())
            .map_err(|e| CollectError::parse(&entry.path(), e))?;
        subsystems.push(subsystem);
    }
    Ok(subsystems)
}

impl Collector for NvmeSubsystemCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let subsystems = read_subsystems(host)?;
        let info = out.family(
            "node_nvmesubsystem_info",
            "Non-numeric information about an NVMe subsystem.",
            MetricType::Gauge,
            &["subsystem", "nqn", "model", "serial", "iopolicy"],
        );
        for s in &subsystems {
            info.push(&[&s.name, &s.nqn, &s.model, &s.serial, &s.iopolicy], 1.0);
        }
        let namespaces = out.family(
            "node_nvmesubsystem_namespace_info",
            "Maps an NVMe namespace block device to its subsystem.",
            MetricType::Gauge,
            &["subsystem", "device"],
        );
        for s in &subsystems {
            for namespace in &s.namespaces {
                namespaces.push(&[&s.name, namespace], 1.0);
            }
        }
        let states = out.family(
            "node_nvmesubsystem_path_state",
            "Current NVMe controller path state (1 for the current state, 0 for all others).",
            MetricType::Gauge,
            &["subsystem", "controller", "transport", "state"],
        );
        for s in &subsystems {
            for c in &s.controllers {
                let current = path_state(&c.state);
                for state in PATH_STATES {
                    let value = f64::from(u8::from(current == Some(state)));
                    states.push(&[&s.name, &c.name, &c.transport, state], value);
                }
            }
        }
        let paths = out.family(
            "node_nvmesubsystem_paths",
            "Number of controller paths for an NVMe subsystem.",
            MetricType::Gauge,
            &["subsystem"],
        );
        for s in &subsystems {
            paths.push(&[&s.name], s.controllers.len() as f64);
        }
        let live = out.family(
            "node_nvmesubsystem_paths_live",
            "Number of controller paths in live state for an NVMe subsystem.",
            MetricType::Gauge,
            &["subsystem"],
        );
        for s in &subsystems {
            let count = s.controllers.iter().filter(|c| c.state == "live").count();
            live.push(&[&s.name], count as f64);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        build, host_with_sysfs, scrape_fixtures, write_files,
    };

    #[test]
    fn entry_names() {
        for name in ["nvme0", "nvme12"] {
            assert!(is_controller(name) && !is_namespace(name), "{name}");
        }
        for name in ["nvme0n1", "nvme3n12"] {
            assert!(is_namespace(name) && !is_controller(name), "{name}");
        }
        for name in [
            "nvme",
            "nvmex",
            "nvme0c0n1",
            "nvme0n",
            "nvme0n1p1",
            "subsysnqn",
            "nvme-subsys0",
            "power",
        ] {
            assert!(!is_controller(name) && !is_namespace(name), "{name}");
        }
    }

    #[test]
    fn path_states() {
        assert_eq!(path_state("live"), Some("live"));
        assert_eq!(path_state("dead"), Some("dead"));
        assert_eq!(path_state("deleting (no IO)"), None);
        assert_eq!(path_state("new"), None);
        assert_eq!(path_state("unknown state"), Some("unknown"));
        assert_eq!(path_state(""), Some("unknown"));
    }

    #[test]
    fn reads_a_subsystem_of_an_older_kernel() {
        // Without CONFIG_NVME_MULTIPATH: no iopolicy, no namespace heads.
        let dir = tempfile::tempdir().unwrap();
        write_files(
            dir.path(),
            &[
                ("subsysnqn", "nqn.2014.08.org.nvmexpress:144d144dS4EWNF0M123456      Samsung SSD 970 EVO Plus 1TB\n"),
                ("model", "Samsung SSD 970 EVO Plus 1TB            \n"),
                ("serial", "S4EWNF0M123456      \n"),
            ],
        );
        write_files(
            &dir.path().join("nvme0"),
            &[
                ("state", "live\n"),
                ("transport", "pcie\n"),
                ("address", "0000:01:00.0\n"),
            ],
        );
        let s = NvmeSubsystem::read("nvme-subsys0", dir.path()).unwrap();
        assert_eq!(s.model, "Samsung SSD 970 EVO Plus 1TB");
        assert_eq!(s.iopolicy, "");
        assert_eq!(
            s.controllers,
            [NvmeController {
                name: "nvme0".into(),
                state: "live".into(),
                transport: "pcie".into()
            }]
        );
        assert!(s.namespaces.is_empty());
        std::fs::remove_file(dir.path().join("nvme0/transport")).unwrap();
        let err = NvmeSubsystem::read("nvme-subsys0", dir.path()).unwrap_err();
        assert!(err.contains("nvme0") && err.contains("transport"), "{err}");
        std::fs::remove_dir_all(dir.path().join("nvme0")).unwrap();
        std::fs::remove_file(dir.path().join("serial")).unwrap();
        assert!(NvmeSubsystem::read("nvme-subsys0", dir.path()).is_err());
    }

    #[test]
    fn reports_the_fixture_host() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_nvmesubsystem_info Non-numeric information about an NVMe subsystem.",
            r#"node_nvmesubsystem_info{iopolicy="round-robin",model="Linux",nqn="nqn.2014-08.org.nvmexpress:uuid:2d7c5a0e-6f1b-4d8a-9c3e-1b2a3c4d5e6f",serial="a1b2c3d4e5f60718",subsystem="nvme-subsys1"} 1"#,
            r#"node_nvmesubsystem_namespace_info{device="nvme1n1",subsystem="nvme-subsys1"} 1"#,
            r#"node_nvmesubsystem_path_state{controller="nvme1",state="live",subsystem="nvme-subsys1",transport="tcp"} 1"#,
            r#"node_nvmesubsystem_path_state{controller="nvme2",state="connecting",subsystem="nvme-subsys1",transport="tcp"} 1"#,
            r#"node_nvmesubsystem_path_state{controller="nvme2",state="live",subsystem="nvme-subsys1",transport="tcp"} 0"#,
            r#"node_nvmesubsystem_path_state{controller="nvme0",state="live",subsystem="nvme-subsys0",transport="pcie"} 1"#,
            r#"node_nvmesubsystem_paths{subsystem="nvme-subsys1"} 2"#,
            r#"node_nvmesubsystem_paths_live{subsystem="nvme-subsys1"} 1"#,
            r#"node_nvmesubsystem_paths_live{subsystem="nvme-subsys0"} 1"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
    }

    #[test]
    fn missing_class_is_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let built = build(&SPEC, host_with_sysfs(dir.path()), &[]).unwrap();
        let err = built.run().1.unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::NoData);
    }
}
