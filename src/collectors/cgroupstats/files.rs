//! The cgroup v2 interface files the collector reads, each a pure parser
//! from the kernel's text: flat-keyed files (`cpu.stat`, `memory.stat`,
//! `memory.events`, `cgroup.stat`), one-value files (`memory.current`,
//! `pids.current`), limits that may read `max` (`memory.max`, `pids.max`),
//! `cpu.max`, and the nested-keyed `io.stat`. The `*.pressure` files are
//! [`crate::kernel::psi`].

/// Parses a flat-keyed file: `key value` lines, the format of `cpu.stat`,
/// `memory.stat`, `memory.events` and `cgroup.stat`. A line that is not a
/// key and an unsigned integer is skipped, so that a garbage byte costs one
/// key; a file with content but not one such line is refused.
pub fn flat_keyed(text: &str) -> Result<Vec<(&str, u64)>, String> {
    let pairs: Vec<(&str, u64)> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            let key = fields.next()?;
            let value = fields.next()?.parse::<u64>().ok()?;
            fields.next().is_none().then_some((key, value))
        })
        .collect();
    if pairs.is_empty() && !text.trim().is_empty() {
        return Err("no \"key value\" line".to_string());
    }
    Ok(pairs)
}

/// The value of `key` among parsed flat-keyed pairs.
pub fn value_of(pairs: &[(&str, u64)], key: &str) -> Option<u64> {
    pairs.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
}

/// Parses a one-value file such as `memory.current`: an unsigned integer
/// and a newline.
pub fn count(text: &str) -> Result<u64, String> {
    let value = text.trim();
    value
        .parse::<u64>()
        .map_err(|_| format!("expected an unsigned integer, found {value:?}"))
}

/// A limit file's value: `memory.max`, `memory.high`, `memory.swap.max`,
/// `pids.max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The file reads `max`: no limit.
    Unlimited,
    /// The limit, in the file's unit (bytes or tasks).
    Value(u64),
}

impl Limit {
    /// Parses `max` or an unsigned integer.
    pub fn parse(text: &str) -> Result<Limit, String> {
        match text.trim() {
            "max" => Ok(Limit::Unlimited),
            other => count(other).map(Limit::Value),
        }
    }

    /// The limit, or `None` when there is none.
    pub fn value(self) -> Option<u64> {
        match self {
            Limit::Unlimited => None,
            Limit::Value(v) => Some(v),
        }
    }
}

/// `cpu.max`: the CFS bandwidth quota and period, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuMax {
    /// CPU time the cgroup may use per period; `None` for `max`.
    pub quota: Option<u64>,
    /// The period.
    pub period: u64,
}

impl CpuMax {
    /// Parses `$MAX $PERIOD`, as in `max 100000` or `50000 100000`.
    pub fn parse(text: &str) -> Result<CpuMax, String> {
        let mut fields = text.split_ascii_whitespace();
        let (Some(quota), Some(period), None) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(format!(
                "expected \"quota period\", found {:?}",
                text.trim()
            ));
        };
        let quota = match Limit::parse(quota)? {
            Limit::Unlimited => None,
            Limit::Value(v) => Some(v),
        };
        let period = count(period)?;
        Ok(CpuMax { quota, period })
    }
}

/// One device's line of `io.stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IoStatLine {
    /// The device's major number.
    pub major: u32,
    /// The device's minor number.
    pub minor: u32,
    /// Bytes read (`rbytes`).
    pub read_bytes: Option<u64>,
    /// Bytes written (`wbytes`).
    pub written_bytes: Option<u64>,
    /// Read operations (`rios`).
    pub reads: Option<u64>,
    /// Write operations (`wios`).
    pub writes: Option<u64>,
    /// Bytes discarded (`dbytes`, Linux 5.0 and later).
    pub discarded_bytes: Option<u64>,
    /// Discard operations (`dios`, Linux 5.0 and later).
    pub discards: Option<u64>,
}

impl IoStatLine {
    /// Parses `io.stat`: one line per device, `MAJ:MIN key=value ...`.
    /// Keys other than the six byte and operation counters (`cost.*` of
    /// io.cost, those of io.latency) are ignored, as are lines that do not
    /// start with a device number.
    pub fn parse_all(text: &str) -> Vec<IoStatLine> {
        text.lines().filter_map(IoStatLine::parse).collect()
    }

    fn parse(line: &str) -> Option<IoStatLine> {
        let mut fields = line.split_ascii_whitespace();
        let (major, minor) = fields.next()?.split_once(':')?;
        let mut parsed = IoStatLine {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
            ..IoStatLine::default()
        };
        for field in fields {
            let Some((key, value)) = field.split_once('=') else {
                continue;
            };
            let slot = match key {
                "rbytes" => &mut parsed.read_bytes,
                "wbytes" => &mut parsed.written_bytes,
                "rios" => &mut parsed.reads,
                "wios" => &mut parsed.writes,
                "dbytes" => &mut parsed.discarded_bytes,
                "dios" => &mut parsed.discards,
                _ => continue,
            };
            *slot = value.parse().ok();
        }
        Some(parsed)
    }
}

