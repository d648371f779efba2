//! The btrfs ioctls that report per-device sizes and error counters of a
//! mounted filesystem: `BTRFS_IOC_FS_INFO`, `BTRFS_IOC_DEV_INFO` and
//! `BTRFS_IOC_GET_DEV_STATS`, with their argument structures laid out as in
//! the kernel's `include/uapi/linux/btrfs.h`.
//!
//! All unsafe code of the btrfs collector is here. The calls only read; the
//! kernel checks the file descriptor is on btrfs (else `ENOTTY`) and answers
//! `ENODEV` for a device id not in use.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// `BTRFS_IOCTL_MAGIC`.
const IOCTL_MAGIC: u32 = 0x94;
/// `BTRFS_DEVICE_PATH_NAME_MAX`.
const DEVICE_PATH_NAME_MAX: usize = 1024;
/// `BTRFS_DEV_STAT_VALUES_MAX`: write, read, flush, corruption and
/// generation errors, in that order.
const DEV_STAT_VALUES: usize = 5;
/// Highest device id tried: device ids are small in practice, and the bound
/// keeps a bogus `max_id` from turning one scrape into billions of calls.
const MAX_DEVICE_ID: u64 = 1 << 16;

/// `struct btrfs_ioctl_fs_info_args` (1024 bytes).
#[repr(C)]
struct FsInfoArgs {
    max_id: u64,
    num_devices: u64,
    fsid: [u8; 16],
    nodesize: u32,
    sectorsize: u32,
    clone_alignment: u32,
    csum_type: u16,
    csum_size: u16,
    flags: u64,
    generation: u64,
    metadata_uuid: [u8; 16],
    reserved: [u8; 944],
}

/// `struct btrfs_ioctl_dev_info_args` (4096 bytes). Kernels before 6.3 have
/// `unused[379]` in place of `fsid` and `unused[377]`; the size is the same.
#[repr(C)]
struct DevInfoArgs {
    devid: u64,
    uuid: [u8; 16],
    bytes_used: u64,
    total_bytes: u64,
    fsid: [u8; 16],
    unused: [u64; 377],
    path: [u8; DEVICE_PATH_NAME_MAX],
}

/// `struct btrfs_ioctl_get_dev_stats` (1032 bytes).
#[repr(C)]
struct GetDevStatsArgs {
    devid: u64,
    nr_items: u64,
    flags: u64,
    values: [u64; DEV_STAT_VALUES],
    unused: [u64; 128 - 2 - DEV_STAT_VALUES],
}

const IOC_FS_INFO: libc::Ioctl = libc::_IOR::<FsInfoArgs>(IOCTL_MAGIC, 31);
const IOC_DEV_INFO: libc::Ioctl = libc::_IOWR::<DevInfoArgs>(IOCTL_MAGIC, 30);
const IOC_GET_DEV_STATS: libc::Ioctl = libc::_IOWR::<GetDevStatsArgs>(IOCTL_MAGIC, 52);

/// One device of a mounted filesystem, as the ioctls report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStats {
    /// The device's path as the kernel knows it, e.g. `/dev/sda1`.
    pub path: String,
    /// The device's own UUID, formatted as `xxxxxxxx-xxxx-...`.
    pub uuid: String,
    /// Bytes allocated on the device.
    pub bytes_used: u64,
    /// The device's size in bytes.
    pub total_bytes: u64,
    /// Write, read, flush, corruption and generation error counts.
    pub errors: [u64; DEV_STAT_VALUES],
}

/// A mounted filesystem's id and devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesystemStats {
    /// The filesystem id as 32 lower-case hex digits, without dashes.
    pub fsid: String,
    /// Its devices, in device-id order.
    pub devices: Vec<DeviceStats>,
}

/// Reads the id and every device of the btrfs filesystem `dir` (any open
/// file or directory on it) is on.
pub fn filesystem_stats(dir: &File) -> io::Result<FilesystemStats> {
    let info = fs_info(dir)?;
    let mut devices = Vec::new();
    for devid in 0..=info.max_id.min(MAX_DEVICE_ID) {
        let device = match dev_info(dir, devid) {
            Ok(device) => device,
            // Device ids need not start at 0 nor be contiguous.
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => continue,
            Err(e) => return Err(e),
        };
        let errors = dev_stats(dir, devid)?;
        devices.push(DeviceStats {
            path: c_string(&device.path),
            uuid: format_uuid(&device.uuid),
            bytes_used: device.bytes_used,
            total_bytes: device.total_bytes,
            errors,
        });
        if devices.len() as u64 == info.num_devices {
            break;
        }
    }
    Ok(FilesystemStats {
        fsid: info.fsid.iter().map(|b| format!("{b:02x}")).collect(),
        devices,
    })
}

