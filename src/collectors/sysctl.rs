//! `sysctl`: the kernel parameters named by `--collector.sysctl.include`
//! (numbers, as untyped `node_sysctl_<name>`) and
//! `--collector.sysctl.include-info` (strings, as `node_sysctl_info`), read
//! from `<procfs>/sys/<name with dots as slashes>`.
//!
//! A value is split on whitespace: a parameter with several values (such as
//! `net.ipv4.tcp_rmem`) gives one sample per value, labelled `index`, or,
//! with `name:key1,key2,...`, one metric per value named
//! `node_sysctl_<name>_<key>`.
//!
//! Unlike node_exporter, whose read stops at 128 bytes, a value is read up
//! to 4 KiB, and numbers above the signed 64-bit range (`kernel.shmmax` on
//! some hosts) are reported rather than failing the collector.

use clap::Args;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host};
use crate::metrics::{is_name_fragment, sanitize_name, MetricSet, MetricType};
use crate::parse::sysfs_int;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "sysctl",
    default_enabled: false,
    reads: "/proc/sys/*",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the sysctl collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Select sysctl metrics to include.
    #[arg(
        id = "collector.sysctl.include",
        long = "collector.sysctl.include",
        value_name = "NAME[:KEY,...]",
        value_parser = SysctlSpec::parse
    )]
    pub include: Vec<SysctlSpec>,

    /// Select sysctl metrics to include as info metrics.
    #[arg(
        id = "collector.sysctl.include-info",
        long = "collector.sysctl.include-info",
        value_name = "NAME[:KEY,...]",
        value_parser = SysctlSpec::parse
    )]
    pub include_info: Vec<SysctlSpec>,
}

/// One `--collector.sysctl.include[-info]` value: a parameter and, optionally,
/// a metric-name suffix for each of its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlSpec {
    /// The dotted name, e.g. `net.ipv4.tcp_rmem`.
    pub name: String,
    /// Suffixes for the values in order; empty for indexed samples.
    pub keys: Vec<String>,
}

impl SysctlSpec {
    /// Parses `name` or `name:key1,key2,...`. The name must be a relative
    /// path under `/proc/sys` (no `..`, no leading `/`) and every key a valid
    /// metric-name fragment, so that a typo stops start-up instead of every
    /// scrape failing.
    pub fn parse(text: &str) -> Result<SysctlSpec, String> {
        let (name, keys) = match text.split_once(':') {
            Some((name, keys)) => (name, keys.split(',').map(str::to_string).collect()),
            None => (text, Vec::new()),
        };
        let components: Vec<&str> = name.split(['.', '/']).collect();
        if name.is_empty() || components.iter().any(|c| c.is_empty() || *c == "..") {
            return Err(format!("invalid sysctl name {name:?}"));
        }
        if let Some(key) = keys.iter().find(|k| !is_name_fragment(k)) {
            return Err(format!("invalid key {key:?} for sysctl {name}"));
        }
        Ok(SysctlSpec {
            name: name.to_string(),
            keys,
        })
    }

    /// The file under the procfs root.
    fn relative_path(&self) -> String {
        format!("sys/{}", self.name.replace('.', "/"))
    }

    /// `node_sysctl_<name>`, with every character outside `[a-zA-Z0-9_]`
    /// (the dots) as `_`.
    fn metric_name(&self) -> String {
        format!("node_sysctl_{}", sanitize_name(&self.name))
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags: Flags = ctx.flags()?;
    let numeric = flags.include.iter().map(|s| (s.clone(), Kind::Numeric));
    let info = flags.include_info.iter().map(|s| (s.clone(), Kind::Info));
    let mut sysctls: Vec<(SysctlSpec, Kind)> = Vec::new();
    // A parameter given twice would export every series twice.
    for sysctl in numeric.chain(info) {
        if !sysctls.contains(&sysctl) {
            sysctls.push(sysctl);
        }
    }
    Ok(Box::new(SysctlCollector { sysctls }))
}

/// How a parameter is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Its values are numbers: `node_sysctl_<name>`.
    Numeric,
    /// Its values are strings: `node_sysctl_info{name,value,index}`.
    Info,
}

/// Reports the selected parameters, in flag order.
struct SysctlCollector {
    sysctls: Vec<(SysctlSpec, Kind)>,
}

/// Parses a numeric value as node_exporter does (Go's base-0 integers:
/// `0x` hex, leading-zero octal), also taking unsigned 64-bit values.
pub fn parse_value(field: &str) -> Option<f64> {
    sysfs_int(field)
        .map(|v| v as f64)
        .or_else(|| field.parse::<u64>().ok().map(|v| v as f64))
}

