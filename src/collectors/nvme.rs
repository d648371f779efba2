//! `nvme`: NVMe controllers from `<sysfs>/class/nvme/nvme*/` and their
//! namespaces (`nvme<N>c<C>n<I>/`), as node_exporter reports them.
//!
//! A controller's model, serial number and controller id are fixed while it
//! is attached, so they are read once per controller; its state (`live`,
//! `resetting`, `dead`…) and firmware revision can change and are read at
//! every scrape, as are the namespaces' sizes.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::Mutex;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, read_trimmed, Host};
use crate::metrics::{Desc, MetricSet, MetricType};
use crate::unpoisoned::lock;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "nvme",
    default_enabled: true,
    reads: "/sys/class/nvme/*/",
    flags: None,
    build,
};

fn build(_ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(NvmeCollector {
        identities: Mutex::new(HashMap::new()),
    }))
}

/// Reports `node_nvme_info` and `node_nvme_namespace_*`.
struct NvmeCollector {
    /// What was read once of each controller present, by its name.
    identities: Mutex<HashMap<String, ControllerIdentity>>,
}

/// What cannot change while a controller is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerIdentity {
    /// `model`, trimmed.
    pub model: String,
    /// `serial`, trimmed.
    pub serial: String,
    /// `cntlid`, trimmed; empty on kernels without the attribute.
    pub cntlid: String,
}

/// One namespace of a controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// The namespace id: the number after `n` in `nvme0c0n1`.
    pub nsid: String,
    /// `ana_state` (multipath), or `unknown` where the kernel has none.
    pub ana_state: String,
    /// `size`, as the kernel writes it (512-byte sectors).
    pub size: u64,
    /// `nuse`: blocks in use.
    pub nuse: u64,
    /// `queue/logical_block_size`, in bytes.
    pub logical_block_size: u64,
}

impl Namespace {
    /// The namespace id of a namespace directory name, `nvme<N>c<C>n<I>`
    /// (the path through controller `C` to namespace `I`); `None` for other
    /// entries.
    pub fn id_of(dir_name: &str) -> Option<&str> {
        let rest = dir_name.strip_prefix("nvme")?;
        let rest = skip_digits(rest)?.strip_prefix('c')?;
        let nsid_start = skip_digits(rest)?.strip_prefix('n')?;
        let nsid_len = nsid_start
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(nsid_start.len());
        (nsid_len > 0).then(|| &nsid_start[..nsid_len])
    }

