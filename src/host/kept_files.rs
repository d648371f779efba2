//! Procfs and sysfs files kept open between scrapes and read again from the
//! start.
//!
//! Opening a kernel file costs more than reading it: the path is walked, and
//! the kernel allocates a file, its seq_file state and its read buffer, all
//! freed again at close. Measured on a 2 vCPU VM: a sysfs attribute opened,
//! read and closed took 1.8 µs, read again through an open descriptor
//! 0.5 µs; `/proc/1/net/snmp` 11.6 µs against 5.1 µs. A scrape reads some 150
//! such files. A kept file is read with `pread(2)` at offset 0, which makes
//! the kernel produce the file's content afresh, as a new open would.
//!
//! # What may be kept
//! Only a file that names the same kernel object for as long as it exists,
//! so that a descriptor can never go on answering for something else:
//! - procfs files by path, except under `<procfs>/<pid>` for any pid other
//!   than 1 (a pid is reused by the next process);
//! - sysfs files by path under `devices/system/`, `fs/` and `kernel/`, whose
//!   names are fixed by the kernel;
//! - attributes of a device directory opened by [`crate::host::SysfsDir`],
//!   keyed by the directory's inode rather than its path: a network
//!   interface can be renamed and its name given to another, and each scrape
//!   opens the directory afresh to see which device the name now means.
//!
//! A file is kept only when it lies on procfs or sysfs (checked with
//! `fstatfs(2)` once, when it is first kept, after a check of the roots
//! themselves at start): files on a disk can be replaced by a rename, and a
//! kept descriptor would go on reading the old one. It must also be
//! readable at an offset: a kernel file opened as a stream is read in
//! sequence, and a kept one would resume where its last read ended.
//!
//! A device that goes away leaves its descriptors answering `ENODEV`; such a
//! descriptor is dropped and the path opened again, so a device removed and
//! added back is read afresh.
//!
//! # Bounds
//! Each kept file holds kernel memory: its `struct file`, the seq_file and a
//! read buffer of at least a page, charged to the agent's memory cgroup. At
//! most [`CAPACITY`] files are kept (~5 KiB of kernel memory each). Once the
//! set is full, files not read in the last [`MAX_IDLE_READS`] reads (those of
//! removed devices, or of collectors no longer scraped) are closed to make
//! room; a file that finds no room is opened and closed as before.

use std::collections::HashMap;
use std::fs::File;
use std::hash::BuildHasherDefault;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use crate::unpoisoned::lock;
use crate::word_hash::WordHasher;

/// Most files kept open: enough for the default collectors on a host with a
/// dozen network interfaces (each has some twenty attributes read every
/// scrape), while bounding the kernel memory held to about a megabyte.
pub const CAPACITY: usize = 256;

/// Reads after which a file not read again may be closed to make room:
/// many scrapes' worth, so that files read every scrape are never closed.
pub const MAX_IDLE_READS: u64 = 16 * CAPACITY as u64;

/// `f_type` of procfs, from `<linux/magic.h>`.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// `f_type` of sysfs, from `<linux/magic.h>`.
const SYSFS_MAGIC: i64 = 0x6265_6572;

/// The set of kept files, with the roots whose files may be kept.
#[derive(Debug)]
pub struct KeptFiles {
    /// The roots' bytes without trailing slashes (see [`under_root`]).
    procfs: Box<[u8]>,
    sysfs: Box<[u8]>,
    /// Whether the roots are procfs and sysfs at all: a copied tree (the
    /// test fixtures) is neither, and its files are then read as before
    /// without a check of each.
    procfs_is_kernel: bool,
    sysfs_is_kernel: bool,
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// By key: a path's bytes, or [`dir_key`] for an attribute of a device
    /// directory. `file` is `None` while a reader has it out.
    slots: HashMap<Box<[u8]>, Slot, BuildHasherDefault<WordHasher>>,
    /// Reads so far, the clock for [`Slot::last_read`].
    reads: u64,
    /// The read count before which the full set is not searched again for
    /// idle files: a host with more files than room would otherwise search
    /// it on every read.
    next_sweep: u64,
}

