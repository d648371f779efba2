//! Sysfs attributes: read whole in one `read(2)`, and through a device
//! directory held open ([`SysfsDir`]) so that each attribute's open walks
//! one component rather than the whole path.

use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::kept_files::{dir_key, process_kept_files, KeptFiles};
use super::read::read_path;

/// Largest sysfs attribute: the kernel formats one into a single page.
const SYSFS_ATTRIBUTE_BYTES: usize = 4096;

/// Reads a sysfs attribute with a single `read(2)`, untrimmed, with invalid
/// UTF-8 replaced. The kernel hands over a whole attribute in one read; a
/// second read is not needed, and some broken hwmon drivers answer it with
/// EAGAIN forever. A `/proc/sys` value is handed over whole as well, so it
/// is read the same way. Attributes that may be are kept open for the next read
/// (see [`super::kept_files`]).
pub fn read_sysfs_attribute(path: &Path) -> io::Result<String> {
    read_path(process_kept_files(), path, read_attribute_once)
}

/// Reads a one-value sysfs attribute or `/proc/sys` value (see
/// [`read_sysfs_attribute`]), trimmed of surrounding whitespace.
pub fn read_trimmed(path: &Path) -> io::Result<String> {
    let text = read_sysfs_attribute(path)?;
    Ok(text.trim().to_string())
}

/// The single read of [`read_sysfs_attribute`], from offset 0 (or, for a
/// file without offsets such as a FIFO, from where it is).
fn read_attribute_once(file: &File) -> io::Result<String> {
    // On the stack and left uninitialised (zeroing a page per attribute cost
    // more than the read): the text is then copied into a string of its own
    // size.
    let mut buffer = [MaybeUninit::<u8>::uninit(); SYSFS_ATTRIBUTE_BYTES];
    let mut positioned = true;
    let length = loop {
        let (fd, into, room) = (file.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len());
        // SAFETY: the buffer is valid for writes of its whole length.
        let read = unsafe {
            if positioned {
                libc::pread(fd, into, room, 0)
            } else {
                libc::read(fd, into, room)
            }
        };
        if read >= 0 {
            break read as usize;
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => {}
            Some(libc::ESPIPE) if positioned => positioned = false,
            _ => return Err(err),
        }
    };
    // SAFETY: pread(2) initialised the first `length` bytes.
    let text = unsafe { std::slice::from_raw_parts(buffer.as_ptr().cast::<u8>(), length) };
    Ok(String::from_utf8_lossy(text).into_owned())
}

/// Calls `f` with `name` as a C string, built on the stack when it is short
/// (attribute names are), so that an attribute read allocates only its text.
fn with_c_name<T>(name: &str, f: impl FnOnce(&CStr) -> io::Result<T>) -> io::Result<T> {
    let mut buffer = [0u8; 128];
    if name.len() >= buffer.len() {
        return f(&CString::new(name)?);
    }
    buffer[..name.len()].copy_from_slice(name.as_bytes());
    let name = CStr::from_bytes_with_nul(&buffer[..=name.len()])
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains a NUL byte"))?;
    f(name)
}

/// A sysfs directory held open, whose attributes are opened relative to it.
///
/// Opening `/sys/class/net/eth0/mtu` walks every component again, through
/// the class symlink into `/sys/devices/...`: most of what an open costs in
/// sysfs. A device with twenty attributes is walked once this way, and when
/// the process keeps files open, its attributes are kept under the
/// directory's identity (see [`super::kept_files`]).
#[derive(Debug)]
pub struct SysfsDir {
    fd: OwnedFd,
    /// Where attributes are kept, with the directory's device and inode.
    kept: Option<(&'static KeptFiles, (u64, u64))>,
    /// The key of the attribute being read, reused between attributes.
    key: RefCell<Vec<u8>>,
}

impl SysfsDir {
    /// Opens the directory at `path` (following symlinks) for lookups only.
    pub fn open(path: &Path) -> io::Result<SysfsDir> {
        SysfsDir::open_keeping(path, process_kept_files())
    }

