//! `vmstat`: the `<procfs>/vmstat` fields selected by
//! `--collector.vmstat.fields`, as untyped `node_vmstat_<field>`.

use clap::Args;
use regex_lite::Regex;

use crate::collectors::common::field_selection::{add_untyped, FieldSelection};
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{is_name_fragment, MetricSet};
use crate::parse::{lines, number};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "vmstat",
    default_enabled: true,
    reads: "/proc/vmstat",
    flags: Some(Flags::augment_args),
    build,
};

/// node_exporter's default selection: paging, swapping, faults and OOM kills.
const DEFAULT_FIELDS: &str = "^(oom_kill|pgpg|pswp|pg.*fault).*";

/// Flags of the vmstat collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of fields to return for vmstat collector.
    #[arg(
        long = "collector.vmstat.fields",
        value_name = "REGEX",
        default_value = DEFAULT_FIELDS,
        value_parser = crate::parse::regex
    )]
    pub fields: Regex,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(VmstatCollector {
        fields: FieldSelection::new(ctx.flags::<Flags>()?.fields),
    }))
}

/// Reports the selected `/proc/vmstat` fields.
struct VmstatCollector {
    /// Picks fields by name.
    fields: FieldSelection,
}

/// The fields of `/proc/vmstat` (`name value` per line), in file order;
/// names are borrowed from the file's text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vmstat<'a> {
    /// Field name and value. The kernel names each field once; should a
    /// name repeat, its first value is the one reported (client_golang drops
    /// the second series).
    pub fields: Vec<(&'a str, f64)>,
}