#[derive(Debug)]
struct Slot {
    file: Option<File>,
    last_read: u64,
}

static PROCESS_KEPT_FILES: OnceLock<KeptFiles> = OnceLock::new();

/// Has the process keep files under `procfs` and `sysfs` open (see the
/// module documentation), at most a quarter of `descriptor_limit`. Called
/// once at start-up; without it, every read opens and closes its file.
pub fn keep_files_open(procfs: &Path, sysfs: &Path, descriptor_limit: usize) {
    let capacity = CAPACITY.min(descriptor_limit / 4);
    let _ = PROCESS_KEPT_FILES.set(KeptFiles::new(procfs, sysfs, capacity));
}

/// The process's kept files, if [`keep_files_open`] was called.
pub fn process_kept_files() -> Option<&'static KeptFiles> {
    PROCESS_KEPT_FILES.get()
}

/// The key of attribute `name` of the directory with identity `dir` (device
/// and inode), built in `buffer`. It starts with a NUL byte, which no path
/// key can.
pub fn dir_key<'a>(buffer: &'a mut Vec<u8>, dir: (u64, u64), name: &str) -> &'a [u8] {
    buffer.clear();
    buffer.push(0);
    buffer.extend_from_slice(&dir.0.to_le_bytes());
    buffer.extend_from_slice(&dir.1.to_le_bytes());
    buffer.extend_from_slice(name.as_bytes());
    buffer
}

impl KeptFiles {
    /// A set keeping at most `capacity` files under the two roots.
    pub fn new(procfs: &Path, sysfs: &Path, capacity: usize) -> KeptFiles {
        KeptFiles {
            procfs: root_bytes(procfs),
            sysfs: root_bytes(sysfs),
            procfs_is_kernel: File::open(procfs).is_ok_and(|f| on_kernel_filesystem(&f)),
            sysfs_is_kernel: File::open(sysfs).is_ok_and(|f| on_kernel_filesystem(&f)),
            capacity,
            state: Mutex::default(),
        }
    }

    /// Whether the file at `path` may be kept: it names one kernel object
    /// for good, under a root that is procfs or sysfs. (Whether the file
    /// itself is on one is checked when it is first kept.)
    pub fn may_keep_path(&self, path: &Path) -> bool {
        let path = path.as_os_str().as_bytes();
        if let Some(rest) = under_root(path, &self.procfs) {
            return self.procfs_is_kernel && names_lasting_proc_object(rest);
        }
        if let Some(rest) = under_root(path, &self.sysfs) {
            return self.sysfs_is_kernel && names_lasting_sys_object(rest);
        }
        false
    }

    /// Whether attributes of the directory at `path` may be kept (by the
    /// directory's identity): it lies under a sysfs root.
    pub fn may_keep_in_dir(&self, path: &Path) -> bool {
        self.sysfs_is_kernel && under_root(path.as_os_str().as_bytes(), &self.sysfs).is_some()
    }

    /// Reads the file kept under `key` with `read`, or the one `open` gives
    /// when none is kept, and keeps that if there is room. `read` must read
    /// from offset 0 with positioned reads.
    ///
    /// A kept file that answers `ENODEV` or `ESTALE` (its object is gone) is
    /// closed and `open` tried instead. Any other answer, error or not, is
    /// the file's, and the file stays kept.
    pub fn read<T>(
        &self,
        key: &[u8],
        open: impl FnOnce() -> io::Result<File>,
        mut read: impl FnMut(&File) -> io::Result<T>,
    ) -> io::Result<T> {
        if let Some(file) = self.take(key) {
            match read(&file) {
                Err(err) if is_gone(&err) => self.forget(key),
                result => {
                    self.put_back(key, file);
                    return result;
                }
            }
        }
        let file = open()?;
        let result = read(&file);
        if !matches!(&result, Err(err) if is_gone(err)) {
            self.keep(key, file);
        }
        result
    }

    /// How many files are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Whether no file is kept.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Takes the file kept under `key` out for one reader; another reader
    /// of the same key meanwhile opens its own.
    fn take(&self, key: &[u8]) -> Option<File> {
        let mut state = self.lock();
        state.reads += 1;
        let now = state.reads;
        let slot = state.slots.get_mut(key)?;
        slot.last_read = now;
        slot.file.take()
    }

