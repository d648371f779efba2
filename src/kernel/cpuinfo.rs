//! `/proc/cpuinfo`: one block of `key : value` lines per logical CPU.
//!
//! The layout differs by architecture. x86 prints every field in every
//! block; arm64 prints `processor`, `BogoMIPS`, `Features` and the `CPU *`
//! ids; 32-bit ARM kernels before 3.8 printed a `Processor` model line
//! before the first block. Fields an architecture lacks stay empty, as
//! node_exporter reports them.

use crate::parse::number;

/// What `/proc/cpuinfo` says about one logical CPU, as node_exporter
/// reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuInfo {
    /// The logical CPU number (`processor`).
    pub processor: u32,
    /// `vendor_id` (or `vendor`), e.g. `GenuineIntel`.
    pub vendor: String,
    /// `cpu family`.
    pub family: String,
    /// `model`.
    pub model: String,
    /// `model name` (or 32-bit ARM's `Processor`).
    pub model_name: String,
    /// `stepping`.
    pub stepping: String,
    /// `microcode` revision.
    pub microcode: String,
    /// `cache size`, e.g. `491520 KB`.
    pub cache_size: String,
    /// `physical id`: the package (socket).
    pub physical_id: String,
    /// `core id` within the package.
    pub core_id: String,
    /// `cpu MHz`, when printed and a number.
    pub mhz: Option<f64>,
    /// `flags` (x86) or `Features` (ARM).
    pub flags: Vec<String>,
    /// `bugs` (x86).
    pub bugs: Vec<String>,
}

impl CpuInfo {
    /// Parses `/proc/cpuinfo` into its CPUs, in file order. Each `processor`
    /// line starts a CPU; fields before the first one (32-bit ARM's model
    /// line) are shared by all. Lines without a colon and unknown keys are
    /// skipped. A `processor` number that is not a number is an error:
    /// without it no CPU can be named.
    pub fn parse(text: &str) -> Result<Vec<CpuInfo>, String> {
        let mut shared = CpuInfo::default();
        let mut cpus: Vec<CpuInfo> = Vec::new();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            if key == "processor" {
                let processor = value
                    .parse()
                    .map_err(|_| format!("invalid processor number {value:?}"))?;
                cpus.push(CpuInfo {
                    processor,
                    ..shared.clone()
                });
                continue;
            }
            let cpu = cpus.last_mut().unwrap_or(&mut shared);
            match key {
                "vendor_id" | "vendor" => cpu.vendor = value.to_string(),
                "cpu family" => cpu.family = value.to_string(),
                "model" => cpu.model = value.to_string(),
                "model name" | "Processor" => cpu.model_name = value.to_string(),
                "stepping" => cpu.stepping = value.to_string(),
                "microcode" => cpu.microcode = value.to_string(),
                "cache size" => cpu.cache_size = value.to_string(),
                "physical id" => cpu.physical_id = value.to_string(),
                "core id" => cpu.core_id = value.to_string(),
                "cpu MHz" => cpu.mhz = number(value),
                "flags" | "Features" => cpu.flags = words(value),
                "bugs" => cpu.bugs = words(value),
                _ => {}
            }
        }
        Ok(cpus)
    }
}

fn words(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const X86: &str = "\
processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 167
model name\t: Intel(R) Xeon(R) Processor
stepping\t: 1
microcode\t: 0x1
cpu MHz\t\t: 2600.000
cache size\t: 491520 KB
physical id\t: 0
siblings\t: 2
core id\t\t: 0
cpu cores\t: 2
flags\t\t: fpu vme de pse tsc
bugs\t\t: spectre_v1 spectre_v2
bogomips\t: 5200.00
power management:

processor\t: 1
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 167
model name\t: Intel(R) Xeon(R) Processor
stepping\t: 1
microcode\t: 0x1
cpu MHz\t\t: 2599.998
cache size\t: 491520 KB
physical id\t: 0
core id\t\t: 1
flags\t\t: fpu vme
bugs\t\t:
power management:

";

    #[test]
    fn parses_x86() {
        let cpus = CpuInfo::parse(X86).unwrap();
        assert_eq!(cpus.len(), 2);
        assert_eq!(
            cpus[0],
            CpuInfo {
                processor: 0,
                vendor: "GenuineIntel".into(),
                family: "6".into(),
                model: "167".into(),
                model_name: "Intel(R) Xeon(R) Processor".into(),
                stepping: "1".into(),
                microcode: "0x1".into(),
                cache_size: "491520 KB".into(),
                physical_id: "0".into(),
                core_id: "0".into(),
                mhz: Some(2600.0),
                flags: vec![
                    "fpu".into(),
                    "vme".into(),
                    "de".into(),
                    "pse".into(),
                    "tsc".into()
                ],
                bugs: vec!["spectre_v1".into(), "spectre_v2".into()],
            }
        );
        assert_eq!(cpus[1].core_id, "1");
        assert_eq!(cpus[1].mhz, Some(2599.998));
        assert!(cpus[1].bugs.is_empty());
    }

    #[test]
    fn parses_arm64() {
        let text = "\
processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x3
CPU part\t: 0xd0c
CPU revision\t: 1

processor\t: 1
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics
CPU implementer\t: 0x41
";
        let cpus = CpuInfo::parse(text).unwrap();
        assert_eq!(cpus.len(), 2);
        assert_eq!(cpus[1].processor, 1);
        assert_eq!(cpus[0].flags.len(), 9);
        assert_eq!(cpus[0].vendor, "");
        assert_eq!(cpus[0].mhz, None);
    }

    #[test]
    fn shares_leading_fields_of_old_arm() {
        let text = "Processor\t: ARMv7 Processor rev 5 (v7l)\nprocessor\t: 0\nBogoMIPS\t: 38.40\n\nprocessor\t: 1\n";
        let cpus = CpuInfo::parse(text).unwrap();
        assert_eq!(cpus.len(), 2);
        assert_eq!(cpus[1].model_name, "ARMv7 Processor rev 5 (v7l)");
    }

    #[test]
    fn tolerates_garbage_values_but_not_processor_numbers() {
        let cpus = CpuInfo::parse("junk\n\u{fffd}\u{0}\nprocessor : 3\ncpu MHz : fast\n").unwrap();
        assert_eq!(cpus.len(), 1);
        assert_eq!(cpus[0].processor, 3);
        assert_eq!(cpus[0].mhz, None);
        assert!(CpuInfo::parse("processor : x\n").is_err());
        assert!(CpuInfo::parse("processor : 99999999999\n").is_err());
        assert!(CpuInfo::parse("").unwrap().is_empty());
    }
}
