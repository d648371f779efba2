//! What reading a sysfs attribute can answer besides its value: drivers
//! refuse attributes they do not implement, links that are down, devices
//! going away, in ways that mean "no value" rather than a failure.

use std::io;
use std::path::Path;

use crate::host::read_trimmed;

/// Errors that mean "this attribute has no value" rather than a failure:
/// missing files, EINVAL from a link that is down, unsupported operations,
/// permission, and ENODEV from an interface removed mid-read. Other sysfs
/// classes (Fibre Channel, InfiniBand) answer their absent counters alike.
pub fn means_no_value(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied | io::ErrorKind::InvalidInput
    ) || matches!(
        err.raw_os_error(),
        Some(libc::EINVAL | libc::EOPNOTSUPP | libc::ENODEV | libc::ENXIO)
    )
}

/// Reads one attribute, trimmed; `None` when the driver has no value for it
/// (absent, or refused as [`means_no_value`] says).
pub fn read_optional(path: &Path) -> Result<Option<String>, String> {
    match read_trimmed(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if means_no_value(&err) => Ok(None),
        Err(err) => Err(format!("reading {}: {err}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_attributes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("speed"), " 16 Gbit\n").unwrap();
        assert_eq!(
            read_optional(&dir.path().join("speed")),
            Ok(Some("16 Gbit".to_string()))
        );
        assert_eq!(read_optional(&dir.path().join("absent")), Ok(None));
        assert!(read_optional(dir.path()).is_err(), "a directory");
    }

    #[test]
    fn no_value_errors() {
        assert!(means_no_value(&io::Error::from_raw_os_error(libc::EINVAL)));
        assert!(means_no_value(&io::Error::from_raw_os_error(
            libc::EOPNOTSUPP
        )));
        assert!(means_no_value(&io::Error::from_raw_os_error(libc::ENOENT)));
        assert!(!means_no_value(&io::Error::from_raw_os_error(libc::EIO)));
    }
}