    fn put_back(&self, key: &[u8], file: File) {
        if let Some(slot) = self.lock().slots.get_mut(key) {
            slot.file.get_or_insert(file);
        }
    }

    fn forget(&self, key: &[u8]) {
        self.lock().slots.remove(key);
    }

    /// Keeps a newly opened file, if it is on procfs or sysfs, can be read
    /// at an offset, and there is room (after closing idle files if the set
    /// is full).
    fn keep(&self, key: &[u8], file: File) {
        {
            let mut state = self.lock();
            if let Some(slot) = state.slots.get_mut(key) {
                // Another reader kept one meanwhile, or had it out.
                slot.file.get_or_insert(file);
                return;
            }
            if state.slots.len() >= self.capacity {
                let now = state.reads;
                if now < state.next_sweep {
                    return;
                }
                state.next_sweep = now + self.capacity as u64;
                state.slots.retain(|_, slot| {
                    slot.file.is_none() || now - slot.last_read <= MAX_IDLE_READS
                });
                if state.slots.len() >= self.capacity {
                    return;
                }
            }
        }
        if !on_kernel_filesystem(&file) || !reads_at_offsets(&file) {
            return;
        }
        let mut state = self.lock();
        let now = state.reads;
        state.slots.entry(key.into()).or_insert(Slot {
            file: Some(file),
            last_read: now,
        });
    }
}

/// A root as [`under_root`] compares it: its bytes without trailing
/// slashes, so `/` is empty.
fn root_bytes(root: &Path) -> Box<[u8]> {
    let bytes = root.as_os_str().as_bytes();
    let end = bytes.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    bytes[..end].into()
}

/// The part of `path` under `root` (from [`root_bytes`]), without leading
/// slashes; `None` when `path` does not start with root's components.
///
/// Compared as bytes, not as [`Path`] components (which cost more than the
/// read they guard): the paths come from joining names to the same roots,
/// so both spell the root alike. A path that spells it otherwise is taken
/// as not under the root, and its file is simply not kept.
fn under_root<'a>(path: &'a [u8], root: &[u8]) -> Option<&'a [u8]> {
    let rest = path.strip_prefix(root)?;
    match rest.first() {
        None => Some(rest),
        Some(b'/') => {
            let start = rest.iter().position(|&b| b != b'/').unwrap_or(rest.len());
            Some(&rest[start..])
        }
        Some(_) => None,
    }
}

/// Whether `rest`, a path under procfs, names one kernel object for as long
/// as it exists: not under a pid directory other than 1's, and free of
/// `.` and `..` components that would make its first component a lie.
fn names_lasting_proc_object(rest: &[u8]) -> bool {
    let first = rest.split(|&b| b == b'/').next().unwrap_or_default();
    let process = !first.is_empty() && first.iter().all(u8::is_ascii_digit);
    !first.is_empty() && (!process || first == b"1") && !has_dot_component(rest)
}

/// Whether `rest`, a path under sysfs, lies in a part whose names the
/// kernel fixes: `devices/system`, `fs` or `kernel`.
fn names_lasting_sys_object(rest: &[u8]) -> bool {
    let stable = [&b"devices/system"[..], b"fs", b"kernel"]
        .iter()
        .any(|part| under_root(rest, part).is_some());
    stable && !has_dot_component(rest)
}

/// Whether `path` has a `.` or `..` component.
fn has_dot_component(path: &[u8]) -> bool {
    path.split(|&b| b == b'/')
        .any(|component| component == b"." || component == b"..")
}

/// Whether `file` can be read at an offset. A kernel file opened as a
/// stream (`nonseekable_open`) cannot: its readers fall back to reading in
/// sequence, which through a kept descriptor would start where the last
/// read ended. The kernel refuses `lseek` on exactly those files.
fn reads_at_offsets(file: &File) -> bool {
    // SAFETY: lseek only moves (here: reports) the descriptor's offset.
    unsafe { libc::lseek(file.as_raw_fd(), 0, libc::SEEK_CUR) >= 0 }
}

