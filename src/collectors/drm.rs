//! `drm`: AMD GPUs (the `amdgpu` driver) from
//! `<sysfs>/class/drm/card<N>/device/`: card information, how busy the GPU
//! is, and the size and use of its VRAM, visible VRAM and GTT.
//!
//! As node_exporter: only `card0` to `card9` are looked at, a card whose
//! `device/uevent` does not name `DRIVER=amdgpu` is skipped (as is one whose
//! `uevent` answers `ENODATA`), and an absent value is reported as 0 or an
//! empty label. The `chip` label names the card's PCI device and its parent
//! as the hwmon collector names chips; where node_exporter would leave it out
//! (a device link without a name, which sysfs does not make) it is empty,
//! which Prometheus reads the same. A card without a readable `uevent` or
//! `device` link fails the run; so does a value that is not a number, where
//! node_exporter panics.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::collectors::hwmon::clean_name;
use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_trimmed, Host};
use crate::metrics::{MetricSet, MetricType};
use crate::parse::go_uint;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "drm",
    default_enabled: false,
    reads: "/sys/class/drm/card[0-9]/device/",
    flags: None,
    build: plain::<DrmCollector>,
};

/// Reports the `node_drm_*` families.
#[derive(Default)]
struct DrmCollector;

/// The driver whose cards are reported.
const AMDGPU_DRIVER: &str = "DRIVER=amdgpu";

/// One amdgpu card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmdgpuCard {
    /// `card0`.
    pub name: String,
    /// `<parent>_<device>` of the card's PCI device, cleaned; may be empty.
    pub chip: String,
    pub gpu_busy_percent: u64,
    pub gtt_total: u64,
    pub gtt_used: u64,
    pub vis_vram_total: u64,
    pub vis_vram_used: u64,
    pub vram_total: u64,
    pub vram_used: u64,
    /// `mem_info_vram_vendor`: `samsung`, `hynix`, `micron`.
    pub vram_vendor: String,
    /// `power_dpm_force_performance_level`: `auto`, `manual`, `high`.
    pub performance_level: String,
    /// `unique_id`, on GPUs that have one.
    pub unique_id: String,
}

/// Whether a card's `uevent` names the amdgpu driver.
pub fn is_amdgpu(uevent: &str) -> bool {
    uevent.contains(AMDGPU_DRIVER)
}

/// The `chip` label of a card whose `device` link resolves to
/// `resolved`: the device's and its parent's names, cleaned as hwmon chip
/// names are (`0000:0a:00.0`, `0000:0b:00.0` give
/// `0000:0a:00_0_0000:0b:00_0`).
pub fn chip_name(resolved: &Path) -> String {
    let name = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .map(|n| clean_name(&n.to_string_lossy()))
            .unwrap_or_default()
    };
    let device = name(Some(resolved));
    let parent = name(resolved.parent());
    match (parent.is_empty(), device.is_empty()) {
        (false, false) => format!("{parent}_{device}"),
        _ => device,
    }
}

/// Parses a counter or size attribute as node_exporter does (Go's base-0
/// unsigned syntax).
pub fn parse_value(text: &str) -> Result<u64, String> {
    go_uint(text.trim()).ok_or_else(|| format!("invalid value {:?}", text.trim()))
}

