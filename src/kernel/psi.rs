//! Pressure stall information (PSI): the `some` and `full` lines of
//! `<procfs>/pressure/*` and of a cgroup's `{cpu,memory,io}.pressure`, which
//! share one format.
//!
//! Each file has a `some` line (time at least one task was stalled) and a
//! `full` line (time all non-idle tasks were stalled at once), except that
//! `cpu` has no `full` line before Linux 5.13 and `irq` has only `full`.
//!
//! May import: the lowest layer only.

/// One line of a pressure file: averages (percent) and the total (µs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PsiLine {
    /// Share of time stalled over the last 10 seconds, in percent.
    pub avg10: f64,
    /// Over the last 60 seconds.
    pub avg60: f64,
    /// Over the last 300 seconds.
    pub avg300: f64,
    /// Total stall time since boot, in microseconds.
    pub total: u64,
}

/// The `some` and `full` lines of one pressure file, each if present.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PsiStats {
    /// Time in which at least some tasks were stalled.
    pub some: Option<PsiLine>,
    /// Time in which all non-idle tasks were stalled simultaneously.
    pub full: Option<PsiLine>,
}

impl PsiStats {
    /// Parses a pressure file such as
    /// `some avg10=0.06 avg60=0.21 avg300=0.99 total=8537362`. Lines with
    /// another first word are ignored, so future kinds do not break it; a
    /// `some` or `full` line that is malformed fails the whole file.
    pub fn parse(text: &str) -> Result<PsiStats, String> {
        let mut stats = PsiStats::default();
        for line in text.lines() {
            let kind = line.split(' ').next().unwrap_or_default();
            let slot = match kind {
                "some" => &mut stats.some,
                "full" => &mut stats.full,
                _ => continue,
            };
            *slot = Some(PsiLine::parse(&line[kind.len()..]).map_err(|e| format!("{kind}: {e}"))?);
        }
        Ok(stats)
    }
}

impl PsiLine {
    /// Parses ` avg10=… avg60=… avg300=… total=…`; anything after `total`
    /// is ignored.
    fn parse(fields: &str) -> Result<PsiLine, String> {
        let mut fields = fields.split_whitespace();
        let mut field = |key: &str| {
            let field = fields.next().ok_or_else(|| format!("missing {key}"))?;
            field
                .strip_prefix(key)
                .and_then(|rest| rest.strip_prefix('='))
                .ok_or_else(|| format!("expected {key}=, found {field:?}"))
        };
        let average = |key: &str, value: &str| {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("invalid {key} {value:?}"))
        };
        let avg10 = average("avg10", field("avg10")?)?;
        let avg60 = average("avg60", field("avg60")?)?;
        let avg300 = average("avg300", field("avg300")?)?;
        let total = field("total")?;
        let total = total
            .parse::<u64>()
            .map_err(|_| format!("invalid total {total:?}"))?;
        Ok(PsiLine {
            avg10,
            avg60,
            avg300,
            total,
        })
    }
}

/// Pressure files as kernels write them, for the tests of their readers.
#[cfg(test)]
pub mod samples {
    /// `/proc/pressure/cpu` of Linux 5.13 and later (a `full` line).
    pub const CPU_5_13: &str = "some avg10=19.10 avg60=10.03 avg300=15.70 total=145294539\n\
                                full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
    /// `/proc/pressure/cpu` of Linux 4.20 to 5.12 (no `full` line).
    pub const CPU_4_20: &str = "some avg10=0.52 avg60=0.21 avg300=0.05 total=2473621\n";
    /// `/proc/pressure/io`.
    pub const IO: &str = "some avg10=6.86 avg60=2.59 avg300=1.04 total=15852918\n\
                          full avg10=5.62 avg60=2.13 avg300=0.71 total=12174265\n";
    /// `/proc/pressure/memory` of an idle host.
    pub const MEMORY: &str = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n\
                              full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
    /// `/proc/pressure/irq` (Linux 6.1 and later): `full` only.
    pub const IRQ: &str = "full avg10=0.12 avg60=0.05 avg300=0.01 total=2715391\n";
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::samples::{CPU_4_20, CPU_5_13, IO, IRQ, MEMORY};

    #[test]
    fn parses_this_machines_files() {
        let cpu = PsiStats::parse(include_str!("../../tests/fixtures/proc/pressure/cpu")).unwrap();
        assert!(cpu.some.is_some() && cpu.full.is_some());
        let io = PsiStats::parse(include_str!("../../tests/fixtures/proc/pressure/io")).unwrap();
        assert!(io.some.unwrap().total >= io.full.unwrap().total);
        let memory =
            PsiStats::parse(include_str!("../../tests/fixtures/proc/pressure/memory")).unwrap();
        assert!(memory.some.is_some() && memory.full.is_some());
    }

    #[test]
    fn parses_every_kernel_variant() {
        assert_eq!(
            PsiStats::parse(IO).unwrap(),
            PsiStats {
                some: Some(PsiLine {
                    avg10: 6.86,
                    avg60: 2.59,
                    avg300: 1.04,
                    total: 15852918
                }),
                full: Some(PsiLine {
                    avg10: 5.62,
                    avg60: 2.13,
                    avg300: 0.71,
                    total: 12174265
                }),
            }
        );
        let old_cpu = PsiStats::parse(CPU_4_20).unwrap();
        assert_eq!(old_cpu.some.unwrap().total, 2473621);
        assert_eq!(old_cpu.full, None);
        let irq = PsiStats::parse(IRQ).unwrap();
        assert_eq!(irq.some, None);
        assert_eq!(irq.full.unwrap().total, 2715391);
        // A line kind a future kernel might add is ignored.
        let future = PsiStats::parse(&format!("{IO}partial avg10=1 total=2\n")).unwrap();
        assert_eq!(future, PsiStats::parse(IO).unwrap());
        assert_eq!(PsiStats::parse("").unwrap(), PsiStats::default());
    }

    #[test]
    fn rejects_malformed_lines() {
        for bad in [
            "some avg10=0.00 avg60=0.00 avg300=0.00",
            "some avg10=0.00 avg60=0.0",
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=",
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=-1",
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551616",
            "some avg10=x avg60=0.00 avg300=0.00 total=1",
            "some avg60=0.00 avg10=0.00 avg300=0.00 total=1",
            "full avg10=NaN avg60=0.00 avg300=0.00 total=1",
            "some",
        ] {
            assert!(PsiStats::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parses_cgroup_files_of_the_same_format() {
        // A cgroup's cpu.pressure has a `full` line from Linux 5.13 on, and
        // an idle cgroup's totals are zero.
        let cpu = PsiStats::parse(CPU_5_13).unwrap();
        assert_eq!(cpu.some.unwrap().total, 145294539);
        assert_eq!(cpu.full.unwrap().total, 0);
        let memory = PsiStats::parse(MEMORY).unwrap();
        assert_eq!(memory.some.unwrap().avg300, 0.0);
        assert_eq!(memory.full.unwrap().total, 0);
    }
}
