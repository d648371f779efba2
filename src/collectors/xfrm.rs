//! `xfrm`: the IPsec (XFRM) error counters of the host's
//! `/proc/net/xfrm_stat`, as `node_xfrm_<counter>_packets_total`.
//!
//! The file exists only on kernels built with `CONFIG_XFRM_STATISTICS`;
//! without it the collector has no data. Counters newer kernels add beyond
//! node_exporter's 28 (`XfrmOutStateDirError`, ...) are not exported, as
//! node_exporter does not; counters an older kernel lacks are left out
//! rather than failing the collector.

use std::collections::BTreeMap;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{Desc, MetricSet};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "xfrm",
    default_enabled: false,
    reads: "/proc/1/net/xfrm_stat",
    flags: None,
    build: plain::<XfrmCollector>,
};

/// The exported counters; each source is the kernel's name of its field.
const COUNTERS: &[Desc<&str>] = &[
    Desc::counter(
        "node_xfrm_in_error_packets_total",
        "All errors not matched by other",
        "XfrmInError",
    ),
    Desc::counter(
        "node_xfrm_in_buffer_error_packets_total",
        "No buffer is left",
        "XfrmInBufferError",
    ),
    Desc::counter(
        "node_xfrm_in_hdr_error_packets_total",
        "Header error",
        "XfrmInHdrError",
    ),
    Desc::counter(
        "node_xfrm_in_no_states_packets_total",
        "No state is found i.e. Either inbound SPI, address, or IPsec protocol at SA is wrong",
        "XfrmInNoStates",
    ),
    Desc::counter(
        "node_xfrm_in_state_proto_error_packets_total",
        "Transformation protocol specific error e.g. SA key is wrong",
        "XfrmInStateProtoError",
    ),
    Desc::counter(
        "node_xfrm_in_state_mode_error_packets_total",
        "Transformation mode specific error",
        "XfrmInStateModeError",
    ),
    Desc::counter(
        "node_xfrm_in_state_seq_error_packets_total",
        "Sequence error i.e. Sequence number is out of window",
        "XfrmInStateSeqError",
    ),
    Desc::counter(
        "node_xfrm_in_state_expired_packets_total",
        "State is expired",
        "XfrmInStateExpired",
    ),
    Desc::counter(
        "node_xfrm_in_state_mismatch_packets_total",
        "State has mismatch option e.g. UDP encapsulation type is mismatch",
        "XfrmInStateMismatch",
    ),
    Desc::counter(
        "node_xfrm_in_state_invalid_packets_total",
        "State is invalid",
        "XfrmInStateInvalid",
    ),
    Desc::counter(
        "node_xfrm_in_tmpl_mismatch_packets_total",
        "No matching template for states e.g. Inbound SAs are correct but SP rule is wrong",
        "XfrmInTmplMismatch",
    ),
    Desc::counter(
        "node_xfrm_in_no_pols_packets_total",
        "No policy is found for states e.g. Inbound SAs are correct but no SP is found",
        "XfrmInNoPols",
    ),
    Desc::counter(
        "node_xfrm_in_pol_block_packets_total",
        "Policy discards",
        "XfrmInPolBlock",
    ),
    Desc::counter(
        "node_xfrm_in_pol_error_packets_total",
        "Policy error",
        "XfrmInPolError",
    ),
    Desc::counter(
        "node_xfrm_out_error_packets_total",
        "All errors which is not matched others",
        "XfrmOutError",
    ),
    Desc::counter(
        "node_xfrm_out_bundle_gen_error_packets_total",
        "Bundle generation error",
        "XfrmOutBundleGenError",
    ),
    Desc::counter(
        "node_xfrm_out_bundle_check_error_packets_total",
        "Bundle check error",
        "XfrmOutBundleCheckError",
    ),
    Desc::counter(
        "node_xfrm_out_no_states_packets_total",
        "No state is found",
        "XfrmOutNoStates",
    ),
    Desc::counter(
        "node_xfrm_out_state_proto_error_packets_total",
        "Transformation protocol specific error",
        "XfrmOutStateProtoError",
    ),
    Desc::counter(
        "node_xfrm_out_state_mode_error_packets_total",
        "Transformation mode specific error",
        "XfrmOutStateModeError",
    ),
    Desc::counter(
        "node_xfrm_out_state_seq_error_packets_total",
        "Sequence error i.e. Sequence number overflow",
        "XfrmOutStateSeqError",
    ),
    Desc::counter(
        "node_xfrm_out_state_expired_packets_total",
        "State is expired",
        "XfrmOutStateExpired",
    ),
    Desc::counter(
        "node_xfrm_out_pol_block_packets_total",
        "Policy discards",
        "XfrmOutPolBlock",
    ),
    Desc::counter(
        "node_xfrm_out_pol_dead_packets_total",
        "Policy is dead",
        "XfrmOutPolDead",
    ),
    Desc::counter(
        "node_xfrm_out_pol_error_packets_total",
        "Policy error",
        "XfrmOutPolError",
    ),
    Desc::counter(
        "node_xfrm_fwd_hdr_error_packets_total",
        "Forward routing of a packet is not allowed",
        "XfrmFwdHdrError",
    ),
    Desc::counter(
        "node_xfrm_out_state_invalid_packets_total",
        "State is invalid, perhaps expired",
        "XfrmOutStateInvalid",
    ),
    Desc::counter(
        "node_xfrm_acquire_error_packets_total",
        "State hasn’t been fully acquired before use",
        "XfrmAcquireError",
    ),
];