    /// [`SysfsDir::open`], keeping attributes open in `kept`.
    fn open_keeping(path: &Path, kept: Option<&'static KeptFiles>) -> io::Result<SysfsDir> {
        let c_path = CString::new(path.as_os_str().as_bytes())?;
        // SAFETY: `c_path` is a NUL-terminated string that outlives the call.
        let fd = unsafe {
            libc::open(
                c_path.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let kept = kept
            .filter(|kept| kept.may_keep_in_dir(path))
            .and_then(|kept| Some((kept, identity(&fd)?)));
        Ok(SysfsDir {
            fd,
            kept,
            key: RefCell::default(),
        })
    }

    /// Reads the attribute `name` (a file name or a relative path such as
    /// `statistics/rx_bytes`) as [`read_sysfs_attribute`] does.
    pub fn read_attribute(&self, name: &str) -> io::Result<String> {
        let open = || {
            with_c_name(name, |name| {
                // SAFETY: `name` is a NUL-terminated string that outlives
                // the call, and `self.fd` is an open directory.
                let fd = unsafe {
                    libc::openat(
                        self.fd.as_raw_fd(),
                        name.as_ptr(),
                        libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY,
                    )
                };
                if fd < 0 {
                    return Err(io::Error::last_os_error());
                }
                // SAFETY: `fd` was just opened and is owned by nothing else.
                Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
            })
        };
        match self.kept {
            Some((kept, dir)) => {
                let mut key = self.key.borrow_mut();
                kept.read(dir_key(&mut key, dir, name), open, read_attribute_once)
            }
            None => read_attribute_once(&open()?),
        }
    }
}

/// The device and inode of an open file: what a kernel object keeps when
/// renamed, and what a new object of the same name does not share.
fn identity(fd: &OwnedFd) -> Option<(u64, u64)> {
    // SAFETY: all-zero bytes are a valid `struct stat`, which fstat only
    // writes, and the descriptor is open for the call.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut stat) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // The fields' widths differ by target.
    Some((stat.st_dev as u64, stat.st_ino as u64))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::host::tests::make_fifo;

    #[test]
    fn an_attribute_without_offsets_is_read_in_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = make_fifo(dir.path(), "value");
        let writer = std::thread::spawn({
            let fifo = fifo.clone();
            move || fs::write(fifo, "42\n").unwrap()
        });
        assert_eq!(
            read_attribute_once(&File::open(&fifo).unwrap()).unwrap(),
            "42\n"
        );
        writer.join().unwrap();
    }

    #[test]
    fn sysfs_dir_reads_attributes_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("eth0/statistics")).unwrap();
        fs::write(dir.path().join("eth0/mtu"), "1500\n").unwrap();
        fs::write(dir.path().join("eth0/statistics/rx_bytes"), "42\n").unwrap();
        std::os::unix::fs::symlink(dir.path().join("eth0"), dir.path().join("link")).unwrap();
        let eth0 = SysfsDir::open(&dir.path().join("link")).unwrap();
        assert_eq!(eth0.read_attribute("mtu").unwrap(), "1500\n");
        assert_eq!(eth0.read_attribute("statistics/rx_bytes").unwrap(), "42\n");
        let missing = eth0.read_attribute("speed").unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            eth0.read_attribute("bad\0name").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        let gone = SysfsDir::open(&dir.path().join("eth1")).unwrap_err();
        assert_eq!(gone.kind(), io::ErrorKind::NotFound);
        let not_a_dir = SysfsDir::open(&dir.path().join("eth0/mtu")).unwrap_err();
        assert_eq!(not_a_dir.raw_os_error(), Some(libc::ENOTDIR));
    }

    #[test]
    fn attributes_are_kept_under_the_directorys_identity() {
        let kept: &'static KeptFiles = Box::leak(Box::new(KeptFiles::new(
            Path::new("/proc"),
            Path::new("/sys"),
            8,
        )));
        // The same device through its class link and its real directory:
        // one kept attribute. Another device: another.
        let by_class = SysfsDir::open_keeping(Path::new("/sys/class/net/lo"), Some(kept)).unwrap();
        let real = fs::canonicalize("/sys/class/net/lo").unwrap();
        let by_device = SysfsDir::open_keeping(&real, Some(kept)).unwrap();
        let mtu = by_class.read_attribute("mtu").unwrap();
        assert_eq!(by_device.read_attribute("mtu").unwrap(), mtu);
        assert_eq!(kept.len(), 1);
        let cpu = SysfsDir::open_keeping(Path::new("/sys/devices/system/cpu"), Some(kept)).unwrap();
        assert!(cpu.read_attribute("online").unwrap().starts_with('0'));
        assert_eq!(kept.len(), 2);
        // Missing attributes are not kept.
        assert!(by_class.read_attribute("no_such_attribute").is_err());
        assert_eq!(kept.len(), 2);
    }

    #[test]
    fn sysfs_attributes_are_read_whole_and_untrimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("temp1_label");
        std::fs::write(&path, b"Package id 0\n").unwrap();
        assert_eq!(read_sysfs_attribute(&path).unwrap(), "Package id 0\n");
        assert!(read_sysfs_attribute(dir.path()).is_err(), "a directory");
        assert!(read_sysfs_attribute(&dir.path().join("missing")).is_err());
    }
}
