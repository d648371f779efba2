//! `watchdog`: hardware and software watchdog timers from
//! `<sysfs>/class/watchdog/watchdog*/`, as `node_watchdog_*`.
//!
//! Which attributes a watchdog has depends on its driver (a driver without
//! a `get_timeleft` operation has no `timeleft`) and on the kernel's age;
//! absent ones are left out.

use std::fs;
use std::io;
use std::path::Path;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host};
use crate::metrics::{MetricSet, MetricType};
use crate::parse::sysfs_int;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "watchdog",
    default_enabled: true,
    reads: "/sys/class/watchdog/*/",
    flags: None,
    build: plain::<WatchdogCollector>,
};

/// Reports `node_watchdog_*`.
#[derive(Default)]
struct WatchdogCollector;

/// The integer attributes: file and metric suffix.
const NUMBERS: [(&str, &str); 7] = [
    ("bootstatus", "bootstatus"),
    ("fw_version", "fw_version"),
    ("nowayout", "nowayout"),
    ("timeleft", "timeleft_seconds"),
    ("timeout", "timeout_seconds"),
    ("pretimeout", "pretimeout_seconds"),
    ("access_cs0", "access_cs0"),
];

/// The text attributes that are labels of `node_watchdog_info`.
const TEXTS: [&str; 5] = [
    "options",
    "identity",
    "state",
    "status",
    "pretimeout_governor",
];

/// What one watchdog's directory says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watchdog {
    /// The device name, `watchdog0`.
    pub name: String,
    /// Each integer attribute present: metric suffix and value.
    pub numbers: Vec<(&'static str, i64)>,
    /// Each text attribute: file name and trimmed content, empty if absent.
    pub texts: Vec<(&'static str, String)>,
}

impl Watchdog {
    /// Builds a watchdog from its attributes by file name (trimmed
    /// contents; absent files not given). An integer attribute that is not
    /// an integer (in Go's base-0 syntax) is an error naming the file.
    pub fn from_attributes(
        name: &str,
        mut attribute: impl FnMut(&str) -> Option<String>,
    ) -> Result<Watchdog, String> {
        let mut numbers = Vec::new();
        for (file, suffix) in NUMBERS {
            if let Some(text) = attribute(file) {
                let value = sysfs_int(&text).ok_or_else(|| format!("{file}: invalid {text:?}"))?;
                numbers.push((suffix, value));
            }
        }
        let texts = TEXTS
            .iter()
            .map(|&file| (file, attribute(file).unwrap_or_default()))
            .collect();
        Ok(Watchdog {
            name: name.to_string(),
            numbers,
            texts,
        })
    }

    /// Reads the watchdog directory `dir`; a missing attribute is absent,
    /// any other failure to read one is an error.
    pub fn read(name: &str, dir: &Path) -> Result<Watchdog, CollectError> {
        let mut failure = None;
        let watchdog = Watchdog::from_attributes(name, |file| {
            let path = dir.join(file);
            match read_sysfs_attribute(&path) {
                Ok(text) => Some(text.trim().to_string()),
                Err(err) if err.kind() == io::ErrorKind::NotFound => None,
                Err(err) => {
                    failure.get_or_insert((path, err));
                    None
                }
            }
        })
        .map_err(|message| CollectError::parse(dir, message))?;
        match failure {
            Some((path, err)) => Err(read_error(&path, &err)),
            None => Ok(watchdog),
        }
    }
}

/// A watchdog class that is absent or may not be read is "no data", as
/// node_exporter has it; other failures are failures.
fn read_error(path: &Path, err: &io::Error) -> CollectError {
    let refused = matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
    );
    if refused {
        CollectError::no_data(format!(
            "could not read watchdog stats: {}: {err}",
            path.display()
        ))
    } else {
        CollectError::io(path, err)
    }
}

impl WatchdogCollector {
    fn read_watchdogs(&self, host: &Host) -> Result<Vec<Watchdog>, CollectError> {
        let root = host.sys_path("class/watchdog");
        let entries = fs::read_dir(&root).map_err(|e| read_error(&root, &e))?;
        let mut watchdogs = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            watchdogs.push(Watchdog::read(&name, &entry.path())?);
        }
        watchdogs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(watchdogs)
    }
}

