//! Block device properties from the udev database: one file per device,
//! `<udev data>/b<major>:<minor>`, whose `E:KEY=VALUE` lines are the device's
//! environment as udev rules left it (model, serial, filesystem, LVM names).

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

use crate::host::read_text;

/// The `E:` properties of one udev database file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UdevProperties {
    values: HashMap<String, String>,
}

impl UdevProperties {
    /// Parses a udev database file. Only `E:` (property) lines count; other
    /// records (`S:` symlinks, `I:` init time, `G:` tags...) are skipped, and
    /// a later value for the same key replaces an earlier one.
    pub fn parse(text: &str) -> UdevProperties {
        let values = text
            .lines()
            .filter_map(|line| line.strip_prefix("E:"))
            .filter_map(|property| property.split_once('='))
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        UdevProperties { values }
    }

    /// The value of `key`, or `""` when absent (as a missing label value).
    pub fn get(&self, key: &str) -> &str {
        self.values.get(key).map_or("", String::as_str)
    }

    /// The value of `key`, distinguishing absent from empty.
    pub fn lookup(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }
}

/// A device's udev properties as last read, with the identity of the file
/// they came from, so that a scrape re-reads the file only when udev has
/// rewritten it (new filesystem, device replaced).
#[derive(Debug, Clone, Default)]
pub struct CachedUdev {
    stamp: Option<FileStamp>,
    /// The properties; empty when the device has no udev file.
    pub properties: Arc<UdevProperties>,
}

/// What changes when udev rewrites a file: it writes a new file and renames
/// it over the old one, so the inode changes even within one mtime tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    inode: u64,
    len: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl CachedUdev {
    /// The properties in `path`, reusing `self` when the file is unchanged.
    /// A missing or unreadable file gives empty properties, as a device
    /// without udev data simply has empty labels.
    pub fn refreshed(&self, path: &Path) -> CachedUdev {
        let stamp = match fs::metadata(path) {
            Ok(meta) => FileStamp {
                inode: meta.ino(),
                len: meta.len(),
                mtime: meta.mtime(),
                mtime_nsec: meta.mtime_nsec(),
            },
            Err(_) => return CachedUdev::default(),
        };
        if self.stamp == Some(stamp) {
            return self.clone();
        }
        match read_text(path) {
            Ok(text) => CachedUdev {
                stamp: Some(stamp),
                properties: Arc::new(UdevProperties::parse(&text)),
            },
            Err(err) => {
                tracing::debug!(path = %path.display(), err = %err, "cannot read udev data");
                CachedUdev::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SATA_DISK: &str = "S:disk/by-id/ata-ST4000DM004-2CV104_ZFN0ABCD\n\
        I:1234567\n\
        E:ID_ATA=1\n\
        E:ID_MODEL=ST4000DM004-2CV104\n\
        E:ID_SERIAL_SHORT=ZFN0ABCD\n\
        E:ID_PATH=pci-0000:00:17.0-ata-1\n\
        E:ID_EMPTY=\n\
        E:ID_WITH_EQUALS=a=b\n\
        G:systemd\n";

    #[test]
    fn parses_property_lines_only() {
        let p = UdevProperties::parse(SATA_DISK);
        assert_eq!(p.get("ID_MODEL"), "ST4000DM004-2CV104");
        assert_eq!(p.get("ID_SERIAL_SHORT"), "ZFN0ABCD");
        assert_eq!(p.get("ID_WITH_EQUALS"), "a=b");
        assert_eq!(p.lookup("ID_EMPTY"), Some(""));
        assert_eq!(p.lookup("ID_MISSING"), None);
        assert_eq!(p.get("ID_MISSING"), "");
        assert_eq!(p.get("systemd"), "");
    }

    #[test]
    fn garbage_gives_no_properties() {
        let p = UdevProperties::parse("\0\0garbage\nE:no-equals-sign\n:::\n");
        assert_eq!(p, UdevProperties::default());
    }

    #[test]
    fn cache_rereads_only_a_rewritten_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b8:0");
        std::fs::write(&path, "E:ID_FS_TYPE=ext4\n").unwrap();
        let first = CachedUdev::default().refreshed(&path);
        assert_eq!(first.properties.get("ID_FS_TYPE"), "ext4");
        let again = first.refreshed(&path);
        assert!(Arc::ptr_eq(&first.properties, &again.properties));

        // udev replaces the file (write + rename): a new inode.
        let staged = dir.path().join("staged");
        std::fs::write(&staged, "E:ID_FS_TYPE=xfs\n").unwrap();
        std::fs::rename(&staged, &path).unwrap();
        assert_eq!(again.refreshed(&path).properties.get("ID_FS_TYPE"), "xfs");

        std::fs::remove_file(&path).unwrap();
        assert_eq!(again.refreshed(&path).properties.get("ID_FS_TYPE"), "");
    }
}
