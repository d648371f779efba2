//! `uname`: `node_uname_info`, the kernel's identity as labels.
//!
//! node_exporter asks the uname(2) system call. hostwatch reads the same
//! strings from `<procfs>/sys/kernel/{ostype,osrelease,version,hostname,
//! domainname,arch}` and falls back, field by field, to uname(2) when a file
//! is missing or unreadable (`arch` exists only since Linux 6.1).
//!
//! Why files first: with `--path.procfs` pointing at another tree (a test
//! fixture, a captured host) the labels describe that tree, not the machine
//! running the agent, which makes them testable and consistent with every
//! other collector. On a live host both sources agree: the kernel answers
//! these sysctls, like uname(2), from the UTS namespace of the *reading*
//! process, whichever procfs mount is read. So in a pod the host's node name
//! is reported only when the pod shares the host's UTS namespace, which
//! `hostNetwork: true` (as node_exporter's DaemonSets set it) implies.
//!
//! The host and domain names are read on every scrape, since they can
//! change at run time; the kernel's name, release, version and machine at
//! the first scrape only.

use std::sync::OnceLock;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "uname",
    default_enabled: true,
    reads: "/proc/sys/kernel/{ostype,osrelease,version,hostname,domainname,arch}, else uname(2)",
    flags: None,
    build,
};

fn build(_ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(UnameCollector {
        kernel: OnceLock::new(),
    }))
}

/// Reports `node_uname_info`.
struct UnameCollector {
    /// The first reading, whose kernel fields (see [`Field::is_fixed`])
    /// stand for every later one.
    kernel: OnceLock<Uname>,
}

/// The six strings of uname(2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Uname {
    /// Operating system name, `Linux`.
    pub sysname: String,
    /// Kernel release, e.g. `6.1.0-18-amd64`.
    pub release: String,
    /// Kernel build version, e.g. `#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1`.
    pub version: String,
    /// Hardware name, e.g. `x86_64`.
    pub machine: String,
    /// Host name.
    pub nodename: String,
    /// NIS domain name, `(none)` when unset.
    pub domainname: String,
}

/// Which uname field each `<procfs>/sys/kernel` file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Sysname,
    Release,
    Version,
    Machine,
    Nodename,
    Domainname,
}

const FIELD_FILES: [(Field, &str); 6] = [
    (Field::Sysname, "sys/kernel/ostype"),
    (Field::Release, "sys/kernel/osrelease"),
    (Field::Version, "sys/kernel/version"),
    (Field::Machine, "sys/kernel/arch"),
    (Field::Nodename, "sys/kernel/hostname"),
    (Field::Domainname, "sys/kernel/domainname"),
];

impl Field {
    /// Whether the field names the running kernel (its name, release,
    /// version and machine), which cannot change before a reboot, and a
    /// reboot restarts the agent: read once, not every scrape. The host and
    /// domain names can be changed at any time.
    fn is_fixed(self) -> bool {
        matches!(
            self,
            Field::Sysname | Field::Release | Field::Version | Field::Machine
        )
    }
}

impl Uname {
    /// The running kernel's answer to uname(2).
    pub fn from_syscall() -> Result<Uname, CollectError> {
        // SAFETY: utsname is plain old data (arrays of c_char), for which all
        // zeroes is a valid value, and uname only writes into it.
        let mut raw: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: `raw` is a valid, writable utsname.
        if unsafe { libc::uname(&mut raw) } != 0 {
            let err = std::io::Error::last_os_error();
            return Err(CollectError::failed(format!("uname(2): {err}")));
        }
        Ok(Uname {
            sysname: utsname_string(&raw.sysname),
            release: utsname_string(&raw.release),
            version: utsname_string(&raw.version),
            machine: utsname_string(&raw.machine),
            nodename: utsname_string(&raw.nodename),
            domainname: utsname_string(&raw.domainname),
        })
    }

    fn field_mut(&mut self, field: Field) -> &mut String {
        match field {
            Field::Sysname => &mut self.sysname,
            Field::Release => &mut self.release,
            Field::Version => &mut self.version,
            Field::Machine => &mut self.machine,
            Field::Nodename => &mut self.nodename,
            Field::Domainname => &mut self.domainname,
        }
    }

    fn field(&self, field: Field) -> &str {
        match field {
            Field::Sysname => &self.sysname,
            Field::Release => &self.release,
            Field::Version => &self.version,
            Field::Machine => &self.machine,
            Field::Nodename => &self.nodename,
            Field::Domainname => &self.domainname,
        }
    }
}

/// The value of a `/proc/sys/kernel` string such as `hostname`: the file's
/// text without the newline the kernel ends it with. Inner spaces are kept
/// (`version` has them), and so is anything else: uname(2) would return the
/// same bytes.
pub fn sysctl_string(text: &str) -> String {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.trim_end_matches('\0').to_string()
}

