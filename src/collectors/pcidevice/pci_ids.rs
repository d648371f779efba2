//! The PCI ID database (`pci.ids`, from the pciutils/hwdata packages): a
//! pure parser from its text to name tables, and the lookups the
//! `pcidevice` collector's name labels use.
//!
//! The file lists vendors (`8086  Intel Corporation`), their devices one tab
//! in, and subsystems (`subvendor subdevice  name`) two tabs in; then device
//! classes (`C 01  Mass storage controller`), subclasses one tab in and
//! programming interfaces two tabs in. An ID is separated from its name by
//! two spaces. Lines are read as node_exporter reads them, so the same file
//! gives the same names: comments and blank lines skipped, a line without
//! the two-space separator ignored, a later entry for the same ID winning.
//!
//! Names are kept in one string and IDs as integers in sorted tables: the
//! real file (some 1.4 MB, 40,000 entries) costs about as much memory as its
//! size, and the caller bounds the size it reads.

use std::ops::Range;

/// Names of vendors, devices, subsystems and classes from a `pci.ids` file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PciIds {
    /// Every name kept, one after another.
    names: String,
    /// Vendor ID.
    vendors: Table,
    /// Vendor ID << 16 | device ID.
    devices: Table,
    /// Vendor << 48 | device << 32 | subsystem vendor << 16 | subsystem device.
    subsystems: Table,
    /// Base class.
    classes: Table,
    /// Base class << 8 | subclass.
    subclasses: Table,
    /// Base class << 16 | subclass << 8 | programming interface.
    interfaces: Table,
}

/// Names by integer key, sorted for binary search once parsing is done.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Table(Vec<(u64, Range<u32>)>);

impl Table {
    fn insert(&mut self, key: u64, name: Range<u32>) {
        self.0.push((key, name));
    }

    /// Sorts by key; of entries with the same key the last one given stays.
    fn finish(&mut self) {
        self.0.reverse();
        self.0.sort_by_key(|&(key, _)| key);
        self.0.dedup_by_key(|&mut (key, _)| key);
    }

    fn get(&self, key: u64) -> Option<Range<u32>> {
        let at = self.0.binary_search_by_key(&key, |&(k, _)| k).ok()?;
        Some(self.0[at].1.clone())
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// How many entries of each kind a parse kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub vendors: usize,
    pub devices: usize,
    pub subsystems: usize,
    pub classes: usize,
}

/// Where the parse is: the last vendor, device, class and subclass lines
/// seen, as IDs exactly as written, and whether a class line came after the
/// last vendor line.
#[derive(Default)]
struct Context<'a> {
    vendor: Option<&'a str>,
    device: Option<&'a str>,
    class: Option<&'a str>,
    subclass: Option<(&'a str, &'a str)>,
    in_classes: bool,
}

