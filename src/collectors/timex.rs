//! `timex`: the kernel clock discipline's state from `adjtimex(2)` in
//! read-only mode (offset, frequency, error estimates, PPS counters, sync
//! status).
//!
//! This reads the running kernel, whatever `--path.procfs` says: in a pod
//! that is the host's clock, as the clock is not namespaced.

use std::io;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::Host;
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "timex",
    default_enabled: true,
    reads: "adjtimex(2)",
    flags: None,
    build,
};

fn build(_: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(TimexCollector))
}

/// Reports `node_timex_*`.
struct TimexCollector;

/// `adjtimex`'s return value when the clock is not synchronized.
const TIME_ERROR: i32 = 5;
/// The `status` bit saying `offset` and `jitter` are in nanoseconds rather
/// than microseconds.
const STA_NANO: i64 = 0x2000;
/// Frequencies are in parts per million with a 16-bit binary fraction.
const PPM_16_FRACTION: f64 = 1_000_000.0 * 65536.0;

/// The fields of `struct timex` that are reported, and the call's result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timex {
    /// The clock state `adjtimex` returned (`TIME_OK` ... `TIME_ERROR`).
    pub state: i32,
    /// Time offset, in µs or ns (see [`STA_NANO`]).
    pub offset: i64,
    /// Frequency offset, scaled ppm.
    pub freq: i64,
    /// Maximum error, µs.
    pub maxerror: i64,
    /// Estimated error, µs.
    pub esterror: i64,
    /// Clock command/status bits.
    pub status: i64,
    /// PLL time constant.
    pub constant: i64,
    /// Microseconds between clock ticks.
    pub tick: i64,
    /// PPS frequency, scaled ppm.
    pub ppsfreq: i64,
    /// PPS jitter, µs or ns.
    pub jitter: i64,
    /// PPS interval duration, log2 seconds.
    pub shift: i64,
    /// PPS stability, scaled ppm.
    pub stabil: i64,
    /// PPS jitter limit exceeded events.
    pub jitcnt: i64,
    /// PPS calibration intervals.
    pub calcnt: i64,
    /// PPS calibration errors.
    pub errcnt: i64,
    /// PPS stability limit exceeded events.
    pub stbcnt: i64,
    /// TAI offset, seconds.
    pub tai: i64,
}

/// One `node_timex_*` metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimexMetric {
    /// Name, `node_timex_*`.
    pub name: &'static str,
    /// Help text.
    pub help: &'static str,
    /// Counter for the PPS event counts, gauge otherwise.
    pub metric_type: MetricType,
    /// Value in base units.
    pub value: f64,
}

impl Timex {
    /// Asks the kernel, changing nothing (`modes` 0). `Ok(None)` when the
    /// call is not permitted (a seccomp profile refusing it).
    pub fn read() -> io::Result<Option<Timex>> {
        // SAFETY: `timex` is plain data for which all zeroes is valid, and
        // with `modes` 0 the kernel only writes into it.
        let mut raw: libc::timex = unsafe { std::mem::zeroed() };
        // SAFETY: `raw` is a valid, exclusively borrowed `struct timex`.
        let state = unsafe { libc::adjtimex(&mut raw) };
        if state == -1 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::PermissionDenied {
                return Ok(None);
            }
            return Err(err);
        }
        #[allow(clippy::unnecessary_cast)] // the field types differ by target.
        Ok(Some(Timex {
            state,
            offset: raw.offset as i64,
            freq: raw.freq as i64,
            maxerror: raw.maxerror as i64,
            esterror: raw.esterror as i64,
            status: raw.status as i64,
            constant: raw.constant as i64,
            tick: raw.tick as i64,
            ppsfreq: raw.ppsfreq as i64,
            jitter: raw.jitter as i64,
            shift: raw.shift as i64,
            stabil: raw.stabil as i64,
            jitcnt: raw.jitcnt as i64,
            calcnt: raw.calcnt as i64,
            errcnt: raw.errcnt as i64,
            stbcnt: raw.stbcnt as i64,
            tai: raw.tai as i64,
        }))
    }

    /// The metrics, in base units: seconds, hertz, ratios.
    pub fn metrics(&self) -> Vec<TimexMetric> {
        let per_second = if self.status & STA_NANO != 0 {
            1e9
        } else {
            1e6
        };
        let gauge = |name, help, value| TimexMetric {
            name,
            help,
            metric_type: MetricType::Gauge,
            value,
        };
        let counter = |name, help, value| TimexMetric {
            name,
            help,
            metric_type: MetricType::Counter,
            value,
        };
        vec![
            gauge(
                "node_timex_sync_status",
                "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
                if self.state == TIME_ERROR { 0.0 } else { 1.0 },
            ),
            gauge(
                "node_timex_offset_seconds",
                "Time offset in between local system and reference clock.",
                self.offset as f64 / per_second,
            ),
            gauge(
                "node_timex_frequency_adjustment_ratio",
                "Local clock frequency adjustment.",
                1.0 + self.freq as f64 / PPM_16_FRACTION,
            ),
            gauge(
                "node_timex_maxerror_seconds",
                "Maximum error in seconds.",
                self.maxerror as f64 / 1e6,
            ),
            gauge(
                "node_timex_estimated_error_seconds",
                "Estimated error in seconds.",
                self.esterror as f64 / 1e6,
            ),
            gauge(
                "node_timex_status",
                "Value of the status array bits.",
                self.status as f64,
            ),
            gauge(
                "node_timex_loop_time_constant",
                "Phase-locked loop time constant.",
                self.constant as f64,
            ),
            gauge(
                "node_timex_tick_seconds",
                "Seconds between clock ticks.",
                self.tick as f64 / 1e6,
            ),
            gauge(
                "node_timex_pps_frequency_hertz",
                "Pulse per second frequency.",
                self.ppsfreq as f64 / PPM_16_FRACTION,
            ),
            gauge(
                "node_timex_pps_jitter_seconds",
                "Pulse per second jitter.",
                self.jitter as f64 / per_second,
            ),
            gauge(
                "node_timex_pps_shift_seconds",
                "Pulse per second interval duration.",
                self.shift as f64,
            ),
            gauge(
                "node_timex_pps_stability_hertz",
                "Pulse per second stability, average of recent frequency changes.",
                self.stabil as f64 / PPM_16_FRACTION,
            ),
            counter(
                "node_timex_pps_jitter_total",
                "Pulse per second count of jitter limit exceeded events.",
                self.jitcnt as f64,
            ),
            counter(
                "node_timex_pps_calibration_total",
                "Pulse per second count of calibration intervals.",
                self.calcnt as f64,
            ),
            counter(
                "node_timex_pps_error_total",
                "Pulse per second count of calibration errors.",
                self.errcnt as f64,
            ),
            counter(
                "node_timex_pps_stability_exceeded_total",
                "Pulse per second count of stability limit exceeded events.",
                self.stbcnt as f64,
            ),
            gauge(
                "node_timex_tai_offset_seconds",
                "International Atomic Time (TAI) offset.",
                self.tai as f64,
            ),
        ]
    }
}