/// A NUL-terminated utsname field as a string; invalid UTF-8 is replaced.
fn utsname_string(field: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = field
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl UnameCollector {
    /// Reads every field from its file; the fields whose file cannot be read
    /// come from uname(2), asked at most once.
    fn read(&self, host: &Host) -> Result<Uname, CollectError> {
        let known = self.kernel.get();
        let mut uname = known.cloned().unwrap_or_default();
        let mut syscall: Option<Uname> = None;
        for (field, file) in FIELD_FILES {
            if known.is_some() && field.is_fixed() {
                continue;
            }
            let value = match read_sysfs_attribute(&host.proc_path(file)) {
                Ok(text) => sysctl_string(&text),
                Err(_) => {
                    let fallback = match &syscall {
                        Some(uname) => uname,
                        None => syscall.insert(Uname::from_syscall()?),
                    };
                    fallback.field(field).to_string()
                }
            };
            *uname.field_mut(field) = value;
        }
        if known.is_none() {
            let _ = self.kernel.set(uname.clone());
        }
        Ok(uname)
    }
}

impl Collector for UnameCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let uname = self.read(host)?;
        out.family(
            "node_uname_info",
            "Labeled system information as provided by the uname system call.",
            MetricType::Gauge,
            &[
                "sysname",
                "release",
                "version",
                "machine",
                "nodename",
                "domainname",
            ],
        )
        .push(
            &[
                &uname.sysname,
                &uname.release,
                &uname.version,
                &uname.machine,
                &uname.nodename,
                &uname.domainname,
            ],
            1.0,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{host_with_procfs, run, scrape_fixtures};

    #[test]
    fn sysctl_strings_lose_only_the_final_newline() {
        assert_eq!(sysctl_string("Linux\n"), "Linux");
        assert_eq!(
            sysctl_string("#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)\n"),
            "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"
        );
        assert_eq!(sysctl_string("(none)\n"), "(none)");
        assert_eq!(sysctl_string("no-newline"), "no-newline");
        assert_eq!(sysctl_string(""), "");
        assert_eq!(sysctl_string("\n"), "");
        assert_eq!(sysctl_string(" spaced \n"), " spaced ");
    }

    #[test]
    fn syscall_answers_this_machine() {
        let uname = Uname::from_syscall().unwrap();
        assert_eq!(uname.sysname, "Linux");
        assert!(!uname.release.is_empty());
        assert!(!uname.machine.is_empty());
    }

    #[test]
    fn fixture_tree_gives_its_own_labels() {
        let text = scrape_fixtures(&SPEC, &[]);
        assert_eq!(
            text,
            "# HELP node_uname_info Labeled system information as provided by the uname system call.\n\
             # TYPE node_uname_info gauge\n\
             node_uname_info{domainname=\"(none)\",machine=\"x86_64\",nodename=\"vm\",\
             release=\"6.18.44-fc-v769\",sysname=\"Linux\",version=\"#1 SMP PREEMPT_DYNAMIC @0\"} 1\n"
        );
    }

    #[test]
    fn missing_files_fall_back_to_the_syscall_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let kernel = dir.path().join("sys/kernel");
        std::fs::create_dir_all(&kernel).unwrap();
        std::fs::write(kernel.join("hostname"), "node-7\n").unwrap();
        std::fs::write(kernel.join("osrelease"), "5.10.0-28-amd64\n").unwrap();
        let host = host_with_procfs(dir.path());
        let collector = UnameCollector {
            kernel: OnceLock::new(),
        };
        let uname = collector.read(&host).unwrap();
        let real = Uname::from_syscall().unwrap();
        assert_eq!(uname.nodename, "node-7");
        assert_eq!(uname.release, "5.10.0-28-amd64");
        assert_eq!(uname.sysname, real.sysname);
        assert_eq!(uname.version, real.version);
        assert_eq!(uname.machine, real.machine);
        assert_eq!(uname.domainname, real.domainname);
    }

    #[test]
    fn kernel_fields_are_read_once_and_host_names_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let kernel = dir.path().join("sys/kernel");
        std::fs::create_dir_all(&kernel).unwrap();
        for (file, text) in [
            ("ostype", "Linux\n"),
            ("osrelease", "6.1.0-1\n"),
            ("version", "#1 SMP\n"),
            ("arch", "x86_64\n"),
            ("hostname", "node-1\n"),
            ("domainname", "(none)\n"),
        ] {
            std::fs::write(kernel.join(file), text).unwrap();
        }
        let host = host_with_procfs(dir.path());
        let collector = UnameCollector {
            kernel: OnceLock::new(),
        };
        let first = collector.read(&host).unwrap();
        std::fs::write(kernel.join("osrelease"), "6.9.0-9\n").unwrap();
        std::fs::write(kernel.join("hostname"), "node-2\n").unwrap();
        let second = collector.read(&host).unwrap();
        assert_eq!(second.release, "6.1.0-1", "kept from the first reading");
        assert_eq!(second.nodename, "node-2", "read again");
        assert_eq!(
            Uname {
                nodename: first.nodename.clone(),
                ..second
            },
            first
        );
    }

    #[test]
    fn no_procfs_at_all_is_the_syscall() {
        let host = host_with_procfs(std::path::Path::new("/nonexistent/proc"));
        let collector = UnameCollector {
            kernel: OnceLock::new(),
        };
        assert_eq!(
            collector.read(&host).unwrap(),
            Uname::from_syscall().unwrap()
        );
        let (families, result) = run(&collector, &host);
        result.unwrap();
        assert_eq!(families.len(), 1);
        assert_eq!(families[0].samples()[0].value, 1.0);
    }

    #[test]
    fn garbage_bytes_become_labels_without_failing() {
        let dir = tempfile::tempdir().unwrap();
        let kernel = dir.path().join("sys/kernel");
        std::fs::create_dir_all(&kernel).unwrap();
        std::fs::write(kernel.join("hostname"), b"h\xffst\"\n").unwrap();
        let host = host_with_procfs(dir.path());
        let collector = UnameCollector {
            kernel: OnceLock::new(),
        };
        assert_eq!(collector.read(&host).unwrap().nodename, "h\u{fffd}st\"");
    }
}