/// Whether an error from a kept file means its object is gone.
fn is_gone(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::ENODEV | libc::ESTALE))
}

/// Whether `file` lies on procfs or sysfs.
pub fn on_kernel_filesystem(file: &File) -> bool {
    // SAFETY: all-zero bytes are a valid `struct statfs`, which fstatfs only
    // writes, and the descriptor is open for the call.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut stat) } != 0 {
        return false;
    }
    #[allow(clippy::unnecessary_cast)] // f_type's width differs by target.
    let kind = stat.f_type as i64;
    kind == PROC_SUPER_MAGIC || kind == SYSFS_MAGIC
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::FromRawFd;
    use std::os::unix::fs::FileExt;

    fn read_all(file: &File) -> io::Result<String> {
        let mut bytes = vec![0; 64 * 1024];
        let n = file.read_at(&mut bytes, 0)?;
        bytes.truncate(n);
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn open(path: &str) -> impl FnOnce() -> io::Result<File> + '_ {
        move || File::open(path)
    }

    #[test]
    fn only_paths_of_lasting_objects_may_be_kept() {
        let kept = KeptFiles::new(Path::new("/host/proc"), Path::new("/host/sys"), 8);
        // Roots that are not procfs or sysfs: nothing is kept.
        assert!(!kept.may_keep_path(Path::new("/host/proc/stat")));
        assert!(!kept.may_keep_in_dir(Path::new("/host/sys/class/net/lo")));
        let kept = KeptFiles {
            procfs_is_kernel: true,
            sysfs_is_kernel: true,
            ..kept
        };
        for path in [
            "/host/proc/stat",
            "/host/proc/1/net/dev",
            "/host/proc/self/stat",
            "/host/proc/sys/fs/file-nr",
            "/host/proc/pressure/cpu",
            "/host/sys/devices/system/cpu/cpu0/topology/core_id",
            "/host/sys/fs/xfs/stats/stats",
            "/host/sys/kernel/mm/ksm/pages_shared",
        ] {
            assert!(kept.may_keep_path(Path::new(path)), "{path}");
        }
        for path in [
            "/host/proc/4242/stat",
            "/host/proc/12/net/dev",
            "/host/proc",
            "/host/sys/class/net/eth0/mtu",
            "/host/sys/block/sda/stat",
            "/host/root/etc/os-release",
            "/proc/stat",
            "/host/procfs/stat",
            "/host/proc/./4242/stat",
            "/host/sys/fs/../class/net/eth0/mtu",
            "/host/sys/devices/systemd/x",
        ] {
            assert!(!kept.may_keep_path(Path::new(path)), "{path}");
        }
        // Roots given with trailing slashes, and the root directory itself.
        let kept = KeptFiles {
            procfs: root_bytes(Path::new("/host/proc/")),
            sysfs: root_bytes(Path::new("/")),
            ..kept
        };
        assert!(kept.may_keep_path(Path::new("/host/proc/stat")));
        assert!(kept.may_keep_path(Path::new("/kernel/mm/ksm/run")));
        assert!(!kept.may_keep_path(Path::new("/class/net/eth0/mtu")));
        assert!(kept.may_keep_in_dir(Path::new("/class/net/eth0")));
    }

    #[test]
    fn the_real_roots_are_kernel_filesystems() {
        let kept = KeptFiles::new(Path::new("/proc"), Path::new("/sys"), 8);
        assert!(kept.may_keep_path(Path::new("/proc/stat")));
        assert!(kept.may_keep_path(Path::new("/sys/devices/system/cpu/online")));
        assert!(kept.may_keep_in_dir(Path::new("/sys/class/net/lo")));
        assert!(!kept.may_keep_in_dir(Path::new("/proc/1")));
    }

    #[test]
    fn a_kept_file_is_read_afresh() {
        // The process's own I/O counters grow with every read, this one's
        // included: a second read through the kept file must see them grow.
        let kept = KeptFiles::new(Path::new("/proc"), Path::new("/sys"), 8);
        let key = b"/proc/self/io";
        let rchar = |text: String| -> u64 {
            let line = text.lines().find(|l| l.starts_with("rchar:")).unwrap();
            line[6..].trim().parse().unwrap()
        };
        let first = rchar(kept.read(key, open("/proc/self/io"), read_all).unwrap());
        assert_eq!(kept.len(), 1, "the file is kept");
        let not_opened = || -> io::Result<File> { panic!("a kept file is not opened again") };
        let second = rchar(kept.read(key, not_opened, read_all).unwrap());
        assert!(second > first, "{second} > {first}");
        assert_eq!(kept.len(), 1);
    }

    #[test]
    fn only_files_with_offsets_are_kept() {
        assert!(reads_at_offsets(&File::open("/proc/self/stat").unwrap()));
        let mut ends = [0; 2];
        // SAFETY: pipe writes two descriptors into the array it is given.
        assert_eq!(unsafe { libc::pipe(ends.as_mut_ptr()) }, 0);
        // SAFETY: both descriptors were just opened and are owned here.
        let (reader, writer) = unsafe { (File::from_raw_fd(ends[0]), File::from_raw_fd(ends[1])) };
        assert!(!reads_at_offsets(&reader));
        drop(writer);
    }

    #[test]
    fn files_on_disks_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stat");
        std::fs::write(&path, "cpu 1 2 3\n").unwrap();
        let kept = KeptFiles::new(dir.path(), Path::new("/sys"), 8);
        let key = path.as_os_str().as_bytes();
        let text = kept.read(key, || File::open(&path), read_all).unwrap();
        assert_eq!(text, "cpu 1 2 3\n");
        assert!(kept.is_empty());
    }

    #[test]
    fn a_gone_file_is_opened_again_and_other_errors_are_the_files() {
        let kept = KeptFiles::new(Path::new("/proc"), Path::new("/sys"), 8);
        let key = b"/proc/self/stat";
        let gone =
            |_: &File| -> io::Result<String> { Err(io::Error::from_raw_os_error(libc::ENODEV)) };
        let refused =
            |_: &File| -> io::Result<String> { Err(io::Error::from_raw_os_error(libc::EINVAL)) };
        // A file whose first read says its object is gone is not kept.
        assert!(kept.read(key, open("/proc/self/stat"), gone).is_err());
        assert!(kept.is_empty());
        // A refusal is the file's answer: it stays kept.
        let err = kept
            .read(key, open("/proc/self/stat"), refused)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
        assert_eq!(kept.len(), 1);
        // A kept file that has gone is replaced by a newly opened one.
        let mut first = true;
        let reopened = kept.read(key, open("/proc/self/stat"), |file| {
            if std::mem::take(&mut first) {
                Err(io::Error::from_raw_os_error(libc::ENODEV))
            } else {
                read_all(file)
            }
        });
        assert!(reopened.unwrap().contains(") "));
        assert!(!first, "the kept file was read first");
        assert_eq!(kept.len(), 1);
    }

    #[test]
    fn idle_files_make_room_and_busy_ones_stay() {
        let kept = KeptFiles::new(Path::new("/proc"), Path::new("/sys"), 2);
        let paths = ["/proc/self/stat", "/proc/self/statm", "/proc/self/status"];
        kept.read(paths[0].as_bytes(), open(paths[0]), read_all)
            .unwrap();
        kept.read(paths[1].as_bytes(), open(paths[1]), read_all)
            .unwrap();
        // Full, and nothing idle: the third file is read but not kept.
        kept.read(paths[2].as_bytes(), open(paths[2]), read_all)
            .unwrap();
        assert_eq!(kept.len(), 2);
        // The first file is read again and again; the second goes idle.
        for _ in 0..=MAX_IDLE_READS {
            kept.read(paths[0].as_bytes(), open(paths[0]), read_all)
                .unwrap();
        }
        kept.read(paths[2].as_bytes(), open(paths[2]), read_all)
            .unwrap();
        let state = kept.lock();
        let mut keys: Vec<&[u8]> = state.slots.keys().map(|k| &k[..]).collect();
        keys.sort();
        assert_eq!(keys, [paths[0].as_bytes(), paths[2].as_bytes()]);
    }
}