impl Collector for TimexCollector {
    fn update(&self, _: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let timex = Timex::read()
            .map_err(|e| CollectError::failed(format!("failed to retrieve adjtimex stats: {e}")))?
            .ok_or_else(|| CollectError::no_data("adjtimex(2) is not permitted"))?;
        for metric in timex.metrics() {
            out.single(metric.name, metric.help, metric.metric_type, metric.value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(timex: &Timex, name: &str) -> f64 {
        timex
            .metrics()
            .iter()
            .find(|m| m.name.strip_prefix("node_timex_") == Some(name))
            .unwrap_or_else(|| panic!("no {name}"))
            .value
    }

    /// An NTP-disciplined clock in nanosecond mode, with PPS counters.
    const NANO: Timex = Timex {
        state: 0,
        offset: -1234,
        freq: -1_703_936, // -26 ppm
        maxerror: 16_500,
        esterror: 250,
        status: 0x2001, // STA_PLL | STA_NANO
        constant: 7,
        tick: 10_000,
        ppsfreq: 655_360, // 10 ppm
        jitter: 2_000,
        shift: 4,
        stabil: 65_536,
        jitcnt: 3,
        calcnt: 9,
        errcnt: 1,
        stbcnt: 2,
        tai: 37,
    };

    #[test]
    fn microsecond_mode() {
        let timex = Timex {
            status: 0x0001,
            ..NANO
        };
        assert_eq!(value(&timex, "sync_status"), 1.0);
        assert_eq!(value(&timex, "offset_seconds"), -0.001234);
        assert_eq!(value(&timex, "pps_jitter_seconds"), 0.002);
        assert!((value(&timex, "frequency_adjustment_ratio") - 0.999974).abs() < 1e-15);
        assert_eq!(value(&timex, "maxerror_seconds"), 0.0165);
        assert_eq!(value(&timex, "estimated_error_seconds"), 0.00025);
        assert_eq!(value(&timex, "status"), 1.0);
        assert_eq!(value(&timex, "loop_time_constant"), 7.0);
        assert_eq!(value(&timex, "tick_seconds"), 0.01);
        assert_eq!(value(&timex, "pps_frequency_hertz"), 1e-5);
        assert_eq!(value(&timex, "pps_shift_seconds"), 4.0);
        assert_eq!(value(&timex, "pps_stability_hertz"), 1e-6);
        assert_eq!(value(&timex, "pps_jitter_total"), 3.0);
        assert_eq!(value(&timex, "pps_calibration_total"), 9.0);
        assert_eq!(value(&timex, "pps_error_total"), 1.0);
        assert_eq!(value(&timex, "pps_stability_exceeded_total"), 2.0);
        assert_eq!(value(&timex, "tai_offset_seconds"), 37.0);
    }

    #[test]
    fn nanosecond_mode_scales_offset_and_jitter_only() {
        let timex = NANO;
        assert_eq!(value(&timex, "offset_seconds"), -0.000001234);
        assert_eq!(value(&timex, "pps_jitter_seconds"), 0.000002);
        assert_eq!(value(&timex, "maxerror_seconds"), 0.0165);
        assert_eq!(value(&timex, "status"), 8193.0);
    }

    #[test]
    fn unsynchronized_clock() {
        let timex = Timex {
            state: TIME_ERROR,
            status: 0x40, // STA_UNSYNC
            ..Timex::default()
        };
        assert_eq!(value(&timex, "sync_status"), 0.0);
        assert_eq!(value(&timex, "frequency_adjustment_ratio"), 1.0);
    }

    #[test]
    fn types_names_and_help() {
        let metrics = NANO.metrics();
        assert_eq!(metrics.len(), 17);
        for metric in &metrics {
            let counter = metric.name.ends_with("_total");
            assert_eq!(
                metric.metric_type == MetricType::Counter,
                counter,
                "{}",
                metric.name
            );
            assert!(metric.help.ends_with('.'), "{}", metric.name);
        }
    }

    #[test]
    fn reads_the_running_kernel() {
        let timex = Timex::read().expect("adjtimex(2)");
        if let Some(timex) = timex {
            assert!((0..=5).contains(&timex.state), "{timex:?}");
            assert!(timex.tick > 0, "{timex:?}");
        }
    }
}