    /// Reads the namespace directory `dir` named `nsid`. Numbers that
    /// cannot be read or parsed count as 0, as node_exporter has them.
    pub fn read(nsid: &str, dir: &Path) -> Namespace {
        let number = |file: &str| {
            read_sysfs_attribute(&dir.join(file))
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        let ana_state =
            read_trimmed(&dir.join("ana_state")).unwrap_or_else(|_| "unknown".to_string());
        Namespace {
            nsid: nsid.to_string(),
            ana_state,
            size: number("size"),
            nuse: number("nuse"),
            logical_block_size: number("queue/logical_block_size"),
        }
    }

    /// `blocks` logical blocks in bytes.
    fn bytes(&self, blocks: u64) -> f64 {
        blocks.saturating_mul(self.logical_block_size) as f64
    }
}

/// `text` after its leading digits, of which there must be one at least.
fn skip_digits(text: &str) -> Option<&str> {
    let rest = text.trim_start_matches(|c: char| c.is_ascii_digit());
    (rest.len() < text.len()).then_some(rest)
}

/// Reads one value of a [`Namespace`].
type NamespaceValue = fn(&Namespace) -> f64;

/// The namespace gauges, named after `node_nvme_`; each source is the
/// value's function of the namespace.
///
/// node_exporter multiplies `size` by the logical block size for both its
/// capacity and its size, although the kernel counts `size` in 512-byte
/// sectors; the same numbers are reported here.
const NAMESPACE_GAUGES: [Desc<NamespaceValue>; 4] = [
    Desc::gauge(
        "namespace_capacity_bytes",
        "Capacity of the NVMe namespace in bytes. Computed as namespace_size * namespace_logical_block_size",
        |ns| ns.bytes(ns.size),
    ),
    Desc::gauge(
        "namespace_size_bytes",
        "Size of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/size",
        |ns| ns.bytes(ns.size),
    ),
    Desc::gauge(
        "namespace_used_bytes",
        "Used space of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/nuse",
        |ns| ns.bytes(ns.nuse),
    ),
    Desc::gauge(
        "namespace_logical_block_size_bytes",
        "Logical block size of the NVMe namespace in bytes. Usually 4Kb. Available in /sys/class/nvme/<device>/<namespace>/queue/logical_block_size",
        |ns| ns.logical_block_size as f64,
    ),
];

/// One controller as reported in one scrape.
struct Controller {
    name: String,
    identity: ControllerIdentity,
    firmware_revision: String,
    state: String,
    namespaces: Vec<Namespace>,
}

/// Reads a required attribute of a controller, trimmed.
fn attribute(dir: &Path, file: &str) -> io::Result<String> {
    read_trimmed(&dir.join(file))
}

impl ControllerIdentity {
    /// Reads the fixed attributes of the controller directory `dir`.
    pub fn read(dir: &Path) -> io::Result<ControllerIdentity> {
        let cntlid = match attribute(dir, "cntlid") {
            Ok(cntlid) => cntlid,
            Err(err) if err.kind() == io::ErrorKind::NotFound => String::new(),
            Err(err) => return Err(err),
        };
        Ok(ControllerIdentity {
            model: attribute(dir, "model")?,
            serial: attribute(dir, "serial")?,
            cntlid,
        })
    }
}

impl NvmeCollector {
    fn read_controller(&self, name: &str, dir: &Path) -> io::Result<Controller> {
        let identity = {
            let mut identities = lock(&self.identities);
            match identities.get(name) {
                Some(identity) => identity.clone(),
                None => {
                    let identity = ControllerIdentity::read(dir)?;
                    identities.insert(name.to_string(), identity.clone());
                    identity
                }
            }
        };
        let mut namespaces = Vec::new();
        for entry in fs::read_dir(dir)?.filter_map(Result::ok) {
            let file_name = entry.file_name();
            let Some(nsid) = file_name.to_str().and_then(Namespace::id_of) else {
                continue;
            };
            namespaces.push(Namespace::read(nsid, &entry.path()));
        }
        namespaces.sort_by(|a, b| a.nsid.cmp(&b.nsid));
        Ok(Controller {
            name: name.to_string(),
            identity,
            firmware_revision: attribute(dir, "firmware_rev")?,
            state: attribute(dir, "state")?,
            namespaces,
        })
    }

    fn read_controllers(&self, host: &Host) -> Result<Vec<Controller>, CollectError> {
        let root = host.sys_path("class/nvme");
        let entries = fs::read_dir(&root).map_err(|e| CollectError::io_or_no_data(&root, &e))?;
        let mut controllers = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let controller = self.read_controller(&name, &entry.path()).map_err(|err| {
                CollectError::failed(format!(
                    "error obtaining NVMe class info: reading {}: {err}",
                    entry.path().display()
                ))
            })?;
            controllers.push(controller);
        }
        // A controller that went away is read afresh if its name returns:
        // it may be another drive.
        lock(&self.identities).retain(|name, _| controllers.iter().any(|c| &c.name == name));
        Ok(controllers)
    }
}

