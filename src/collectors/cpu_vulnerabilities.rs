//! `cpu_vulnerabilities`: the kernel's view of each CPU vulnerability from
//! `<sysfs>/devices/system/cpu/vulnerabilities/*`, as
//! `node_cpu_vulnerabilities_info{codename,state,mitigation} 1`.
//!
//! `state` is `not affected`, `vulnerable`, `mitigation` or `unknown`, from
//! the start of the file (any case); `mitigation` is the rest of the text
//! after its first word. Text that starts with none of those (older
//! kernels' `Processor vulnerable`, `KVM: ...`) is `unknown` with the whole
//! text as `mitigation`.

use std::fs;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "cpu_vulnerabilities",
    default_enabled: false,
    reads: "/sys/devices/system/cpu/vulnerabilities/*",
    flags: None,
    build: plain::<CpuVulnerabilitiesCollector>,
};

/// Reports `node_cpu_vulnerabilities_info`.
#[derive(Default)]
struct CpuVulnerabilitiesCollector;

/// What the kernel says of the CPU and one vulnerability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VulnerabilityState {
    /// `Not affected`.
    NotAffected,
    /// `Vulnerable[: how]`.
    Vulnerable,
    /// `Mitigation: how`.
    Mitigation,
    /// `Unknown: why`, or text the kernel documentation does not list.
    Unknown,
}

impl VulnerabilityState {
    /// The `state` label value, as node_exporter writes it.
    pub fn label(self) -> &'static str {
        match self {
            VulnerabilityState::NotAffected => "not affected",
            VulnerabilityState::Vulnerable => "vulnerable",
            VulnerabilityState::Mitigation => "mitigation",
            VulnerabilityState::Unknown => "unknown",
        }
    }
}

/// One file of the `vulnerabilities` directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vulnerability {
    /// The file name: `spectre_v2`, `meltdown`, ...
    pub codename: String,
    /// The state the text starts with.
    pub state: VulnerabilityState,
    /// What follows the state word (`Retpolines; STIBP: disabled`), with
    /// runs of whitespace made single spaces; empty when nothing follows.
    pub mitigation: String,
}

impl Vulnerability {
    /// Interprets the text of vulnerability file `codename`. Never fails:
    /// text in no known form is kept whole, as `unknown`.
    pub fn parse(codename: &str, text: &str) -> Vulnerability {
        let text = text.trim();
        let lower = text.to_lowercase();
        let known = [
            ("not affected", VulnerabilityState::NotAffected),
            ("vulnerable", VulnerabilityState::Vulnerable),
            ("mitigation", VulnerabilityState::Mitigation),
            ("unknown", VulnerabilityState::Unknown),
        ]
        .into_iter()
        .find(|(prefix, _)| lower.starts_with(prefix));
        let (state, mitigation) = match known {
            Some((_, VulnerabilityState::NotAffected)) => {
                (VulnerabilityState::NotAffected, String::new())
            }
            Some((_, state)) => {
                let words: Vec<&str> = text.split_whitespace().skip(1).collect();
                (state, words.join(" "))
            }
            None => (VulnerabilityState::Unknown, text.to_string()),
        };
        Vulnerability {
            codename: codename.to_string(),
            state,
            mitigation,
        }
    }
}

impl Collector for CpuVulnerabilitiesCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let dir = host.sys_path("devices/system/cpu/vulnerabilities");
        let entries = fs::read_dir(&dir).map_err(|e| CollectError::io_or_no_data(&dir, &e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| CollectError::io(&dir, &e))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        let family = out.family(
            "node_cpu_vulnerabilities_info",
            "Details of each CPU vulnerability reported by sysfs. The value of the series is an \
             int encoded state of the vulnerability. The same state is stored as a string in the \
             label",
            MetricType::Gauge,
            &["codename", "state", "mitigation"],
        );
        for name in names {
            let path = dir.join(&name);
            let text = read_sysfs_attribute(&path).map_err(|e| CollectError::io(&path, &e))?;
            let vulnerability = Vulnerability::parse(&name, &text);
            family.push(
                &[
                    vulnerability.codename.as_str(),
                    vulnerability.state.label(),
                    &vulnerability.mitigation,
                ],
                1.0,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{run, scrape_fixtures, write_files};
    use crate::collectors::ErrorKind;
    use VulnerabilityState::*;

    fn parsed(text: &str) -> (VulnerabilityState, String) {
        let v = Vulnerability::parse("x", text);
        (v.state, v.mitigation)
    }

    #[test]
    fn this_machines_texts() {
        assert_eq!(parsed("Not affected\n"), (NotAffected, String::new()));
        assert_eq!(parsed("Vulnerable\n"), (Vulnerable, String::new()));
        assert_eq!(
            parsed("Mitigation: Retpolines; STIBP: disabled; RSB filling; PBRSB-eIBRS: Not affected; BHI: Retpoline\n"),
            (
                Mitigation,
                "Retpolines; STIBP: disabled; RSB filling; PBRSB-eIBRS: Not affected; BHI: Retpoline"
                    .to_string()
            )
        );
    }

    #[test]
    fn other_kernels_texts() {
        assert_eq!(
            parsed("Vulnerable: Clear CPU buffers attempted, no microcode; SMT vulnerable\n"),
            (
                Vulnerable,
                "Clear CPU buffers attempted, no microcode; SMT vulnerable".to_string()
            )
        );
        assert_eq!(
            parsed("Unknown: Dependent on hypervisor status\n"),
            (Unknown, "Dependent on hypervisor status".to_string())
        );
        // 4.15-era text and KVM's itlb_multihit text have no known prefix.
        assert_eq!(
            parsed("Processor vulnerable\n"),
            (Unknown, "Processor vulnerable".to_string())
        );
        assert_eq!(
            parsed("KVM: Mitigation: Split huge pages\n"),
            (Unknown, "KVM: Mitigation: Split huge pages".to_string())
        );
        assert_eq!(
            parsed("MITIGATION:  PTI\n"),
            (Mitigation, "PTI".to_string())
        );
    }

    #[test]
    fn garbage_and_empty_text_are_unknown() {
        assert_eq!(parsed(""), (Unknown, String::new()));
        assert_eq!(
            parsed("\u{fffd}\u{fffd}"),
            (Unknown, "\u{fffd}\u{fffd}".to_string())
        );
        assert_eq!(parsed("Mitigation"), (Mitigation, String::new()));
    }

    #[test]
    fn reports_every_file_of_the_fixture() {
        let text = scrape_fixtures(&SPEC, &["--collector.cpu_vulnerabilities"]);
        for expected in [
            "# HELP node_cpu_vulnerabilities_info Details of each CPU vulnerability reported by sysfs. The value of the series is an int encoded state of the vulnerability. The same state is stored as a string in the label",
            "# TYPE node_cpu_vulnerabilities_info gauge",
            r#"node_cpu_vulnerabilities_info{codename="meltdown",mitigation="",state="not affected"} 1"#,
            r#"node_cpu_vulnerabilities_info{codename="retbleed",mitigation="",state="vulnerable"} 1"#,
            r#"node_cpu_vulnerabilities_info{codename="spectre_v1",mitigation="usercopy/swapgs barriers and __user pointer sanitization",state="mitigation"} 1"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        let files = std::fs::read_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sys/devices/system/cpu/vulnerabilities"
        ))
        .unwrap()
        .count();
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), files);
    }

    fn host_on(sysfs: &std::path::Path) -> Host {
        Host::new("/nonexistent/proc", sysfs, "/r", "/u")
    }

    #[test]
    fn kernel_without_the_directory_has_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let err = run(&CpuVulnerabilitiesCollector, &host_on(dir.path()))
            .1
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoData);
    }

    #[test]
    fn unreadable_entry_fails() {
        let dir = tempfile::tempdir().unwrap();
        let vulnerabilities = dir.path().join("devices/system/cpu/vulnerabilities");
        write_files(&vulnerabilities, &[("meltdown", "Not affected\n")]);
        std::fs::create_dir(vulnerabilities.join("subdir")).unwrap();
        let err = run(&CpuVulnerabilitiesCollector, &host_on(dir.path()))
            .1
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("subdir"), "{err}");
    }
}