impl<'a> Vmstat<'a> {
    /// Parses `/proc/vmstat`. Lines that are not exactly a name usable in a
    /// metric name and a number are skipped; a text with no valid line is an
    /// error, since every kernel since 2.6 reports dozens of fields.
    pub fn parse(text: &'a str) -> Result<Vmstat<'a>, String> {
        let mut fields = Vec::with_capacity(256);
        for line in lines(text) {
            let mut words = line.split_ascii_whitespace();
            let (Some(name), Some(value), None) = (words.next(), words.next(), words.next()) else {
                continue;
            };
            let Some(value) = number(value) else {
                continue;
            };
            if is_name_fragment(name) {
                fields.push((name, value));
            }
        }
        if fields.is_empty() {
            return Err("no fields".to_string());
        }
        Ok(Vmstat { fields })
    }

    /// The value of the field `name` (its first, should it repeat).
    pub fn get(&self, name: &str) -> Option<f64> {
        self.fields
            .iter()
            .find(|(field, _)| *field == name)
            .map(|&(_, value)| value)
    }
}

impl Collector for VmstatCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("vmstat");
        let text = read_text(&path).map_err(|e| CollectError::io(&path, &e))?;
        let vmstat = Vmstat::parse(&text).map_err(|e| CollectError::parse(&path, e))?;
        let mut selected = Vec::new();
        let mut pass = self.fields.pass();
        for (name, value) in vmstat.fields {
            let describe = || {
                (
                    format!("node_vmstat_{name}"),
                    format!("/proc/vmstat information field {name}."),
                )
            };
            if let Some(family) = pass.select(name, describe) {
                selected.push((family, value));
            }
        }
        // A repeated name is one series, with its first value.
        add_untyped(out, selected);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        fixture_procfs, host_with_procfs, parse_args, run, series,
    };
    use crate::metrics::{Family, MetricType};

    /// This machine's `/proc/vmstat` (Linux 6.18).
    const CURRENT: &str = include_str!("../../tests/fixtures/proc/vmstat");

    /// The start of a 2.6.18 kernel's `/proc/vmstat`, which predates
    /// `oom_kill` (added in 4.13).
    const LINUX_2_6_18: &str = "\
nr_anon_pages 59680
nr_mapped 10915
nr_file_pages 372279
nr_slab 28163
nr_page_table_pages 1061
nr_dirty 65
nr_writeback 0
nr_unstable 0
nr_bounce 0
numa_hit 0
pgpgin 4153364
pgpgout 10925916
pswpin 0
pswpout 0
pgalloc_dma 6
pgalloc_dma32 0
pgalloc_normal 56717364
pgalloc_high 2081528
pgfree 59175716
pgactivate 3167436
pgdeactivate 1014392
pgfault 226780236
pgmajfault 8866
pgrefill_dma 0
";

    /// What the default selection picks from a kernel that has every field.
    const DEFAULT_SELECTION: &[&str] = &[
        "oom_kill",
        "pgfault",
        "pgmajfault",
        "pgpgin",
        "pgpgout",
        "pswpin",
        "pswpout",
    ];

    fn default_fields() -> Regex {
        crate::parse::regex(DEFAULT_FIELDS).unwrap()
    }

    /// The selected names, sorted.
    fn selected(text: &str, fields: &Regex) -> Vec<String> {
        let mut names: Vec<String> = Vmstat::parse(text)
            .unwrap()
            .fields
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| fields.is_match(name))
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    #[test]
    fn parses_every_line_of_this_machine() {
        let vmstat = Vmstat::parse(CURRENT).unwrap();
        assert_eq!(vmstat.fields.len(), CURRENT.lines().count());
        assert!(vmstat.get("nr_free_pages").is_some());
    }

    #[test]
    fn default_selection_matches_upstream() {
        let text = "\
nr_free_pages 1
pgpgin 2
pgpgout 3
pswpin 4
pswpout 5
pgfault 6
pgmajfault 7
oom_kill 8
pgscan_kswapd 9
thp_fault_alloc 10
pgsteal_direct 11
";
        assert_eq!(selected(text, &default_fields()), DEFAULT_SELECTION);
    }

    #[test]
    fn old_kernel_without_oom_kill() {
        assert_eq!(
            selected(LINUX_2_6_18, &default_fields()),
            &DEFAULT_SELECTION[1..]
        );
    }

    #[test]
    fn selection_is_unanchored_like_go() {
        let fields = crate::parse::regex("fault").unwrap();
        assert_eq!(
            selected(LINUX_2_6_18, &fields),
            vec!["pgfault", "pgmajfault"]
        );
    }

    #[test]
    fn values_beyond_u32_and_u64() {
        let vmstat =
            Vmstat::parse("pgpgout 123456789012345\npgfault 18446744073709551615\n").unwrap();
        assert_eq!(vmstat.get("pgpgout"), Some(123456789012345.0));
        assert_eq!(vmstat.get("pgfault"), Some(18446744073709551615.0));
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let text = "\
pgfault 10
garbage
pgmajfault
pgpgin abc
pgpgout 1 2
pg-bad 3
\0\0\0
pswpin 4
pgfault 99
";
        let vmstat = Vmstat::parse(text).unwrap();
        assert_eq!(
            vmstat.fields,
            vec![("pgfault", 10.0), ("pswpin", 4.0), ("pgfault", 99.0)]
        );
        // A repeated name keeps the first value, as client_golang drops the
        // second series.
        assert_eq!(vmstat.get("pgfault"), Some(10.0));
    }

    #[test]
    fn empty_truncated_or_garbage_text() {
        assert!(Vmstat::parse("").is_err());
        assert!(Vmstat::parse("garbage\n").is_err());
        let truncated = Vmstat::parse("pgpgin 5\npgpgo").unwrap();
        assert_eq!(truncated.fields.len(), 1);
    }

    fn collect(procfs: &std::path::Path, fields: Regex) -> (Vec<Family>, Result<(), CollectError>) {
        run(
            &VmstatCollector {
                fields: FieldSelection::new(fields),
            },
            &host_with_procfs(procfs),
        )
    }

    #[test]
    fn collector_emits_untyped_families_with_upstream_help() {
        let (families, result) = collect(&fixture_procfs(), default_fields());
        result.unwrap();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        let expected: Vec<String> = DEFAULT_SELECTION
            .iter()
            .map(|field| format!("node_vmstat_{field}"))
            .collect();
        assert_eq!(names, expected);
        assert_eq!(
            families[1].help(),
            "/proc/vmstat information field pgfault."
        );
        assert!(families
            .iter()
            .all(|f| f.metric_type() == MetricType::Untyped));
    }

    #[test]
    fn a_repeated_field_is_one_series_with_its_first_value() {
        let procfs = crate::collectors::common::testing::procfs_with(&[(
            "vmstat",
            "pgfault 10\npswpin 4\npgfault 99\n",
        )]);
        let (families, result) = collect(procfs.path(), default_fields());
        result.unwrap();
        assert_eq!(
            series(&families),
            vec![("node_vmstat_pgfault", 10.0), ("node_vmstat_pswpin", 4.0)]
        );
    }

    #[test]
    fn fields_flag_defaults_overrides_and_refuses_bad_regex() {
        let parse = parse_args;
        let default = parse(&[]).unwrap();
        assert_eq!(
            default.collector_flags::<Flags>().fields.as_str(),
            DEFAULT_FIELDS
        );
        let all = parse(&["--collector.vmstat.fields", ".*"]).unwrap();
        assert_eq!(all.collector_flags::<Flags>().fields.as_str(), ".*");
        let err = parse(&["--collector.vmstat.fields=(unclosed"]).unwrap_err();
        assert!(err.to_string().contains("collector.vmstat.fields"), "{err}");
    }

    #[test]
    fn missing_file_fails_the_collector() {
        let dir = tempfile::tempdir().unwrap();
        let (families, result) = collect(dir.path(), default_fields());
        assert!(families.is_empty());
        assert!(result.unwrap_err().message().contains("vmstat"));
    }
}