impl AmdgpuCard {
    /// Reads card `name` at `dir` (`<sysfs>/class/drm/card0`); `None` when
    /// it is not an amdgpu card.
    pub fn read(name: &str, dir: &Path) -> Result<Option<AmdgpuCard>, String> {
        let device = dir.join("device");
        let uevent = match read_trimmed(&device.join("uevent")) {
            Ok(text) => text,
            Err(err) if err.raw_os_error() == Some(libc::ENODATA) => return Ok(None),
            Err(err) => return Err(format!("reading device/uevent: {err}")),
        };
        if !is_amdgpu(&uevent) {
            return Ok(None);
        }
        let resolved =
            fs::canonicalize(&device).map_err(|e| format!("resolving the device link: {e}"))?;
        let text = |file: &str| read_trimmed(&device.join(file)).ok();
        let value = |file: &str| match text(file) {
            Some(text) => parse_value(&text).map_err(|e| format!("device/{file}: {e}")),
            None => Ok(0),
        };
        Ok(Some(AmdgpuCard {
            name: name.to_string(),
            chip: chip_name(&resolved),
            gpu_busy_percent: value("gpu_busy_percent")?,
            gtt_total: value("mem_info_gtt_total")?,
            gtt_used: value("mem_info_gtt_used")?,
            vis_vram_total: value("mem_info_vis_vram_total")?,
            vis_vram_used: value("mem_info_vis_vram_used")?,
            vram_total: value("mem_info_vram_total")?,
            vram_used: value("mem_info_vram_used")?,
            vram_vendor: text("mem_info_vram_vendor").unwrap_or_default(),
            performance_level: text("power_dpm_force_performance_level").unwrap_or_default(),
            unique_id: text("unique_id").unwrap_or_default(),
        }))
    }
}