/// Reports the XFRM counters.
#[derive(Default)]
struct XfrmCollector;

/// The counters of `/proc/net/xfrm_stat`, by the kernel's name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XfrmStat {
    /// Counter name (`XfrmInError`) to value.
    pub counters: BTreeMap<String, u64>,
}

impl XfrmStat {
    /// Parses `XfrmInError             \t0` lines. Blank lines are skipped;
    /// any other line must be a name and an unsigned number.
    pub fn parse(text: &str) -> Result<XfrmStat, String> {
        let mut counters = BTreeMap::new();
        for line in text.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [] => {}
                [name, value] => {
                    let value = value
                        .parse::<u64>()
                        .map_err(|_| format!("invalid value {value:?} for {name}"))?;
                    counters.insert(name.to_string(), value);
                }
                _ => return Err(format!("malformed line {line:?}")),
            }
        }
        Ok(XfrmStat { counters })
    }
}

impl Collector for XfrmCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.net_path("xfrm_stat");
        let text = read_text(&path).map_err(|e| CollectError::io_or_no_data(&path, &e))?;
        let stat = XfrmStat::parse(&text).map_err(|e| CollectError::parse(&path, e))?;
        for counter in COUNTERS {
            if let Some(value) = stat.counters.get(counter.source) {
                counter.single(out, *value as f64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{host_with_procfs, procfs_with, run, scrape_fixtures};
    use crate::collectors::ErrorKind;

    /// This machine's file (a 6.18 kernel, with four counters newer than
    /// node_exporter's list), with non-zero values written in.
    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/1/net/xfrm_stat");

    #[test]
    fn parses_every_counter() {
        let stat = XfrmStat::parse(FIXTURE).unwrap();
        assert_eq!(stat.counters.len(), 32);
        assert_eq!(stat.counters["XfrmInNoStates"], 17);
        assert_eq!(stat.counters["XfrmOutStateDirError"], 0);
        for field in COUNTERS.iter().map(|c| c.source) {
            assert!(stat.counters.contains_key(field), "{field}");
        }
    }

    #[test]
    fn garbage_is_refused() {
        for text in [
            "XfrmInError\n",
            "XfrmInError 1 2\n",
            "XfrmInError -1\n",
            "XfrmInError x\n",
        ] {
            assert!(XfrmStat::parse(text).is_err(), "{text:?}");
        }
        assert!(XfrmStat::parse("").unwrap().counters.is_empty());
    }

    #[test]
    fn exports_node_exporters_counters_only() {
        let text = scrape_fixtures(&SPEC, &[]);
        assert_eq!(text.matches("# TYPE ").count(), 28, "{text}");
        assert!(text.contains(
            "# HELP node_xfrm_in_no_states_packets_total No state is found i.e. Either inbound SPI, address, or IPsec protocol at SA is wrong\n\
             # TYPE node_xfrm_in_no_states_packets_total counter\n\
             node_xfrm_in_no_states_packets_total 17\n"
        ));
        assert!(!text.contains("dir_error"));
    }

    #[test]
    fn older_kernel_without_later_counters() {
        let procfs = procfs_with(&[("net/xfrm_stat", "XfrmInError\t3\nXfrmInBufferError\t0\n")]);
        let (families, result) = run(&XfrmCollector, &host_with_procfs(procfs.path()));
        result.unwrap();
        assert_eq!(families.len(), 2);
        assert_eq!(
            families[0].name(),
            "node_xfrm_in_buffer_error_packets_total"
        );
    }

    #[test]
    fn missing_file_is_no_data() {
        let procfs = procfs_with(&[]);
        let (_, result) = run(&XfrmCollector, &host_with_procfs(procfs.path()));
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
    }
}
