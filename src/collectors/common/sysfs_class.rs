//! Reading a sysfs device class (`<sysfs>/class/<class>/*/`) whose devices
//! carry optional attributes, as the Fibre Channel and InfiniBand
//! collectors do.

use std::fs;
use std::path::Path;

use crate::collectors::CollectError;
use crate::host::Host;

/// Reads every device of `<sysfs>/class/<class>` with `read(name, dir)`.
/// A missing class is "no data"; a device `read` refuses fails the run.
pub fn read_devices<T>(
    host: &Host,
    class: &str,
    read: impl Fn(&str, &Path) -> Result<T, String>,
) -> Result<Vec<T>, CollectError> {
    read_devices_where(host, class, |_| true, read)
}

/// As [`read_devices`], but only the devices whose name `wanted` accepts;
/// nothing of the others is read.
pub fn read_devices_where<T>(
    host: &Host,
    class: &str,
    wanted: impl Fn(&str) -> bool,
    read: impl Fn(&str, &Path) -> Result<T, String>,
) -> Result<Vec<T>, CollectError> {
    let root = host.sys_path(&format!("class/{class}"));
    let entries = fs::read_dir(&root).map_err(|e| CollectError::io_or_no_data(&root, &e))?;
    let mut devices = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !wanted(&name) {
            continue;
        }
        let device =
            read(&name, &entry.path()).map_err(|e| CollectError::parse(&entry.path(), e))?;
        devices.push(device);
    }
    Ok(devices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_of_a_class() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("class/demo/b")).unwrap();
        std::fs::create_dir_all(dir.path().join("class/demo/a")).unwrap();
        let host = Host::new("/nonexistent", dir.path(), "/", "/nonexistent");
        let mut names = read_devices(&host, "demo", |name, _| Ok(name.to_string())).unwrap();
        names.sort();
        assert_eq!(names, ["a", "b"]);
        let err = read_devices(&host, "demo", |_, _| Err::<(), _>("bad".to_string())).unwrap_err();
        assert!(err.message().contains("bad"), "{err}");
        let err = read_devices(&host, "absent", |_, _| Ok(())).unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::NoData);
    }
}
