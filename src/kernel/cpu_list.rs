//! The kernel's CPU list format (`0-3,8,10-11`), printed by
//! `/sys/devices/system/cpu/{online,offline,isolated,...}` and NUMA node
//! `cpulist` files.

/// The highest CPU number accepted. The kernel's `NR_CPUS` is at most 8192;
/// node_exporter keeps CPU numbers as 16 bits. Bounding the numbers also
/// bounds what a damaged range such as `0-4294967295` can cost to expand.
pub const MAX_CPU: u32 = u16::MAX as u32;

/// Parses a CPU list into CPU numbers, in the order listed. An empty list
/// (nothing isolated, say) is an empty vector.
pub fn parse_cpu_list(text: &str) -> Result<Vec<u32>, String> {
    let mut cpus = Vec::new();
    for item in text.trim().split(',').filter(|item| !item.is_empty()) {
        match item.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (cpu(first)?, cpu(last)?);
                if first > last {
                    return Err(format!("invalid CPU range {item:?}"));
                }
                cpus.extend(first..=last);
            }
            None => cpus.push(cpu(item)?),
        }
    }
    Ok(cpus)
}

fn cpu(text: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .ok()
        .filter(|&n| n <= MAX_CPU)
        .ok_or_else(|| format!("invalid CPU number {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_cpus_and_ranges() {
        assert_eq!(
            parse_cpu_list("0-3,8,10-11\n").unwrap(),
            vec![0, 1, 2, 3, 8, 10, 11]
        );
        assert_eq!(parse_cpu_list("5").unwrap(), vec![5]);
        assert_eq!(parse_cpu_list("2-2").unwrap(), vec![2]);
    }

    #[test]
    fn empty_list_is_empty() {
        assert!(parse_cpu_list("\n").unwrap().is_empty());
        assert!(parse_cpu_list("").unwrap().is_empty());
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "a",
            "1-",
            "-1",
            "3-1",
            "1-2-3",
            "0-4294967295",
            "65536",
            "1:2",
            "0-7:2/4",
            "1,,x",
        ] {
            assert!(parse_cpu_list(bad).is_err(), "{bad}");
        }
    }
}
