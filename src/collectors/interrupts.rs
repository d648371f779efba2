//! `interrupts`: per-CPU interrupt counts from `<procfs>/interrupts`, as
//! `node_interrupts_total{cpu,type,info,devices}`.
//!
//! The labels follow node_exporter: `type` is the IRQ number or name before
//! the colon; for a numbered IRQ `info` is the word after the counts (the
//! chip) and `devices` the rest of the line, for a named one (`NMI`, `LOC`)
//! `info` is the whole description and `devices` is empty. `cpu` is the
//! column index, which is the CPU number only while no CPU is offline.
//! Lines with no description, such as `ERR` and `MIS` (one total, not one
//! count per CPU), are skipped.

use std::collections::BTreeMap;

use clap::Args;
use regex_lite::Regex;

use crate::collectors::common::device_filter::DeviceFilter;
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{MetricSet, MetricType};
use crate::parse::number;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "interrupts",
    default_enabled: false,
    reads: "/proc/interrupts",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the interrupts collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of interrupts name to include (mutually exclusive to
    /// --collector.interrupts.name-exclude).
    #[arg(id = "collector.interrupts.name-include", long = "collector.interrupts.name-include", value_name = "REGEX",
          value_parser = crate::parse::regex)]
    pub name_include: Option<Regex>,

    /// Regexp of interrupts name to exclude (mutually exclusive to
    /// --collector.interrupts.name-include).
    #[arg(id = "collector.interrupts.name-exclude", long = "collector.interrupts.name-exclude", value_name = "REGEX",
          value_parser = crate::parse::regex)]
    pub name_exclude: Option<Regex>,

    /// Include interrupts that have a zero value
    #[arg(
        id = "collector.interrupts.include-zeros",
        long = "collector.interrupts.include-zeros",
        default_value_t = true
    )]
    pub include_zeros: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags: Flags = ctx.flags()?;
    Ok(Box::new(InterruptsCollector {
        // node_exporter accepts both patterns at once and applies both.
        filter: DeviceFilter::new(flags.name_exclude.clone(), flags.name_include.clone()),
        include_zeros: flags.include_zeros,
    }))
}

/// Reports `node_interrupts_total`.
struct InterruptsCollector {
    /// Matched against `<type>;<info>;<devices>`.
    filter: DeviceFilter,
    include_zeros: bool,
}

/// One line of `/proc/interrupts`.
#[derive(Debug, Clone, PartialEq)]
pub struct Interrupt {
    /// The chip (`IO-APIC`, `PCI-MSIX-0000:00:03.0`) for a numbered IRQ, the
    /// description (`Local timer interrupts`) for a named one.
    pub info: String,
    /// The trigger and device names of a numbered IRQ (`1-edge
    /// virtio2-input.0`); empty for a named one.
    pub devices: String,
    /// The count per CPU column.
    pub counts: Vec<f64>,
}