impl Collector for NvmeCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let controllers = self.read_controllers(host)?;
        let info = out.family(
            "node_nvme_info",
            "Non-numeric data from /sys/class/nvme/<device>, value is always 1.",
            MetricType::Gauge,
            &[
                "device",
                "firmware_revision",
                "model",
                "serial",
                "state",
                "cntlid",
            ],
        );
        for c in &controllers {
            info.push(
                &[
                    c.name.as_str(),
                    &c.firmware_revision,
                    &c.identity.model,
                    &c.identity.serial,
                    &c.state,
                    &c.identity.cntlid,
                ],
                1.0,
            );
        }
        let namespace_info = out.family(
            "node_nvme_namespace_info",
            "Information about NVMe namespaces. Value is always 1",
            MetricType::Gauge,
            &["device", "nsid", "ana_state"],
        );
        for c in &controllers {
            for ns in &c.namespaces {
                namespace_info.push(&[c.name.as_str(), &ns.nsid, &ns.ana_state], 1.0);
            }
        }
        for gauge in &NAMESPACE_GAUGES {
            let family = out.family(
                format!("node_nvme_{}", gauge.name),
                gauge.help,
                gauge.metric_type,
                &["device", "nsid"],
            );
            for c in &controllers {
                for ns in &c.namespaces {
                    family.push(&[c.name.as_str(), &ns.nsid], (gauge.source)(ns));
                }
            }
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
    use crate::collectors::ErrorKind;

    #[test]
    fn namespace_directory_names() {
        assert_eq!(Namespace::id_of("nvme0c0n1"), Some("1"));
        assert_eq!(Namespace::id_of("nvme12c3n45"), Some("45"));
        assert_eq!(Namespace::id_of("nvme0c0n1p1"), Some("1"));
        assert_eq!(Namespace::id_of("nvme0n1"), None);
        assert_eq!(Namespace::id_of("nvme0c0n"), None);
        assert_eq!(Namespace::id_of("nvmec0n1"), None);
        assert_eq!(Namespace::id_of("power"), None);
        assert_eq!(Namespace::id_of("ng0n1"), None);
    }

    #[test]
    fn namespace_gauges_in_bytes() {
        let ns = Namespace {
            nsid: "1".to_string(),
            ana_state: "optimized".to_string(),
            size: 1_000_215_216,
            nuse: 123_456,
            logical_block_size: 512,
        };
        assert_eq!(
            NAMESPACE_GAUGES.map(|g| (g.name, (g.source)(&ns))),
            [
                ("namespace_capacity_bytes", 512_110_190_592.0),
                ("namespace_size_bytes", 512_110_190_592.0),
                ("namespace_used_bytes", 63_209_472.0),
                ("namespace_logical_block_size_bytes", 512.0),
            ]
        );
    }

    #[test]
    fn a_namespace_without_ana_or_sizes() {
        let dir = tempfile::tempdir().unwrap();
        write_files(dir.path(), &[("size", "garbage\n")]);
        let ns = Namespace::read("2", dir.path());
        assert_eq!(ns.ana_state, "unknown");
        assert_eq!((ns.size, ns.nuse, ns.logical_block_size), (0, 0, 0));
    }

    #[test]
    fn controllers_without_namespaces_or_cntlid() {
        let sys = tempfile::tempdir().unwrap();
        write_files(
            &sys.path().join("class/nvme/nvme3"),
            &[
                ("model", "Old Drive                               \n"),
                ("serial", "  S123  \n"),
                ("firmware_rev", "1.0\n"),
                ("state", "live\n"),
            ],
        );
        let host = host_with_sysfs(sys.path());
        let collector = build(&SPEC, host, &[]).unwrap();
        let text = collector.render();
        assert!(text.contains(
            r#"node_nvme_info{cntlid="",device="nvme3",firmware_revision="1.0",model="Old Drive",serial="S123",state="live"} 1"#
        ), "{text}");
        assert!(!text.contains("namespace"), "{text}");
    }

    #[test]
    fn state_is_read_at_every_scrape() {
        let sys = tempfile::tempdir().unwrap();
        let dir = sys.path().join("class/nvme/nvme0");
        write_files(
            &dir,
            &[
                ("model", "M\n"),
                ("serial", "S\n"),
                ("cntlid", "1\n"),
                ("firmware_rev", "1.0\n"),
                ("state", "live\n"),
            ],
        );
        let host = host_with_sysfs(sys.path());
        let collector = build(&SPEC, host, &[]).unwrap();
        assert!(collector.render().contains(r#"state="live""#));
        write_files(&dir, &[("state", "resetting\n"), ("model", "changed\n")]);
        let text = collector.render();
        assert!(text.contains(r#"state="resetting""#), "{text}");
        assert!(text.contains(r#"model="M""#), "model is read once: {text}");
    }

    #[test]
    fn a_controller_missing_its_state_fails() {
        let sys = tempfile::tempdir().unwrap();
        write_files(
            &sys.path().join("class/nvme/nvme0"),
            &[("model", "M\n"), ("serial", "S\n")],
        );
        let host = host_with_sysfs(sys.path());
        let collector = build(&SPEC, host, &[]).unwrap();
        let (_, result) = collector.run();
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Failed);
    }

    #[test]
    fn no_nvme_class_is_no_data() {
        let host = host_with_sysfs(Path::new("/nonexistent/sys"));
        let collector = build(&SPEC, host, &[]).unwrap();
        let (_, result) = collector.run();
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
    }

    #[test]
    fn fixture_controllers() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_nvme_info Non-numeric data from /sys/class/nvme/<device>, value is always 1.",
            r#"node_nvme_info{cntlid="1",device="nvme0",firmware_revision="4B2QGXA7",model="Samsung SSD 980 PRO 1TB",serial="S5GXNX0T123456A",state="live"} 1"#,
            r#"node_nvme_namespace_info{ana_state="unknown",device="nvme0",nsid="1"} 1"#,
            r#"node_nvme_namespace_used_bytes{device="nvme0",nsid="1"} 2.097152e+11"#,
            r#"node_nvme_namespace_logical_block_size_bytes{device="nvme0",nsid="1"} 512"#,
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }
}