impl Collector for WatchdogCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let watchdogs = self.read_watchdogs(host)?;
        for (file, suffix) in NUMBERS {
            let family = out.family(
                format!("node_watchdog_{suffix}"),
                format!("Value of /sys/class/watchdog/<watchdog>/{file}"),
                MetricType::Gauge,
                &["name"],
            );
            for watchdog in &watchdogs {
                if let Some(&(_, value)) = watchdog.numbers.iter().find(|(s, _)| *s == suffix) {
                    family.push(&[&watchdog.name], value as f64);
                }
            }
        }
        let mut label_names = vec!["name"];
        label_names.extend(TEXTS);
        let info = out.family(
            "node_watchdog_info",
            "Info of /sys/class/watchdog/<watchdog>",
            MetricType::Gauge,
            &label_names,
        );
        for watchdog in &watchdogs {
            let mut values = vec![watchdog.name.as_str()];
            values.extend(watchdog.texts.iter().map(|(_, v)| v.as_str()));
            info.push(&values, 1.0);
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
    use std::collections::HashMap;

    fn watchdog(files: &[(&str, &str)]) -> Result<Watchdog, String> {
        let files: HashMap<&str, &str> = files.iter().copied().collect();
        Watchdog::from_attributes("watchdog0", |f| files.get(f).map(|v| v.to_string()))
    }

    #[test]
    fn numbers_and_texts() {
        let wd = watchdog(&[
            ("bootstatus", "1"),
            ("options", "0x8380"),
            ("fw_version", "0"),
            ("identity", "iTCO_wdt"),
            ("nowayout", "0"),
            ("state", "active"),
            ("timeleft", "0x10"),
            ("timeout", "30"),
        ])
        .unwrap();
        assert_eq!(
            wd.numbers,
            vec![
                ("bootstatus", 1),
                ("fw_version", 0),
                ("nowayout", 0),
                ("timeleft_seconds", 16),
                ("timeout_seconds", 30),
            ]
        );
        assert_eq!(
            wd.texts,
            vec![
                ("options", "0x8380".to_string()),
                ("identity", "iTCO_wdt".to_string()),
                ("state", "active".to_string()),
                ("status", String::new()),
                ("pretimeout_governor", String::new()),
            ]
        );
    }

    #[test]
    fn a_garbage_number_is_an_error() {
        let err = watchdog(&[("timeout", "thirty")]).unwrap_err();
        assert!(err.contains("timeout"), "{err}");
    }

    #[test]
    fn an_older_kernel_has_few_attributes() {
        let sys = tempfile::tempdir().unwrap();
        write_files(
            &sys.path().join("class/watchdog/watchdog0"),
            &[("identity", "Software Watchdog\n"), ("timeout", "60\n")],
        );
        let host = host_with_sysfs(sys.path());
        let text = build(&SPEC, host, &[]).unwrap().render();
        assert!(text.contains("node_watchdog_timeout_seconds{name=\"watchdog0\"} 60\n"));
        assert!(text.contains(
            r#"node_watchdog_info{identity="Software Watchdog",name="watchdog0",options="",pretimeout_governor="",state="",status=""} 1"#
        ), "{text}");
        assert!(!text.contains("node_watchdog_bootstatus"), "{text}");
    }

    #[test]
    fn no_watchdog_class_is_no_data() {
        let host = host_with_sysfs(Path::new("/nonexistent/sys"));
        let (_, result) = build(&SPEC, host, &[]).unwrap().run();
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
    }

    #[test]
    fn fixture_watchdogs() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_watchdog_timeleft_seconds Value of /sys/class/watchdog/<watchdog>/timeleft",
            "node_watchdog_timeout_seconds{name=\"watchdog0\"} 30\n",
            "node_watchdog_timeleft_seconds{name=\"watchdog0\"} 27\n",
            "node_watchdog_bootstatus{name=\"watchdog0\"} 0\n",
            r#"node_watchdog_info{identity="iTCO_wdt",name="watchdog0",options="0x8380",pretimeout_governor="",state="active",status="0x8106"} 1"#,
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }
}
