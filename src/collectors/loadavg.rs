//! `loadavg`: the 1, 5 and 15 minute load averages from `<procfs>/loadavg`.

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::MetricSet;
use crate::parse::number;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "loadavg",
    default_enabled: true,
    reads: "/proc/loadavg",
    flags: None,
    build: plain::<LoadavgCollector>,
};

/// Reports `node_load1`, `node_load5` and `node_load15`.
#[derive(Default)]
struct LoadavgCollector;

/// The three load averages of `/proc/loadavg`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadAverages {
    /// Over the last minute.
    pub one: f64,
    /// Over the last five minutes.
    pub five: f64,
    /// Over the last fifteen minutes.
    pub fifteen: f64,
}

impl LoadAverages {
    /// Parses `/proc/loadavg` (`0.52 0.58 0.59 1/977 12345`); only the first
    /// three fields are needed, so older kernels' shorter lines parse too.
    pub fn parse(text: &str) -> Result<LoadAverages, String> {
        let mut fields = text.split_whitespace();
        let mut next = |which: &str| {
            let field = fields
                .next()
                .ok_or_else(|| format!("missing {which} load average"))?;
            number(field).ok_or_else(|| format!("invalid {which} load average {field:?}"))
        };
        Ok(LoadAverages {
            one: next("1m")?,
            five: next("5m")?,
            fifteen: next("15m")?,
        })
    }
}

impl Collector for LoadavgCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("loadavg");
        let text = read_text(&path).map_err(|e| CollectError::io(&path, &e))?;
        let load = LoadAverages::parse(&text).map_err(|e| CollectError::parse(&path, e))?;
        out.gauge("node_load1", "1m load average.", load.one);
        out.gauge("node_load5", "5m load average.", load.five);
        out.gauge("node_load15", "15m load average.", load.fifteen);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_current_format() {
        let load = LoadAverages::parse("0.52 0.58 0.59 1/977 12345\n").unwrap();
        assert_eq!(
            load,
            LoadAverages {
                one: 0.52,
                five: 0.58,
                fifteen: 0.59
            }
        );
    }

    #[test]
    fn parses_three_field_line() {
        assert_eq!(LoadAverages::parse("1.00 2.00 3.00").unwrap().fifteen, 3.0);
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        assert!(LoadAverages::parse("").is_err());
        assert!(LoadAverages::parse("0.5 0.6").is_err());
        assert!(LoadAverages::parse("a b c").is_err());
        assert!(LoadAverages::parse("\0\0\0").is_err());
    }
}