impl PciIds {
    /// Parses the text of a `pci.ids` file. Never fails: a line it cannot
    /// read names nothing, as in node_exporter.
    pub fn parse(text: &str) -> PciIds {
        let mut ids = PciIds::default();
        let mut at = Context::default();
        for line in text.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let tabs = line.bytes().take_while(|&b| b == b'\t').count();
            if line.starts_with("C ") {
                if let Some((c_and_id, name)) = id_and_name(line) {
                    let id = c_and_id[1..].trim();
                    ids.add_class(&[id], name);
                    at.class = Some(id);
                    at.in_classes = true;
                }
            } else if tabs == 1 && at.in_classes {
                if let (Some((id, name)), Some(class)) = (id_and_name(&line[1..]), at.class) {
                    ids.add_class(&[class, id], name);
                    at.subclass = Some((class, id));
                }
            } else if tabs == 2 && at.in_classes {
                if let (Some((id, name)), Some((class, subclass))) =
                    (id_and_name(&line[2..]), at.subclass)
                {
                    ids.add_class(&[class, subclass, id], name);
                }
            } else if tabs == 0 {
                if let Some((id, name)) = id_and_name(line) {
                    at.vendor = Some(id);
                    at.device = None;
                    at.in_classes = false;
                    if let Some(vendor) = hex16(id) {
                        let name = ids.keep(name);
                        ids.vendors.insert(vendor, name);
                    }
                }
            } else if tabs == 1 {
                if let (Some((id, name)), Some(vendor)) = (id_and_name(&line[1..]), at.vendor) {
                    at.device = Some(id);
                    if let (Some(vendor), Some(device)) = (hex16(vendor), hex16(id)) {
                        let name = ids.keep(name);
                        ids.devices.insert(vendor << 16 | device, name);
                    }
                }
            } else if let (Some((id, name)), Some(vendor), Some(device)) =
                (id_and_name(&line[2..]), at.vendor, at.device)
            {
                // Three tabs or more land here too, as they do in
                // node_exporter; the ID then rarely reads as two hex words.
                let mut words = id.split_whitespace();
                if let (Some(sub_vendor), Some(sub_device), None) =
                    (words.next(), words.next(), words.next())
                {
                    let key = [vendor, device, sub_vendor, sub_device]
                        .into_iter()
                        .try_fold(0u64, |key, word| Some(key << 16 | hex16(word)?));
                    if let Some(key) = key {
                        let name = ids.keep(name);
                        ids.subsystems.insert(key, name);
                    }
                }
            }
        }
        for table in [
            &mut ids.vendors,
            &mut ids.devices,
            &mut ids.subsystems,
            &mut ids.classes,
            &mut ids.subclasses,
            &mut ids.interfaces,
        ] {
            table.finish();
        }
        ids.names.shrink_to_fit();
        ids
    }

    /// How many entries the file named.
    pub fn counts(&self) -> Counts {
        Counts {
            vendors: self.vendors.len(),
            devices: self.devices.len(),
            subsystems: self.subsystems.len(),
            classes: self.classes.len() + self.subclasses.len() + self.interfaces.len(),
        }
    }

    /// The vendor's name; its ID in four hex digits when unknown.
    pub fn vendor_name(&self, vendor: u32) -> String {
        let key = u16::try_from(vendor).ok().map(u64::from);
        self.name_or(&self.vendors, key, || format!("{vendor:04x}"))
    }

    /// The device's name; its ID in four hex digits when unknown.
    pub fn device_name(&self, vendor: u32, device: u32) -> String {
        let key = words_key(&[vendor, device]);
        self.name_or(&self.devices, key, || format!("{device:04x}"))
    }

    /// The subsystem's name under its device; the subsystem device ID in
    /// four hex digits when unknown.
    pub fn subsystem_name(
        &self,
        vendor: u32,
        device: u32,
        sub_vendor: u32,
        sub_device: u32,
    ) -> String {
        let key = words_key(&[vendor, device, sub_vendor, sub_device]);
        self.name_or(&self.subsystems, key, || format!("{sub_device:04x}"))
    }

    /// The most precise name of a 24-bit class code: its programming
    /// interface's, else its subclass's, else its base class's; else
    /// `Unknown class (<code>)`.
    pub fn class_name(&self, class: u32) -> String {
        let code = format!("{class:06x}");
        let lookups = [
            (6, &self.interfaces),
            (4, &self.subclasses),
            (2, &self.classes),
        ];
        for (digits, table) in lookups {
            let key = code
                .get(..digits)
                .and_then(|prefix| u64::from_str_radix(prefix, 16).ok());
            if let Some(name) = key.and_then(|key| table.get(key)) {
                return self.text(name).to_string();
            }
        }
        format!("Unknown class ({code})")
    }

    fn name_or(&self, table: &Table, key: Option<u64>, unknown: impl Fn() -> String) -> String {
        match key.and_then(|key| table.get(key)) {
            Some(name) => self.text(name).to_string(),
            None => unknown(),
        }
    }

    fn text(&self, name: Range<u32>) -> &str {
        &self.names[name.start as usize..name.end as usize]
    }

    /// Appends `name` to the kept names and returns where it is.
    fn keep(&mut self, name: &str) -> Range<u32> {
        let start = self.names.len();
        self.names.push_str(name);
        // The caller bounds the file far below 4 GiB.
        let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        to_u32(start)..to_u32(self.names.len())
    }

    /// Adds a class (one ID), subclass (two) or programming interface
    /// (three), each ID two hex digits.
    fn add_class(&mut self, ids: &[&str], name: &str) {
        let key = ids
            .iter()
            .try_fold(0u64, |key, id| Some(key << 8 | hex8(id)?));
        let Some(key) = key else {
            return;
        };
        let name = self.keep(name);
        let table = match ids.len() {
            1 => &mut self.classes,
            2 => &mut self.subclasses,
            _ => &mut self.interfaces,
        };
        table.insert(key, name);
    }
}

/// Splits `<id>  <name>` at its first two spaces, both trimmed.
fn id_and_name(line: &str) -> Option<(&str, &str)> {
    let (id, name) = line.split_once("  ")?;
    Some((id.trim(), name.trim()))
}