/// Block device names by (major, minor), from `/proc/diskstats`'s first
/// three fields: `io.stat` names devices by number only. Lines without
/// them are skipped.
pub fn block_device_names(diskstats: &str) -> Vec<((u32, u32), String)> {
    diskstats
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            let major = fields.next()?.parse().ok()?;
            let minor = fields.next()?.parse().ok()?;
            Some(((major, minor), fields.next()?.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Linux 6.8, a container's cgroup with the cpu controller enabled.
    const CPU_STAT_6_8: &str = "usage_usec 83241077\nuser_usec 61037114\nsystem_usec 22203963\n\
        core_sched.force_idle_usec 0\nnr_periods 41238\nnr_throttled 1873\nthrottled_usec 95127311\n\
        nr_bursts 0\nburst_usec 0\n";
    // Linux 5.4 without the cpu controller: only the usage keys.
    const CPU_STAT_5_4: &str = "usage_usec 1210\nuser_usec 530\nsystem_usec 680\n";
    const MEMORY_EVENTS: &str = "low 0\nhigh 0\nmax 96\noom 3\noom_kill 3\noom_group_kill 0\n";

    #[test]
    fn parses_flat_keyed_files_of_every_kernel() {
        let new = flat_keyed(CPU_STAT_6_8).unwrap();
        assert_eq!(value_of(&new, "user_usec"), Some(61037114));
        assert_eq!(value_of(&new, "throttled_usec"), Some(95127311));
        assert_eq!(value_of(&new, "core_sched.force_idle_usec"), Some(0));
        let old = flat_keyed(CPU_STAT_5_4).unwrap();
        assert_eq!(value_of(&old, "system_usec"), Some(680));
        assert_eq!(value_of(&old, "nr_periods"), None);
        let events = flat_keyed(MEMORY_EVENTS).unwrap();
        assert_eq!(events.len(), 6);
        assert_eq!(value_of(&events, "oom_kill"), Some(3));
        assert_eq!(flat_keyed("").unwrap(), vec![]);
    }

    #[test]
    fn a_garbled_line_costs_its_key_only() {
        let pairs = flat_keyed(
            "anon 4096\nfile -1\nshmem 12 13\nkernel\n\u{fffd}sock 7\nslab 18446744073709551615\n",
        )
        .unwrap();
        // A garbled key is kept as it is, and matches no key read.
        assert_eq!(
            pairs,
            vec![("anon", 4096), ("\u{fffd}sock", 7), ("slab", u64::MAX)]
        );
        assert!(flat_keyed("anon 18446744073709551616\n").is_err());
        assert!(flat_keyed("\0\0\0\0").is_err());
        assert!(flat_keyed("usage_usec").is_err());
    }

    #[test]
    fn parses_values_and_limits() {
        assert_eq!(count("1327104\n"), Ok(1327104));
        assert!(count("").is_err());
        assert!(count("-1\n").is_err());
        assert!(count("12 MB").is_err());
        assert_eq!(Limit::parse("max\n"), Ok(Limit::Unlimited));
        assert_eq!(Limit::parse("536870912\n"), Ok(Limit::Value(536870912)));
        assert_eq!(
            Limit::parse("536870912\n").unwrap().value(),
            Some(536870912)
        );
        assert_eq!(Limit::Unlimited.value(), None);
        assert!(Limit::parse("maximum\n").is_err());
    }

    #[test]
    fn parses_cpu_max() {
        assert_eq!(
            CpuMax::parse("max 100000\n"),
            Ok(CpuMax {
                quota: None,
                period: 100000
            })
        );
        assert_eq!(
            CpuMax::parse("50000 100000\n"),
            Ok(CpuMax {
                quota: Some(50000),
                period: 100000
            })
        );
        for bad in ["", "max\n", "50000 100000 1\n", "50000 max\n", "x 100000\n"] {
            assert!(CpuMax::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parses_io_stat_of_every_kernel() {
        // Linux 4.19: no discard keys.
        let old = IoStatLine::parse_all("8:0 rbytes=90112 wbytes=0 rios=22 wios=0\n");
        assert_eq!(
            old,
            vec![IoStatLine {
                major: 8,
                minor: 0,
                read_bytes: Some(90112),
                written_bytes: Some(0),
                reads: Some(22),
                writes: Some(0),
                discarded_bytes: None,
                discards: None,
            }]
        );
        // Linux 6.x with io.cost: extra keys are ignored.
        let new = IoStatLine::parse_all(
            "259:0 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=4096 dios=1 \
             cost.vrate=100.00 cost.usage=2 cost.wait=0 cost.indebt=0 cost.indelay=0\n\
             253:1 rbytes=0 wbytes=8192 rios=0 wios=2 dbytes=0 dios=0\n",
        );
        assert_eq!(new.len(), 2);
        assert_eq!((new[0].major, new[0].minor), (259, 0));
        assert_eq!(new[0].discarded_bytes, Some(4096));
        assert_eq!(new[1].written_bytes, Some(8192));
        // A garbled line or value is skipped alone.
        let garbled = IoStatLine::parse_all("8 rbytes=1\nx:y rbytes=2\n8:16 rbytes=-3 wbytes=4\n");
        assert_eq!(garbled.len(), 1);
        assert_eq!(garbled[0].read_bytes, None);
        assert_eq!(garbled[0].written_bytes, Some(4));
        assert!(IoStatLine::parse_all("").is_empty());
    }

    #[test]
    fn names_block_devices_from_diskstats() {
        let names = block_device_names(
            "   8       0 sda 4 0 0 0 0 0 0 0 0 0 0\n 259       1 nvme0n1p1 1 2 3\n\n garbage\n",
        );
        assert_eq!(
            names,
            vec![
                ((8, 0), "sda".to_string()),
                ((259, 1), "nvme0n1p1".to_string())
            ]
        );
    }
}