/// Whether `name` is one of the cards node_exporter looks at: `card` and
/// one digit (its pattern is `card[0-9]`).
pub fn is_card(name: &str) -> bool {
    name.strip_prefix("card")
        .is_some_and(|n| n.len() == 1 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Reads every amdgpu card; none when the class is absent.
fn read_cards(host: &Host) -> Result<Vec<AmdgpuCard>, CollectError> {
    let root = host.sys_path("class/drm");
    let entries = match fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(CollectError::io(&root, &err)),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| is_card(name))
        .collect();
    names.sort();
    let mut cards = Vec::new();
    for name in names {
        let dir: PathBuf = root.join(&name);
        if let Some(card) =
            AmdgpuCard::read(&name, &dir).map_err(|e| CollectError::parse(&dir, e))?
        {
            cards.push(card);
        }
    }
    Ok(cards)
}

/// A per-card gauge: its name after `node_drm_`, help, and value.
type CardGauge = (&'static str, &'static str, fn(&AmdgpuCard) -> u64);

const CARD_GAUGES: &[CardGauge] = &[
    (
        "gpu_busy_percent",
        "How busy the GPU is as a percentage.",
        |c| c.gpu_busy_percent,
    ),
    (
        "memory_gtt_size_bytes",
        "The size of the graphics translation table (GTT) block in bytes.",
        |c| c.gtt_total,
    ),
    (
        "memory_gtt_used_bytes",
        "The used amount of the graphics translation table (GTT) block in bytes.",
        |c| c.gtt_used,
    ),
    (
        "memory_vram_size_bytes",
        "The size of VRAM in bytes.",
        |c| c.vram_total,
    ),
    (
        "memory_vram_used_bytes",
        "The used amount of VRAM in bytes.",
        |c| c.vram_used,
    ),
    (
        "memory_vis_vram_size_bytes",
        "The size of visible VRAM in bytes.",
        |c| c.vis_vram_total,
    ),
    (
        "memory_vis_vram_used_bytes",
        "The used amount of visible VRAM in bytes.",
        |c| c.vis_vram_used,
    ),
];

impl Collector for DrmCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let cards = read_cards(host)?;
        let info = out.family(
            "node_drm_card_info",
            "Card information",
            MetricType::Gauge,
            &[
                "card",
                "memory_vendor",
                "power_performance_level",
                "unique_id",
                "chip",
                "vendor",
            ],
        );
        for c in &cards {
            let labels = [
                c.name.as_str(),
                &c.vram_vendor,
                &c.performance_level,
                &c.unique_id,
                &c.chip,
                "amd",
            ];
            info.push(&labels, 1.0);
        }
        for &(name, help, value) in CARD_GAUGES {
            let family = out.family(
                format!("node_drm_{name}"),
                help,
                MetricType::Gauge,
                &["card"],
            );
            for c in &cards {
                family.push(&[&c.name], value(c) as f64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        build, host_with_sysfs, scrape_fixtures, write_files,
    };

    #[test]
    fn cards_drivers_and_chips() {
        for name in ["card0", "card9"] {
            assert!(is_card(name), "{name}");
        }
        for name in ["card10", "card0-DP-1", "renderD128", "card", "version"] {
            assert!(!is_card(name), "{name}");
        }
        assert!(is_amdgpu(
            "DRIVER=amdgpu\nPCI_CLASS=30000\nPCI_ID=1002:73BF"
        ));
        assert!(!is_amdgpu("DRIVER=i915\nPCI_CLASS=30000"));
        assert!(!is_amdgpu(""));
        assert_eq!(
            chip_name(Path::new(
                "/sys/devices/pci0000:00/0000:00:03.1/0000:0b:00.0"
            )),
            "0000:00:03_1_0000:0b:00_0"
        );
        assert_eq!(
            chip_name(Path::new("/sys/devices/pci0000:00/0000:00:02.0")),
            "pci0000:00_0000:00:02_0"
        );
        assert_eq!(chip_name(Path::new("/")), "");
    }

    #[test]
    fn values() {
        assert_eq!(parse_value("17163091968\n"), Ok(17_163_091_968));
        assert_eq!(parse_value("0"), Ok(0));
        assert!(parse_value("-1").is_err());
        assert!(parse_value("").is_err());
        assert!(parse_value("99999999999999999999999").is_err());
    }

    #[test]
    fn reads_an_older_card_and_refuses_garbage() {
        // Kernels before 5.2 lack gpu_busy_percent on some GPUs, and older
        // APUs lack mem_info_vram_vendor and unique_id.
        let dir = tempfile::tempdir().unwrap();
        let device = dir
            .path()
            .join("devices/pci0000:00/0000:00:01.0/0000:01:00.0");
        write_files(
            &device,
            &[
                ("uevent", "DRIVER=amdgpu\nPCI_CLASS=30000\n"),
                ("mem_info_vram_total", "4294967296\n"),
                ("mem_info_vram_used", "1073741824\n"),
            ],
        );
        let card = dir.path().join("class/drm/card0");
        std::fs::create_dir_all(&card).unwrap();
        std::os::unix::fs::symlink(&device, card.join("device")).unwrap();
        let read = AmdgpuCard::read("card0", &card).unwrap().unwrap();
        assert_eq!(
            read,
            AmdgpuCard {
                name: "card0".into(),
                chip: "0000:00:01_0_0000:01:00_0".into(),
                vram_total: 4_294_967_296,
                vram_used: 1_073_741_824,
                ..AmdgpuCard::default()
            }
        );
        write_files(&device, &[("gpu_busy_percent", "busy\n")]);
        let err = AmdgpuCard::read("card0", &card).unwrap_err();
        assert!(err.contains("gpu_busy_percent"), "{err}");
        write_files(&device, &[("uevent", "DRIVER=nouveau\n")]);
        assert_eq!(AmdgpuCard::read("card0", &card), Ok(None));
    }

    #[test]
    fn reports_the_fixture_host() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_drm_card_info Card information",
            r#"node_drm_card_info{card="card0",chip="0000:00:03_1_0000:0b:00_0",memory_vendor="samsung",power_performance_level="auto",unique_id="a8d2f9e1c0b3d4e5",vendor="amd"} 1"#,
            r#"node_drm_gpu_busy_percent{card="card0"} 4"#,
            r#"node_drm_memory_gtt_size_bytes{card="card0"} 1.6840155136e+10"#,
            r#"node_drm_memory_vram_used_bytes{card="card0"} 1.012199424e+09"#,
            r#"node_drm_memory_vis_vram_size_bytes{card="card0"} 1.7163091968e+10"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        assert!(
            !text.contains(r#"card="card1""#),
            "an i915 card is not reported"
        );
    }

    #[test]
    fn no_drm_class_is_no_card() {
        let dir = tempfile::tempdir().unwrap();
        let built = build(&SPEC, host_with_sysfs(dir.path()), &[]).unwrap();
        let (families, result) = built.run();
        assert!(result.is_ok());
        assert!(families.iter().all(|f| f.is_empty()), "{families:?}");
    }
}