fn fs_info(dir: &File) -> io::Result<FsInfoArgs> {
    // SAFETY: FsInfoArgs is plain integers; all zeroes is a valid value.
    let mut args: FsInfoArgs = unsafe { std::mem::zeroed() };
    // SAFETY: the request's size is that of `args`, which outlives the call.
    check(unsafe { libc::ioctl(dir.as_raw_fd(), IOC_FS_INFO, &mut args) })?;
    Ok(args)
}

fn dev_info(dir: &File, devid: u64) -> io::Result<DevInfoArgs> {
    // SAFETY: DevInfoArgs is plain integers and bytes; all zeroes is valid.
    let mut args: DevInfoArgs = unsafe { std::mem::zeroed() };
    args.devid = devid;
    // SAFETY: the request's size is that of `args`, which outlives the call.
    check(unsafe { libc::ioctl(dir.as_raw_fd(), IOC_DEV_INFO, &mut args) })?;
    Ok(args)
}

fn dev_stats(dir: &File, devid: u64) -> io::Result<[u64; DEV_STAT_VALUES]> {
    // SAFETY: GetDevStatsArgs is plain integers; all zeroes is valid.
    let mut args: GetDevStatsArgs = unsafe { std::mem::zeroed() };
    args.devid = devid;
    args.nr_items = DEV_STAT_VALUES as u64;
    // SAFETY: the request's size is that of `args`, which outlives the call.
    check(unsafe { libc::ioctl(dir.as_raw_fd(), IOC_GET_DEV_STATS, &mut args) })?;
    Ok(args.values)
}

fn check(result: libc::c_int) -> io::Result<()> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The text of a NUL-terminated (or full) byte buffer.
fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// A UUID in its usual 8-4-4-4-12 form; `<zero>` for the nil UUID, as the
/// Go library node_exporter uses writes it.
fn format_uuid(uuid: &[u8; 16]) -> String {
    if uuid.iter().all(|&b| b == 0) {
        return "<zero>".to_string();
    }
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    format!(
        "{}-{}-{}-{}-{}",
        hex(&uuid[..4]),
        hex(&uuid[4..6]),
        hex(&uuid[6..8]),
        hex(&uuid[8..10]),
        hex(&uuid[10..])
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn argument_structures_match_the_kernel_layout() {
        assert_eq!(size_of::<FsInfoArgs>(), 1024);
        assert_eq!(offset_of!(FsInfoArgs, fsid), 16);
        assert_eq!(offset_of!(FsInfoArgs, flags), 48);
        assert_eq!(offset_of!(FsInfoArgs, metadata_uuid), 64);
        assert_eq!(size_of::<DevInfoArgs>(), 4096);
        assert_eq!(offset_of!(DevInfoArgs, uuid), 8);
        assert_eq!(offset_of!(DevInfoArgs, bytes_used), 24);
        assert_eq!(offset_of!(DevInfoArgs, total_bytes), 32);
        assert_eq!(offset_of!(DevInfoArgs, path), 3072);
        assert_eq!(size_of::<GetDevStatsArgs>(), 1032);
        assert_eq!(offset_of!(GetDevStatsArgs, values), 24);
    }

    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    #[test]
    fn request_numbers_match_the_kernel_headers() {
        // `libc::Ioctl` is unsigned with glibc and signed with musl.
        assert_eq!(IOC_FS_INFO as u32, 0x8400_941f);
        assert_eq!(IOC_DEV_INFO as u32, 0xd000_941e);
        assert_eq!(IOC_GET_DEV_STATS as u32, 0xc408_9434);
    }

    #[test]
    fn a_directory_not_on_btrfs_is_refused() {
        let dir = File::open(env!("CARGO_MANIFEST_DIR")).unwrap();
        // ENOTTY on other filesystems; the test tree is never on btrfs here,
        // and if it were the call would succeed with at least one device.
        match filesystem_stats(&dir) {
            Ok(stats) => assert!(!stats.devices.is_empty()),
            Err(e) => assert!(e.raw_os_error().is_some(), "{e}"),
        }
    }

    #[test]
    fn uuids_and_paths_are_formatted_as_the_go_library_does() {
        let uuid = [
            0x0a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x02,
            0x03, 0x04,
        ];
        assert_eq!(format_uuid(&uuid), "0abcdef0-1234-5678-9abc-def001020304");
        assert_eq!(format_uuid(&[0; 16]), "<zero>");
        assert_eq!(c_string(b"/dev/sda1\0garbage"), "/dev/sda1");
        assert_eq!(c_string(b"/dev/full"), "/dev/full");
    }
}
