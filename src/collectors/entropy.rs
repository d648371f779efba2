//! `entropy`: the kernel random pool's available entropy and size, from
//! `<procfs>/sys/kernel/random/{entropy_avail,poolsize}`.

use std::io;
use std::path::Path;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host};
use crate::metrics::MetricSet;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "entropy",
    default_enabled: true,
    reads: "/proc/sys/kernel/random/{entropy_avail,poolsize}",
    flags: None,
    build: plain::<EntropyCollector>,
};

/// Reports `node_entropy_available_bits` and `node_entropy_pool_size_bits`.
#[derive(Default)]
struct EntropyCollector;

/// Parses a count of bits such as `entropy_avail`'s `256\n`: an unsigned
/// decimal integer, surrounding whitespace allowed.
pub fn parse_bits(text: &str) -> Result<u64, String> {
    let text = text.trim();
    text.parse()
        .map_err(|_| format!("invalid bit count {text:?}"))
}

/// Reads a bit count; `None` when the file does not exist.
fn read_bits(path: &Path) -> Result<Option<u64>, CollectError> {
    match read_sysfs_attribute(path) {
        Ok(text) => parse_bits(&text)
            .map(Some)
            .map_err(|e| CollectError::parse(path, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CollectError::io(path, &e)),
    }
}

impl Collector for EntropyCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        // Both files are read before anything is emitted, so an unreadable or
        // garbled file yields no series, while a missing pool size still
        // leaves the available entropy reported, as upstream does.
        let available_path = host.proc_path("sys/kernel/random/entropy_avail");
        let pool_size_path = host.proc_path("sys/kernel/random/poolsize");
        let available = read_bits(&available_path)?;
        let pool_size = read_bits(&pool_size_path)?;
        let missing =
            |path: &Path| CollectError::failed(format!("{} does not exist", path.display()));

        let available = available.ok_or_else(|| missing(&available_path))?;
        out.gauge(
            "node_entropy_available_bits",
            "Bits of available entropy.",
            available as f64,
        );
        let pool_size = pool_size.ok_or_else(|| missing(&pool_size_path))?;
        out.gauge(
            "node_entropy_pool_size_bits",
            "Bits of entropy pool.",
            pool_size as f64,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{host_with_procfs, run};
    use crate::metrics::{Family, MetricType};

    #[test]
    fn parses_this_machines_files() {
        let available = parse_bits(include_str!(
            "../../tests/fixtures/proc/sys/kernel/random/entropy_avail"
        ))
        .unwrap();
        let pool_size = parse_bits(include_str!(
            "../../tests/fixtures/proc/sys/kernel/random/poolsize"
        ))
        .unwrap();
        assert!(available <= pool_size);
    }

    #[test]
    fn parses_old_and_new_kernel_values() {
        // Before 5.18 the pool was 4096 bits and entropy varied; since, 256.
        assert_eq!(parse_bits("3754\n").unwrap(), 3754);
        assert_eq!(parse_bits("4096\n").unwrap(), 4096);
        assert_eq!(parse_bits(" 256 ").unwrap(), 256);
        assert_eq!(parse_bits("18446744073709551615").unwrap(), u64::MAX);
    }

    #[test]
    fn rejects_garbage() {
        for text in [
            "",
            "\n",
            "-1",
            "1.5",
            "abc",
            "256 256",
            "18446744073709551616",
            "\0",
        ] {
            assert!(parse_bits(text).is_err(), "{text:?}");
        }
    }

    fn collect(files: &[(&str, &str)]) -> (Vec<Family>, Result<(), CollectError>) {
        let dir = tempfile::tempdir().unwrap();
        let random = dir.path().join("sys/kernel/random");
        std::fs::create_dir_all(&random).unwrap();
        for (name, content) in files {
            std::fs::write(random.join(name), content).unwrap();
        }
        run(&EntropyCollector, &host_with_procfs(dir.path()))
    }

    fn summary(families: &[Family]) -> Vec<(&str, &str, MetricType, f64)> {
        families
            .iter()
            .map(|f| (f.name(), f.help(), f.metric_type(), f.samples()[0].value))
            .collect()
    }

    #[test]
    fn collector_emits_both_gauges() {
        let (families, result) = collect(&[("entropy_avail", "3754\n"), ("poolsize", "4096\n")]);
        result.unwrap();
        assert_eq!(
            summary(&families),
            vec![
                (
                    "node_entropy_available_bits",
                    "Bits of available entropy.",
                    MetricType::Gauge,
                    3754.0
                ),
                (
                    "node_entropy_pool_size_bits",
                    "Bits of entropy pool.",
                    MetricType::Gauge,
                    4096.0
                ),
            ]
        );
    }

    #[test]
    fn missing_pool_size_keeps_available_but_fails() {
        let (families, result) = collect(&[("entropy_avail", "256\n")]);
        assert!(result.unwrap_err().message().contains("poolsize"));
        assert_eq!(families.len(), 1);
        assert_eq!(families[0].name(), "node_entropy_available_bits");
    }

    #[test]
    fn missing_available_fails_without_output() {
        let (families, result) = collect(&[("poolsize", "256\n")]);
        assert!(result.unwrap_err().message().contains("entropy_avail"));
        assert!(families.is_empty());
    }

    #[test]
    fn garbled_file_fails_without_output() {
        let (families, result) = collect(&[("entropy_avail", "256\n"), ("poolsize", "lots\n")]);
        assert!(result.unwrap_err().message().contains("poolsize"));
        assert!(families.is_empty());
    }
}
