//! `dmi`: the firmware's description of the machine (BIOS, board, chassis,
//! product) from `<sysfs>/class/dmi/id/`, as the labels of `node_dmi_info`.
//!
//! The tables cannot change without a reboot, so they are read once, when
//! the collector is built. Files only root may read (the serial numbers and
//! `product_uuid`) are left out, and so are their labels, as node_exporter
//! does: the label set of `node_dmi_info` depends on the agent's privileges.

use std::fs;
use std::io;
use std::path::Path;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "dmi",
    default_enabled: true,
    reads: "/sys/class/dmi/id/*",
    flags: None,
    build,
};

/// Each attribute file reported and the label it becomes.
const LABELS: [(&str, &str); 20] = [
    ("bios_date", "bios_date"),
    ("bios_release", "bios_release"),
    ("bios_vendor", "bios_vendor"),
    ("bios_version", "bios_version"),
    ("board_asset_tag", "board_asset_tag"),
    ("board_name", "board_name"),
    ("board_serial", "board_serial"),
    ("board_vendor", "board_vendor"),
    ("board_version", "board_version"),
    ("chassis_asset_tag", "chassis_asset_tag"),
    ("chassis_serial", "chassis_serial"),
    ("chassis_vendor", "chassis_vendor"),
    ("chassis_version", "chassis_version"),
    ("product_family", "product_family"),
    ("product_name", "product_name"),
    ("product_serial", "product_serial"),
    ("product_sku", "product_sku"),
    ("product_uuid", "product_uuid"),
    ("product_version", "product_version"),
    ("sys_vendor", "system_vendor"),
];

const HELP: &str = "A metric with a constant '1' value labeled by bios_date, bios_release, \
bios_vendor, bios_version, board_asset_tag, board_name, board_serial, board_vendor, \
board_version, chassis_asset_tag, chassis_serial, chassis_vendor, chassis_version, \
product_family, product_name, product_serial, product_sku, product_uuid, product_version, \
system_vendor if provided by DMI.";

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let dir = ctx.host.sys_path("class/dmi/id");
    // A host without DMI tables (most ARM boards) has no directory: that
    // is "no data" at each scrape. Any other failure is reported at each
    // scrape too, rather than keeping the agent from starting.
    let table = match DmiTable::read(&dir) {
        Ok(table) => Ok(table),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(DmiTable::default()),
        Err(err) => Err(CollectError::failed(format!(
            "failed to read Desktop Management Interface (DMI) information: {}: {err}",
            dir.display()
        ))),
    };
    Ok(Box::new(DmiCollector { table }))
}

/// Reports `node_dmi_info`.
struct DmiCollector {
    /// Read once at start-up.
    table: Result<DmiTable, CollectError>,
}

/// The DMI attributes this host lets the agent read: label name and value,
/// in label-name order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DmiTable {
    /// Label name and trimmed attribute content.
    pub labels: Vec<(&'static str, String)>,
}

impl DmiTable {
    /// Reads the attribute files of `dir`. An attribute the agent may not
    /// read is left out; any other failure to read one fails the whole.
    pub fn read(dir: &Path) -> io::Result<DmiTable> {
        let mut present = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if !entry.file_type()?.is_file() {
                continue;
            }
            let name = entry.file_name();
            let Some(&(_, label)) = LABELS.iter().find(|(file, _)| name == *file) else {
                continue;
            };
            match read_sysfs_attribute(&entry.path()) {
                Ok(value) => present.push((label, value)),
                Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {}
                Err(err) => return Err(err),
            }
        }
        Ok(DmiTable::from_attributes(present))
    }

    /// The table from raw attribute contents by label: values trimmed, as
    /// sysfs ends each with a newline, and put in label order.
    pub fn from_attributes(attributes: Vec<(&'static str, String)>) -> DmiTable {
        let mut labels: Vec<(&'static str, String)> = attributes
            .into_iter()
            .map(|(label, value)| (label, value.trim().to_string()))
            .collect();
        labels.sort();
        DmiTable { labels }
    }
}

impl Collector for DmiCollector {
    fn update(&self, _: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let table = self.table.as_ref().map_err(Clone::clone)?;
        if table.labels.is_empty() {
            return Err(CollectError::no_data(
                "platform does not support Desktop Management Interface (DMI) information",
            ));
        }
        let names: Vec<&str> = table.labels.iter().map(|(name, _)| *name).collect();
        let values: Vec<&str> = table.labels.iter().map(|(_, v)| v.as_str()).collect();
        out.family("node_dmi_info", HELP, MetricType::Gauge, &names)
            .push(&values, 1.0);
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
    fn attributes_become_sorted_trimmed_labels() {
        let table = DmiTable::from_attributes(vec![
            ("system_vendor", "QEMU\n".to_string()),
            ("bios_date", "04/01/2014\n".to_string()),
            ("board_asset_tag", "\n".to_string()),
        ]);
        assert_eq!(
            table.labels,
            vec![
                ("bios_date", "04/01/2014".to_string()),
                ("board_asset_tag", String::new()),
                ("system_vendor", "QEMU".to_string()),
            ]
        );
    }

    #[test]
    fn reads_known_regular_files_only() {
        let dir = tempfile::tempdir().unwrap();
        write_files(
            dir.path(),
            &[
                ("sys_vendor", "LENOVO\n"),
                ("product_name", "20XW0055GE\n"),
                ("modalias", "dmi:bvnLENOVO:\n"),
                ("uevent", "MODALIAS=dmi:bvnLENOVO:\n"),
                ("chassis_type", "10\n"),
            ],
        );
        fs::create_dir(dir.path().join("power")).unwrap();
        let table = DmiTable::read(dir.path()).unwrap();
        assert_eq!(
            table.labels,
            vec![
                ("product_name", "20XW0055GE".to_string()),
                ("system_vendor", "LENOVO".to_string()),
            ]
        );
    }

    #[test]
    fn a_host_without_dmi_has_no_data() {
        let host = host_with_sysfs(Path::new("/nonexistent/sys"));
        let collector = build(&SPEC, host, &[]).unwrap();
        let (families, result) = collector.run();
        assert!(families.is_empty());
        assert_eq!(
            result.unwrap_err().kind(),
            crate::collectors::ErrorKind::NoData
        );
    }

    #[test]
    fn fixture_table() {
        let text = scrape_fixtures(&SPEC, &[]);
        assert!(text.contains(&format!("# HELP node_dmi_info {HELP}\n")));
        assert!(text.contains("# TYPE node_dmi_info gauge\n"));
        assert!(
            text.contains(r#"bios_vendor="SeaBIOS""#)
                && text.contains(r#"system_vendor="QEMU""#)
                && text.contains(r#"product_uuid=""#),
            "{text}"
        );
        assert_eq!(text.matches("node_dmi_info{").count(), 1);
    }
}