impl Interrupt {
    /// Parses `/proc/interrupts`, keyed by IRQ number or name. The header
    /// (`CPU0 CPU1 ...`) gives the number of count columns; a line with
    /// fewer fields than that plus a description is skipped, a line with a
    /// non-numeric count is an error, and a name given twice keeps its last
    /// line. Splitting at the first colon handles arm64's names that touch
    /// their counts (`IPI0:1234`).
    pub fn parse_all(text: &str) -> Result<BTreeMap<String, Interrupt>, String> {
        let mut lines = text.lines();
        let cpus = lines.next().ok_or("empty file")?.split_whitespace().count();
        let mut interrupts = BTreeMap::new();
        for line in lines {
            let Some((name, rest)) = line.split_once(':') else {
                continue;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            if fields.len() < cpus + 1 {
                continue;
            }
            let name = name.trim_start_matches(' ');
            let counts = fields[..cpus]
                .iter()
                .map(|f| number(f).ok_or_else(|| format!("{name}: invalid count {f:?}")))
                .collect::<Result<Vec<f64>, String>>()?;
            let (info, devices) = if name.parse::<i64>().is_ok() {
                (fields[cpus].to_string(), fields[cpus + 1..].join(" "))
            } else {
                (fields[cpus..].join(" "), String::new())
            };
            interrupts.insert(
                name.to_string(),
                Interrupt {
                    info,
                    devices,
                    counts,
                },
            );
        }
        Ok(interrupts)
    }
}

impl Collector for InterruptsCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("interrupts");
        let text = read_text(&path).map_err(|e| CollectError::io(&path, &e))?;
        let interrupts = Interrupt::parse_all(&text).map_err(|e| CollectError::parse(&path, e))?;
        let family = out.family(
            "node_interrupts_total",
            "Interrupt details.",
            MetricType::Counter,
            &["cpu", "type", "info", "devices"],
        );
        for (name, interrupt) in &interrupts {
            let filter_name = format!("{name};{};{}", interrupt.info, interrupt.devices);
            if self.filter.ignored(&filter_name) {
                continue;
            }
            for (cpu, &count) in interrupt.counts.iter().enumerate() {
                if count == 0.0 && !self.include_zeros {
                    continue;
                }
                family.push(
                    &[
                        cpu.to_string().as_str(),
                        name,
                        &interrupt.info,
                        &interrupt.devices,
                    ],
                    count,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{fixture_host, scrape_fixtures};

    /// This machine's `/proc/interrupts` (x86_64 VM, two CPUs, Linux 6.18).
    const CURRENT: &str = include_str!("../../tests/fixtures/proc/interrupts");

    /// A Raspberry Pi 4 (arm64, GICv2): IPI names and `Err`.
    const ARM64: &str = "\
           CPU0       CPU1       CPU2       CPU3       
 11:      23450      19034      20318      18620     GICv2  30 Level     arch_timer
 18:        312          0          0          0     GICv2 153 Level     uart-pl011
 25:          7          0          0          0  BRCM STB PCIe MSI 524288 Edge      xhci_hcd
IPI0:      1234       2345       3456       4567       Rescheduling interrupts
IPI5:1234567890          1          2          3       IRQ work interrupts
Err:          0
";

    /// A 2.6.18 i686 box: chip and trigger in one word, named lines without
    /// descriptions.
    const LINUX_2_6_18: &str = "\
           CPU0       CPU1       
  0:   74735419          0    IO-APIC-edge  timer
  9:          0          0   IO-APIC-level  acpi
169:     260174     140413   IO-APIC-level  eth0, ehci_hcd:usb1
NMI:      70826      70812 
LOC:   74665530   74665421 
ERR:          0
MIS:          0
";

    fn irq(info: &str, devices: &str, counts: &[f64]) -> Interrupt {
        Interrupt {
            info: info.to_string(),
            devices: devices.to_string(),
            counts: counts.to_vec(),
        }
    }

    #[test]
    fn this_machine() {
        let interrupts = Interrupt::parse_all(CURRENT).unwrap();
        // Every line but the header, ERR and MIS.
        assert_eq!(interrupts.len(), CURRENT.lines().count() - 3);
        assert!(!interrupts.contains_key("ERR") && !interrupts.contains_key("MIS"));
        assert_eq!(
            interrupts["26"],
            irq("IO-APIC", "4-edge ttyS0", &[0.0, 14.0])
        );
        assert_eq!(
            interrupts["38"],
            irq(
                "PCI-MSIX-0000:00:03.0",
                "1-edge virtio2-input.0",
                &[0.0, 7320.0]
            )
        );
        assert_eq!(
            interrupts["LOC"],
            irq("Local timer interrupts", "", &[236500.0, 241151.0])
        );
        assert_eq!(interrupts["RTR"].info, "APIC ICR read retries");
    }

    #[test]
    fn arm64() {
        let interrupts = Interrupt::parse_all(ARM64).unwrap();
        let names: Vec<&str> = interrupts.keys().map(String::as_str).collect();
        assert_eq!(names, ["11", "18", "25", "IPI0", "IPI5"]);
        assert_eq!(
            interrupts["11"],
            irq(
                "GICv2",
                "30 Level arch_timer",
                &[23450.0, 19034.0, 20318.0, 18620.0]
            )
        );
        assert_eq!(interrupts["25"].info, "BRCM");
        assert_eq!(
            interrupts["25"].devices,
            "STB PCIe MSI 524288 Edge xhci_hcd"
        );
        assert_eq!(
            interrupts["IPI5"],
            irq("IRQ work interrupts", "", &[1234567890.0, 1.0, 2.0, 3.0])
        );
    }

    #[test]
    fn old_kernel_named_lines_without_description_are_skipped() {
        let interrupts = Interrupt::parse_all(LINUX_2_6_18).unwrap();
        let names: Vec<&str> = interrupts.keys().map(String::as_str).collect();
        assert_eq!(names, ["0", "169", "9"]);
        assert_eq!(
            interrupts["169"],
            irq(
                "IO-APIC-level",
                "eth0, ehci_hcd:usb1",
                &[260174.0, 140413.0]
            )
        );
    }

    #[test]
    fn columns_follow_the_header_and_short_lines_are_skipped() {
        // CPU1 offline: two columns, labelled 0 and 1 by position.
        let text = "           CPU0       CPU2\n  1:          9          0   IO-APIC   1-edge      i8042\n  4:          5          6\n  8:          1          0   IO-APIC\n";
        let interrupts = Interrupt::parse_all(text).unwrap();
        assert_eq!(interrupts.len(), 2);
        assert_eq!(interrupts["1"].counts, [9.0, 0.0]);
        assert_eq!(interrupts["8"], irq("IO-APIC", "", &[1.0, 0.0]));
    }

    #[test]
    fn garbage_truncation_and_repeats() {
        assert!(Interrupt::parse_all("").is_err());
        let header = "      CPU0       CPU1\n";
        let bad = format!("{header}  1:     12   x7   IO-APIC 1-edge i8042\n");
        let err = Interrupt::parse_all(&bad).unwrap_err();
        assert!(err.contains("x7"), "{err}");
        let negative = format!("{header}  1:     12   -7   IO-APIC 1-edge i8042\n");
        assert!(Interrupt::parse_all(&negative).is_ok());
        // A file cut inside a line keeps the complete lines.
        let cut = format!("{header}  1:     12   7   IO-APIC 1-edge i8042\nLOC:   74665530");
        assert_eq!(Interrupt::parse_all(&cut).unwrap().len(), 1);
        // Lines without a colon are not interrupts.
        let noise = format!("{header}\u{fffd}\u{fffd}\n\0\0\0\n");
        assert!(Interrupt::parse_all(&noise).unwrap().is_empty());
        let twice = format!("{header}NMI: 1 2 First\nNMI: 3 4 Second\n");
        assert_eq!(
            Interrupt::parse_all(&twice).unwrap()["NMI"],
            irq("Second", "", &[3.0, 4.0])
        );
    }

    #[test]
    fn reports_every_cpu_column_as_node_exporter() {
        let text = scrape_fixtures(&SPEC, &["--collector.interrupts"]);
        for expected in [
            "# HELP node_interrupts_total Interrupt details.",
            "# TYPE node_interrupts_total counter",
            r#"node_interrupts_total{cpu="0",devices="4-edge ttyS0",info="IO-APIC",type="26"} 0"#,
            r#"node_interrupts_total{cpu="1",devices="4-edge ttyS0",info="IO-APIC",type="26"} 14"#,
            r#"node_interrupts_total{cpu="1",devices="",info="Local timer interrupts",type="LOC"} 241151"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        let samples = text.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(samples, 2 * (CURRENT.lines().count() - 3));
    }

    fn scrape(flags: &[&str]) -> String {
        let collector = crate::collectors::common::testing::build(&SPEC, fixture_host(), flags)
            .expect("builds");
        collector.render()
    }

    #[test]
    fn name_filters_match_type_info_and_devices() {
        let text = scrape(&["--collector.interrupts.name-include=^LOC;|^[0-9]+;.*;.*virtio2"]);
        let types: std::collections::BTreeSet<&str> = text
            .lines()
            .filter_map(|l| l.split("type=\"").nth(1)?.split('"').next())
            .collect();
        assert_eq!(
            types.into_iter().collect::<Vec<_>>(),
            ["37", "38", "39", "LOC"]
        );
        let text = scrape(&["--collector.interrupts.name-exclude=interrupts;$|virtio"]);
        assert!(!text.contains("virtio"));
        assert!(!text.contains("type=\"LOC\""));
        assert!(text.contains("type=\"26\""));
    }

    #[test]
    fn zeros_can_be_left_out() {
        let text = scrape(&["--no-collector.interrupts.include-zeros"]);
        assert!(text.contains(
            r#"node_interrupts_total{cpu="1",devices="4-edge ttyS0",info="IO-APIC",type="26"} 14"#
        ));
        assert!(!text.contains(r#"cpu="0",devices="4-edge ttyS0""#));
        assert!(!text.lines().any(|l| l.ends_with(" 0")), "{text}");
    }

    #[test]
    fn missing_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        let host = crate::collectors::common::testing::host_with_procfs(dir.path());
        let collector = InterruptsCollector {
            filter: DeviceFilter::default(),
            include_zeros: true,
        };
        let err = collector.update(&host, &mut MetricSet::new()).unwrap_err();
        assert!(err.message().contains("interrupts"), "{err}");
    }
}