/// A four-digit lower-case hex ID, as sysfs IDs are written when looked up
/// (an upper-case or shorter ID in the file never matches in node_exporter).
fn hex16(id: &str) -> Option<u64> {
    hex_digits(id, 4)
}

/// A two-digit lower-case hex class ID.
fn hex8(id: &str) -> Option<u64> {
    hex_digits(id, 2)
}

fn hex_digits(id: &str, digits: usize) -> Option<u64> {
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if id.len() != digits || !id.bytes().all(lower_hex) {
        return None;
    }
    u64::from_str_radix(id, 16).ok()
}

/// The table key of 16-bit `words`; `None` when one is wider (it then has
/// no four-digit name to match).
fn words_key(words: &[u32]) -> Option<u64> {
    words.iter().try_fold(0u64, |key, &word| {
        Some(key << 16 | u64::from(u16::try_from(word).ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Excerpts of the real file (pciutils 3.x / hwdata), tabs and all.
    const EXCERPT: &str = "\
#
#\tList of PCI ID's
#
#\tVersion: 2024.02.02
#\tDate:    2024-02-02 03:15:02
#

# Vendors, devices and subsystems. Please keep sorted.

# Syntax:
# vendor  vendor_name
#\tdevice  device_name\t\t\t\t<-- single tab
#\t\tsubvendor subdevice  subsystem_name\t<-- two tabs

0001  SafeNet (wrong ID)
1000  Broadcom / LSI
\t0001  53c810
\t\t1000 1000  LSI53C810AE PCI to SCSI I/O Processor
\t0097  SAS3008 PCI-Express Fusion-MPT SAS-3
\t\t1028 1f45  12GB/s HBA internal
\t\t15d9 0808  AOC-S3008L-L8e
10de  NVIDIA Corporation
\t20b0  GA100 [A100 SXM4 40GB]
\t\t10de 134f  A100-SXM4-40GB
8086  Intel Corporation
\t1572  Ethernet Controller X710 for 10GbE SFP+
\t\t1028 0000  Ethernet 10G X710 rNDC
\t\t8086 0001  Ethernet Converged Network Adapter X710-4
\t2030  Sky Lake-E PCI Express Root Port A
ffff  Illegal Vendor ID


# List of known device classes, subclasses and programming interfaces

# Syntax:
# C class\tclass_name
#\tsubclass\tsubclass_name  \t\t<-- single tab
#\t\tprog-if  prog-if_name  \t<-- two tabs

C 00  Unclassified device
\t00  Non-VGA unclassified device
\t01  VGA compatible unclassified device
C 01  Mass storage controller
\t06  SATA controller
\t\t00  Vendor specific
\t\t01  AHCI 1.0
\t08  Non-Volatile memory controller
\t\t01  NVMHCI
\t\t02  NVM Express
C 02  Network controller
\t00  Ethernet controller
C 06  Bridge
\t04  PCI bridge
\t\t00  Normal decode
\t\t01  Subtractive decode
C ff  Unassigned class
";

    #[test]
    fn vendors_devices_and_subsystems() {
        let ids = PciIds::parse(EXCERPT);
        assert_eq!(ids.vendor_name(0x8086), "Intel Corporation");
        assert_eq!(ids.vendor_name(0x1000), "Broadcom / LSI");
        assert_eq!(ids.vendor_name(0xffff), "Illegal Vendor ID");
        assert_eq!(
            ids.device_name(0x8086, 0x1572),
            "Ethernet Controller X710 for 10GbE SFP+"
        );
        assert_eq!(ids.device_name(0x10de, 0x20b0), "GA100 [A100 SXM4 40GB]");
        assert_eq!(
            ids.subsystem_name(0x1000, 0x0097, 0x1028, 0x1f45),
            "12GB/s HBA internal"
        );
        assert_eq!(
            ids.subsystem_name(0x8086, 0x1572, 0x1028, 0x0000),
            "Ethernet 10G X710 rNDC"
        );
        assert_eq!(
            ids.counts(),
            Counts {
                vendors: 5,
                devices: 5,
                subsystems: 6,
                classes: 17
            }
        );
    }

    #[test]
    fn unknown_ids_are_written_as_node_exporter_writes_them() {
        let ids = PciIds::parse(EXCERPT);
        assert_eq!(ids.vendor_name(0x1af4), "1af4");
        assert_eq!(ids.device_name(0x8086, 0x0001), "0001");
        assert_eq!(ids.device_name(0x1af4, 0x1041), "1041");
        // A subsystem is looked up under its own device only.
        assert_eq!(ids.subsystem_name(0x8086, 0x2030, 0x1028, 0x0000), "0000");
        assert_eq!(ids.vendor_name(0x1_0000), "10000");
        assert_eq!(ids.class_name(0x120000), "Unknown class (120000)");
    }

    #[test]
    fn classes_from_the_most_precise_level() {
        let ids = PciIds::parse(EXCERPT);
        assert_eq!(ids.class_name(0x010802), "NVM Express");
        assert_eq!(ids.class_name(0x010601), "AHCI 1.0");
        assert_eq!(ids.class_name(0x010800), "Non-Volatile memory controller");
        assert_eq!(ids.class_name(0x020000), "Ethernet controller");
        assert_eq!(ids.class_name(0x060400), "Normal decode");
        assert_eq!(ids.class_name(0x068000), "Bridge");
        assert_eq!(ids.class_name(0xff0000), "Unassigned class");
        // Classes never leak into vendors, nor subclasses into devices.
        assert_eq!(ids.vendor_name(0x0001), "SafeNet (wrong ID)");
        assert_eq!(ids.device_name(0xffff, 0x0000), "0000");
    }

    #[test]
    fn a_later_entry_wins_and_odd_lines_name_nothing() {
        let text = "\
8086  Intel
8086  Intel Corporation
\t1572  X710
\t1572  Ethernet Controller X710
1af4 Red Hat, Inc. (one space)
\t1000  Virtio network device
\t\t1af4 0001  one
\t\t1af4  no subsystem device
\t\t1af4 0002 0003  three words
\t\t\t1af4 0004  three tabs
ABCD  Upper-case vendor
86  Short vendor
\t2000  Device of a vendor that never matches
C 0g  Bad class
\t00  Orphan subclass
\t\t00  Orphan interface
";
        let ids = PciIds::parse(text);
        assert_eq!(ids.vendor_name(0x8086), "Intel Corporation");
        assert_eq!(ids.device_name(0x8086, 0x1572), "Ethernet Controller X710");
        assert_eq!(ids.vendor_name(0xabcd), "abcd");
        assert_eq!(ids.vendor_name(0x0086), "0086");
        assert_eq!(ids.vendor_name(0x1af4), "1af4");
        // The one-space vendor line is ignored: its devices stay Intel's.
        assert_eq!(ids.device_name(0x8086, 0x1000), "Virtio network device");
        assert_eq!(ids.subsystem_name(0x8086, 0x1000, 0x1af4, 0x0001), "one");
        assert_eq!(
            ids.subsystem_name(0x8086, 0x1000, 0x1af4, 0x0004),
            "three tabs"
        );
        assert_eq!(ids.counts().subsystems, 2);
        assert_eq!(ids.counts().devices, 2);
        assert_eq!(ids.counts().classes, 0);
    }

    #[test]
    fn garbage_empty_and_truncated_text() {
        assert_eq!(PciIds::parse("").counts().vendors, 0);
        let binary: String = (0..=255u8).map(char::from).collect();
        let _ = PciIds::parse(&binary.repeat(4));
        let _ = PciIds::parse("\t\t\t\t  \n\tC   \nC  \n\t  x\n");
        let truncated = &EXCERPT[..EXCERPT.len() / 2];
        let ids = PciIds::parse(truncated);
        assert_eq!(ids.vendor_name(0x1000), "Broadcom / LSI");
        assert_eq!(ids.class_name(0x010802), "Unknown class (010802)");
        // Windows line ends: the names lose the carriage return.
        let ids = PciIds::parse("8086  Intel Corporation\r\n");
        assert_eq!(ids.vendor_name(0x8086), "Intel Corporation");
    }

    #[test]
    fn memory_follows_the_names_kept() {
        // Every device ID of one vendor: the tables hold integers and one
        // string of the names, smaller than the text.
        let mut text = String::from("8086  Intel Corporation\n");
        for device in 0..0x1_0000u32 {
            text.push_str(&format!("\t{device:04x}  Device {device}\n"));
        }
        let ids = PciIds::parse(&text);
        assert_eq!(ids.counts().devices, 0x1_0000);
        assert_eq!(ids.device_name(0x8086, 0xbeef), "Device 48879");
        assert!(ids.names.len() < text.len());
    }
}
