//! The golden run: the agent on the fixture host tree with every collector
//! the tree can serve enabled, and the flags that turn on each collector's
//! optional metrics. The end-to-end golden test and the metrics reference
//! both start it.

use super::{Agent, FIXTURE_TREE};

/// The golden run's flags besides [`FIXTURE_TREE`] and the
/// `--collector.<name>` of every collector disabled by default (added from
/// the registry): the flags that turn on optional metrics of a collector.
pub const GOLDEN_FLAGS: &[&str] = &[
    "--collector.cpu.info",
    "--collector.cpu.info.flags-include=^(aes|avx2?|sse4_2)$",
    "--collector.cpu.info.bugs-include=^(spectre_v1|mds)$",
    "--collector.bcache.priorityStats",
    "--collector.cgroupstats.io",
    // The fixture's interface names are asked of the kernel in this test's
    // own network namespace; only one that cannot exist here keeps the
    // output independent of the machine (the ioctls answer ENODEV).
    "--collector.ethtool.device-include=^veth3f2a1b7$",
    // Names from the fixture's <rootfs>/usr/share/misc/pci.ids.
    "--collector.pcidevice.names",
    // The same for qdiscs, which rtnetlink lists for this test's namespace.
    "--collector.qdisc.device-include=^veth3f2a1b7$",
    "--collector.stat.softirq",
    "--collector.sysctl.include=vm.swappiness",
    "--collector.sysctl.include=net.ipv4.tcp_rmem:min,default,max",
    "--collector.sysctl.include=net.ipv4.tcp_wmem",
    "--collector.sysctl.include-info=kernel.seccomp.actions_avail",
    "--collector.textfile.directory=tests/fixtures/textfile",
];

/// The modification time given to the textfile fixtures before each run, as
/// a checkout leaves them with arbitrary ones and `node_textfile_mtime_seconds`
/// reports them.
pub const TEXTFILE_MTIME: u64 = 1_700_000_000;

/// Collectors that read a live service rather than files, so the fixture
/// tree cannot serve them: left out of the golden run and tested by their
/// own scripts under `tests/scripts/` (systemd and logind: `40-systemd.sh`),
/// or, for wifi, on nl80211 messages in its unit tests, as test machines
/// have no wireless device and a developer's would change the output.
pub const LIVE_SERVICE_COLLECTORS: &[&str] = &["logind", "systemd", "wifi"];

/// The registry's collectors the golden run enables.
pub fn golden_collectors() -> impl Iterator<Item = &'static hostwatch::collectors::CollectorSpec> {
    hostwatch::collectors::registry::ALL
        .iter()
        .filter(|spec| !LIVE_SERVICE_COLLECTORS.contains(&spec.name))
}

/// The full argument list of the golden run.
pub fn golden_args() -> Vec<String> {
    let optional_collectors = golden_collectors()
        .filter(|spec| !spec.default_enabled)
        .map(|spec| format!("--collector.{}", spec.name));
    FIXTURE_TREE
        .iter()
        .chain(GOLDEN_FLAGS)
        .map(|s| s.to_string())
        .chain(optional_collectors)
        .collect()
}

/// Starts the golden run on a free loopback port.
pub fn start() -> Agent {
    start_with(&[])
}

/// Starts the golden run with `extra` flags (such as the format offered)
/// on a free loopback port.
pub fn start_with(extra: &[&str]) -> Agent {
    pin_textfile_mtimes();
    let mut args = golden_args();
    args.extend(extra.iter().map(|flag| flag.to_string()));
    // A fixed zone, so that time-zone metrics do not follow the test machine.
    Agent::start_with_env(&args, &[("TZ", "UTC")])
}

fn pin_textfile_mtimes() {
    let mtime = std::time::UNIX_EPOCH + std::time::Duration::from_secs(TEXTFILE_MTIME);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/textfile");
    for entry in std::fs::read_dir(&dir).expect("textfile fixtures") {
        let path = entry.expect("directory entry").path();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(mtime))
            .unwrap_or_else(|e| panic!("setting the mtime of {}: {e}", path.display()));
    }
}