impl SysctlCollector {
    /// Adds `spec`'s metrics to `out`, or for an info parameter its
    /// `(name, value, index)` labels to `info`.
    fn report(
        &self,
        host: &Host,
        spec: &SysctlSpec,
        kind: Kind,
        out: &mut MetricSet,
        info: &mut Vec<[String; 3]>,
    ) -> Result<(), CollectError> {
        let path = host.proc_path(&spec.relative_path());
        let text = read_sysfs_attribute(&path).map_err(|e| CollectError::io(&path, &e))?;
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.is_empty() {
            return Err(CollectError::failed(format!(
                "sysctl {} has no values",
                spec.name
            )));
        }
        if fields.len() == 1 && !spec.keys.is_empty() {
            return Err(CollectError::failed(format!(
                "sysctl {} has only one value, but expected {:?}",
                spec.name, spec.keys
            )));
        }
        if fields.len() > 1 && !spec.keys.is_empty() && fields.len() != spec.keys.len() {
            return Err(CollectError::failed(format!(
                "sysctl {} has {} values but {} keys",
                spec.name,
                fields.len(),
                spec.keys.len()
            )));
        }
        match kind {
            Kind::Info => {
                if !spec.keys.is_empty() {
                    return Err(CollectError::failed(format!(
                        "sysctl {}: keys are not supported for string values",
                        spec.name
                    )));
                }
                for (index, value) in fields.iter().enumerate() {
                    info.push([spec.name.clone(), value.to_string(), index.to_string()]);
                }
            }
            Kind::Numeric => {
                let values = fields
                    .iter()
                    .enumerate()
                    .map(|(index, field)| {
                        parse_value(field).ok_or_else(|| {
                            CollectError::parse(
                                &path,
                                format!("value {index} {field:?} is not an integer"),
                            )
                        })
                    })
                    .collect::<Result<Vec<f64>, CollectError>>()?;
                let name = spec.metric_name();
                if values.len() == 1 {
                    out.untyped(name, format!("sysctl {}", spec.name), values[0]);
                } else if spec.keys.is_empty() {
                    let family = out.family(
                        name,
                        format!("sysctl {}", spec.name),
                        MetricType::Untyped,
                        &["index"],
                    );
                    for (index, value) in values.iter().enumerate() {
                        family.push(&[index.to_string()], *value);
                    }
                } else {
                    for (index, (key, value)) in spec.keys.iter().zip(&values).enumerate() {
                        out.untyped(
                            format!("{name}_{key}"),
                            format!("sysctl {}, field {index}", spec.name),
                            *value,
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

impl Collector for SysctlCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        // As node_exporter: the first parameter that cannot be reported
        // fails the run; those before it are still exported.
        let mut info = Vec::new();
        let result = self
            .sysctls
            .iter()
            .try_for_each(|(spec, kind)| self.report(host, spec, *kind, out, &mut info));
        let family = out.family(
            "node_sysctl_info",
            "sysctl info",
            MetricType::Gauge,
            &["name", "value", "index"],
        );
        for labels in &info {
            family.push(labels, 1.0);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        build as build_collector, fixture_host, parse_args, procfs_with,
    };
    use crate::collectors::ErrorKind;
    use crate::host::Host;

    fn host(procfs: &std::path::Path) -> Host {
        Host::new(procfs, "/nonexistent", "/nonexistent", "/nonexistent")
    }

    #[test]
    fn specs_parse_and_bad_ones_are_refused() {
        assert_eq!(
            SysctlSpec::parse("vm.swappiness").unwrap(),
            SysctlSpec {
                name: "vm.swappiness".into(),
                keys: vec![]
            }
        );
        assert_eq!(
            SysctlSpec::parse("net.ipv4.tcp_rmem:min,default,max")
                .unwrap()
                .keys,
            vec!["min", "default", "max"]
        );
        for bad in [
            "",
            ":a",
            "vm..swappiness",
            "vm.../etc",
            "/etc/passwd",
            "net.ipv4.tcp_rmem:min,,max",
            "net.ipv4.tcp_rmem:min,de-fault,max",
            "net.ipv4.tcp_rmem:",
        ] {
            assert!(SysctlSpec::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_spec_stops_start_up_naming_the_flag() {
        let err = parse_args(&["--collector.sysctl.include=vm.swappiness:a-b"]).unwrap_err();
        assert!(
            err.to_string().contains("collector.sysctl.include"),
            "{err}"
        );
        let err = parse_args(&["--collector.sysctl.include-info=../x"]).unwrap_err();
        assert!(
            err.to_string().contains("collector.sysctl.include-info"),
            "{err}"
        );
    }

    #[test]
    fn values_are_go_integers() {
        assert_eq!(parse_value("60"), Some(60.0));
        assert_eq!(parse_value("-1"), Some(-1.0));
        assert_eq!(parse_value("0x10"), Some(16.0));
        assert_eq!(parse_value("010"), Some(8.0));
        assert_eq!(
            parse_value("18446744073692774399"),
            Some(18446744073692774399.0)
        );
        assert_eq!(parse_value("1.5"), None);
        assert_eq!(parse_value("abc"), None);
        assert_eq!(parse_value(""), None);
    }

    #[test]
    fn fixture_parameters_in_every_form() {
        let text = crate::collectors::common::testing::scrape_fixtures(
            &SPEC,
            &[
                "--collector.sysctl.include=vm.swappiness",
                "--collector.sysctl.include=net.ipv4.tcp_rmem:min,default,max",
                "--collector.sysctl.include=net.ipv4.tcp_wmem",
                "--collector.sysctl.include-info=kernel.seccomp.actions_avail",
                "--collector.sysctl.include-info=kernel.osrelease",
            ],
        );
        let expected = "\
# HELP node_sysctl_info sysctl info
# TYPE node_sysctl_info gauge
node_sysctl_info{index=\"0\",name=\"kernel.osrelease\",value=\"6.18.44-fc-v769\"} 1
node_sysctl_info{index=\"0\",name=\"kernel.seccomp.actions_avail\",value=\"kill_process\"} 1
node_sysctl_info{index=\"1\",name=\"kernel.seccomp.actions_avail\",value=\"kill_thread\"} 1
node_sysctl_info{index=\"2\",name=\"kernel.seccomp.actions_avail\",value=\"trap\"} 1
node_sysctl_info{index=\"3\",name=\"kernel.seccomp.actions_avail\",value=\"errno\"} 1
node_sysctl_info{index=\"4\",name=\"kernel.seccomp.actions_avail\",value=\"user_notif\"} 1
node_sysctl_info{index=\"5\",name=\"kernel.seccomp.actions_avail\",value=\"trace\"} 1
node_sysctl_info{index=\"6\",name=\"kernel.seccomp.actions_avail\",value=\"log\"} 1
node_sysctl_info{index=\"7\",name=\"kernel.seccomp.actions_avail\",value=\"allow\"} 1
# HELP node_sysctl_net_ipv4_tcp_rmem_default sysctl net.ipv4.tcp_rmem, field 1
# TYPE node_sysctl_net_ipv4_tcp_rmem_default untyped
node_sysctl_net_ipv4_tcp_rmem_default 131072
# HELP node_sysctl_net_ipv4_tcp_rmem_max sysctl net.ipv4.tcp_rmem, field 2
# TYPE node_sysctl_net_ipv4_tcp_rmem_max untyped
node_sysctl_net_ipv4_tcp_rmem_max 3.3554432e+07
# HELP node_sysctl_net_ipv4_tcp_rmem_min sysctl net.ipv4.tcp_rmem, field 0
# TYPE node_sysctl_net_ipv4_tcp_rmem_min untyped
node_sysctl_net_ipv4_tcp_rmem_min 4096
# HELP node_sysctl_net_ipv4_tcp_wmem sysctl net.ipv4.tcp_wmem
# TYPE node_sysctl_net_ipv4_tcp_wmem untyped
node_sysctl_net_ipv4_tcp_wmem{index=\"0\"} 4096
node_sysctl_net_ipv4_tcp_wmem{index=\"1\"} 16384
node_sysctl_net_ipv4_tcp_wmem{index=\"2\"} 4.194304e+06
# HELP node_sysctl_vm_swappiness sysctl vm.swappiness
# TYPE node_sysctl_vm_swappiness untyped
node_sysctl_vm_swappiness 60
";
        assert_eq!(text, expected);
    }

    fn failure(files: &[(&str, &str)], flags: &[&str]) -> (usize, CollectError) {
        let procfs = procfs_with(files);
        let collector = build_collector(&SPEC, host(procfs.path()), flags).unwrap();
        let (families, result) = collector.run();
        (families.len(), result.unwrap_err())
    }

    #[test]
    fn missing_parameter_fails_naming_it_after_earlier_ones() {
        let (families, err) = failure(
            &[("sys/vm/swappiness", "60\n")],
            &[
                "--collector.sysctl.include=vm.swappiness",
                "--collector.sysctl.include=vm.nonexistent",
            ],
        );
        assert_eq!(families, 1);
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("sys/vm/nonexistent"), "{err}");
    }

    #[test]
    fn mismatched_values_and_garbage_fail() {
        let cases: &[(&str, &str)] = &[
            ("", "--collector.sysctl.include=a.b"),
            ("  \n", "--collector.sysctl.include=a.b"),
            ("1\n", "--collector.sysctl.include=a.b:x,y"),
            ("1 2 3\n", "--collector.sysctl.include=a.b:x,y"),
            ("1 two\n", "--collector.sysctl.include=a.b"),
            ("\u{0}\u{0}", "--collector.sysctl.include=a.b"),
            ("a b\n", "--collector.sysctl.include-info=a.b:x,y"),
        ];
        for (content, flag) in cases {
            let (_, err) = failure(&[("sys/a/b", content)], &[flag]);
            assert!(err.message().contains("a"), "{content:?} {flag}: {err}");
        }
    }

    #[test]
    fn repeated_parameter_is_reported_once() {
        let text = crate::collectors::common::testing::scrape_fixtures(
            &SPEC,
            &[
                "--collector.sysctl.include=vm.swappiness",
                "--collector.sysctl.include=vm.swappiness",
                "--collector.sysctl.include-info=vm.swappiness",
            ],
        );
        assert_eq!(text.matches("node_sysctl_vm_swappiness 60").count(), 1);
        assert_eq!(text.matches("value=\"60\"").count(), 1);
    }

    #[test]
    fn no_flags_reports_nothing() {
        let collector = build_collector(&SPEC, fixture_host(), &[]).unwrap();
        assert_eq!(collector.render(), "");
    }
}
