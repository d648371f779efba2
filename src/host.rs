//! The host being observed: the roots of its procfs, sysfs, root filesystem and
//! udev database, and the one place where paths under them are built.
//!
//! In a pod the host is mounted somewhere like `/host`, so no collector may
//! name `/proc` or `/sys` itself: every path goes through [`Host`].

use std::cell::RefCell;
use std::ffi::{CStr, CString, OsString};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use crate::kept_files::{dir_key, process_kept_files, KeptFiles};

/// Largest file a collector reads in one go. Proc and sys files are small;
/// anything bigger is garbage or hostile, and is cut rather than read whole.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Longest line [`for_each_line`] hands over; the rest of a longer line is
/// skipped. Kernel table lines are a few hundred bytes at most.
pub const MAX_LINE_BYTES: u64 = 64 * 1024;

/// Most bytes [`for_each_line`] reads from one file: far beyond any real
/// socket table, and a bound on the time a file that never ends can take.
pub const MAX_STREAM_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// The roots under which the observed host's filesystems are mounted.
#[derive(Debug, Clone)]
pub struct Host {
    procfs: PathBuf,
    sysfs: PathBuf,
    rootfs: PathBuf,
    udev_data: PathBuf,
    /// Set once `<procfs>/1/net` has been read: PID 1 does not come and go,
    /// so later calls to [`Host::net_path`] skip the check.
    init_net_readable: OnceLock<()>,
}

impl Host {
    /// A host whose procfs, sysfs, root filesystem and udev database are
    /// mounted at the given paths (node_exporter's `--path.*` flags).
    pub fn new(
        procfs: impl Into<PathBuf>,
        sysfs: impl Into<PathBuf>,
        rootfs: impl Into<PathBuf>,
        udev_data: impl Into<PathBuf>,
    ) -> Host {
        Host {
            procfs: procfs.into(),
            sysfs: sysfs.into(),
            rootfs: rootfs.into(),
            udev_data: udev_data.into(),
            init_net_readable: OnceLock::new(),
        }
    }

    /// The procfs root, as given.
    pub fn procfs(&self) -> &Path {
        &self.procfs
    }

    /// The sysfs root, as given.
    pub fn sysfs(&self) -> &Path {
        &self.sysfs
    }

    /// The root filesystem, as given.
    pub fn rootfs(&self) -> &Path {
        &self.rootfs
    }

    /// The udev database directory, as given.
    pub fn udev_data(&self) -> &Path {
        &self.udev_data
    }

    /// A path under the procfs root, e.g. `proc_path("stat")`.
    pub fn proc_path(&self, relative: &str) -> PathBuf {
        joined(&self.procfs, &[relative])
    }

    /// Reads a file of PID 1's procfs directory (`<procfs>/1/<file>`): the
    /// host init's view, e.g. of the host's mounts when the agent shares the
    /// host's PID namespace. Falls back to the agent's own
    /// (`<procfs>/self/<file>`) when PID 1's is missing or unreadable
    /// (hidepid, owner-only files). Returns the directory read from, with
    /// the text; on failure, the path that failed, with the error.
    pub fn read_init_or_self(&self, file: &str) -> Result<(PathBuf, String), (PathBuf, io::Error)> {
        self.init_or_self(file, read_text)
    }

    /// Opens a file of PID 1's procfs directory, else of the agent's own, as
    /// [`Host::read_init_or_self`] reads one. Returns the file's path.
    pub fn open_init_or_self(&self, file: &str) -> Result<(PathBuf, File), (PathBuf, io::Error)> {
        self.init_or_self(file, |path| File::open(path))
            .map(|(dir, opened)| (joined(&dir, &[file]), opened))
    }

    /// `use_file` on `<procfs>/1/<file>`, else on `<procfs>/self/<file>`
    /// (see [`Host::read_init_or_self`]).
    fn init_or_self<T>(
        &self,
        file: &str,
        use_file: impl Fn(&Path) -> io::Result<T>,
    ) -> Result<(PathBuf, T), (PathBuf, io::Error)> {
        let init = joined(&self.procfs, &["1"]);
        let path = joined(&init, &[file]);
        match use_file(&path) {
            Ok(value) => Ok((init, value)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                ) =>
            {
                tracing::debug!(path = %path.display(), err = %e, "falling back to self/{file}");
                let own = joined(&self.procfs, &["self"]);
                let path = joined(&own, &[file]);
                use_file(&path)
                    .map(|value| (own, value))
                    .map_err(|e| (path, e))
            }
            Err(e) => Err((path, e)),
        }
    }

    /// The host's view of a per-network-namespace file under `/proc/net`,
    /// e.g. `net_path("snmp")`.
    ///
    /// `<procfs>/net` is the reading process's own namespace, which in a pod
    /// without host networking is the pod's; `<procfs>/1/net` is that of the
    /// host's init, so the host's in a pod sharing the host's PID namespace.
    /// `<procfs>/1/net` is used when it can be read, `<procfs>/net` otherwise
    /// (a procfs without pid 1 visible, or access to it denied).
    pub fn net_path(&self, file: &str) -> PathBuf {
        if self.init_net_readable.get().is_some()
            || fs::read_dir(joined(&self.procfs, &["1/net"])).is_ok()
        {
            self.init_net_readable.get_or_init(|| ());
            joined(&self.procfs, &["1/net", file])
        } else {
            joined(&self.procfs, &["net", file])
        }
    }

    /// A path under the sysfs root, e.g. `sys_path("class/net")`.
    pub fn sys_path(&self, relative: &str) -> PathBuf {
        joined(&self.sysfs, &[relative])
    }

    /// A host path (absolute, as the host sees it) under the root filesystem,
    /// e.g. `root_path("/etc/os-release")`.
    pub fn root_path(&self, host_path: &str) -> PathBuf {
        joined(&self.rootfs, &[host_path.trim_start_matches('/')])
    }

    /// Maps a path seen through the rootfs mount back to the host's own path,
    /// the inverse of [`Host::root_path`]. Paths outside rootfs come back as is.
    pub fn host_path_of(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(&self.rootfs) {
            Ok(rest) => Path::new("/").join(rest),
            Err(_) => path.to_path_buf(),
        }
    }

    /// Like [`Host::root_path`], but with the symbolic links along the path
    /// followed as the host would follow them: an absolute link target is
    /// taken under the root filesystem, not under the agent's own `/`.
    ///
    /// Host files such as `/etc/os-release` are often links; on NixOS it is
    /// an absolute one into `/etc/static`, which through a rootfs mount would
    /// otherwise land in the container's own tree. A component that cannot be
    /// inspected ends the resolution: opening the result then reports why.
    pub fn resolve_root_path(&self, host_path: &str) -> io::Result<PathBuf> {
        if self.rootfs == Path::new("/") {
            return Ok(self.root_path(host_path));
        }
        let mut pending = components_reversed(Path::new(host_path));
        // Relative to the root filesystem; popping it never climbs above it.
        let mut resolved = PathBuf::new();
        let mut links_followed = 0;
        while let Some(name) = pending.pop() {
            if name == ".." {
                resolved.pop();
                continue;
            }
            let candidate = resolved.join(&name);
            let on_disk = self.rootfs.join(&candidate);
            let is_link = fs::symlink_metadata(&on_disk)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
            if !is_link {
                resolved = candidate;
                continue;
            }
            links_followed += 1;
            if links_followed > MAX_LINKS_FOLLOWED {
                return Err(io::Error::other(format!(
                    "too many levels of symbolic links in {host_path}"
                )));
            }
            let target = fs::read_link(&on_disk)?;
            if target.is_absolute() {
                resolved = PathBuf::new();
            }
            pending.extend(components_reversed(&target));
        }
        Ok(self.rootfs.join(resolved))
    }
}

/// As many links as Linux follows in one lookup before `ELOOP`.
const MAX_LINKS_FOLLOWED: usize = 40;

/// `root` joined with each of `parts` in turn, as [`Path::join`] would,
/// allocated once at its full length: the paths of every read are built
/// this way, and growing a copy of the root cost a reallocation each.
fn joined(root: &Path, parts: &[&str]) -> PathBuf {
    let length = parts.iter().map(|part| part.len() + 1).sum::<usize>();
    let mut path = PathBuf::with_capacity(root.as_os_str().len() + length);
    path.push(root);
    for part in parts {
        path.push(part);
    }
    path
}

/// The normal and `..` components of `path`, last first, ready to be popped.
fn components_reversed(path: &Path) -> Vec<OsString> {
    path.components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

/// Reads a whole file as text, cut at [`MAX_FILE_BYTES`], with invalid UTF-8
/// replaced rather than refused: kernel files are ASCII, and a garbage byte
/// must cost one field, not the collector. Files that may be are kept open
/// for the next read (see [`crate::kept_files`]).
pub fn read_text(path: &Path) -> io::Result<String> {
    read_text_keeping(process_kept_files(), path)
}

/// [`read_text`], keeping files open in `kept`.
fn read_text_keeping(kept: Option<&KeptFiles>, path: &Path) -> io::Result<String> {
    read_path(kept, path, read_file_text)
}

/// Reads an open file whole from its start as [`read_text`] reads a path,
/// leaving the file's own offset alone: for files held open elsewhere.
pub fn read_file_text(file: &File) -> io::Result<String> {
    let bytes = read_from_start(file)?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
}

/// Reads the file at `path` with `read`: through a file kept in `kept`
/// when the path may be kept, else through one opened for this read.
fn read_path<T>(
    kept: Option<&KeptFiles>,
    path: &Path,
    mut read: impl FnMut(&File) -> io::Result<T>,
) -> io::Result<T> {
    match kept.filter(|kept| kept.may_keep_path(path)) {
        Some(kept) => kept.read(path.as_os_str().as_bytes(), || File::open(path), read),
        None => read(&File::open(path)?),
    }
}

/// Reads a file from offset 0 to its end, cut at [`MAX_FILE_BYTES`], with
/// positioned reads: the file's own offset is left alone, so a kept file
/// needs no seek before the next read. A file that has no offsets (a FIFO)
/// is read in sequence.
fn read_from_start(file: &File) -> io::Result<Vec<u8>> {
    // Room for most proc and sys files: read in one go, not after a small
    // probe read and a few reallocations.
    let mut bytes = Vec::with_capacity(4096);
    match read_at_offsets(file, &mut bytes) {
        Err(err) if err.raw_os_error() == Some(libc::ESPIPE) && bytes.is_empty() => {
            file.take(MAX_FILE_BYTES).read_to_end(&mut bytes)?;
            Ok(bytes)
        }
        result => result.map(|()| bytes),
    }
}

/// The positioned reads of [`read_from_start`], appending to `bytes`.
fn read_at_offsets(file: &File, bytes: &mut Vec<u8>) -> io::Result<()> {
    loop {
        if bytes.len() == bytes.capacity() {
            bytes.reserve(bytes.len());
        }
        let room = (bytes.capacity() - bytes.len()).min(MAX_FILE_BYTES as usize - bytes.len());
        if room == 0 {
            return Ok(());
        }
        let spare = bytes.spare_capacity_mut();
        // SAFETY: `spare` is valid for writes of `room` bytes; pread only
        // writes, and reports how many bytes it initialised.
        let read = unsafe {
            libc::pread(
                file.as_raw_fd(),
                spare.as_mut_ptr().cast(),
                room,
                bytes.len() as libc::off_t,
            )
        };
        match read {
            0 => return Ok(()),
            // SAFETY: pread initialised the next `read` bytes.
            n if n > 0 => unsafe { bytes.set_len(bytes.len() + n as usize) },
            _ => {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
    }
}

/// Reads a one-value sysfs attribute or `/proc/sys` value (see
/// [`read_sysfs_attribute`]), trimmed of surrounding whitespace.
pub fn read_trimmed(path: &Path) -> io::Result<String> {
    let text = read_sysfs_attribute(path)?;
    Ok(text.trim().to_string())
}

/// Why [`for_each_line`] stopped before the end of a file.
#[derive(Debug)]
pub enum LineError {
    /// Opening or reading the file failed.
    Io(io::Error),
    /// The caller refused a line: its number (from 1) and why.
    Refused {
        /// The line's number, from 1.
        line: usize,
        /// Why it was refused.
        message: String,
    },
}

/// Calls `each` with every line of the file at `path`, without its line
/// ending, stopping at the first line `each` refuses.
///
/// For tables that grow with the host's load (a busy host's `/proc/net/tcp`
/// runs to hundreds of megabytes): only one line is held in memory at a
/// time. Invalid UTF-8 is replaced, a line longer than [`MAX_LINE_BYTES`] is
/// handed over cut, and reading stops after [`MAX_STREAM_BYTES`].
pub fn for_each_line(
    path: &Path,
    each: impl FnMut(&str) -> Result<(), String>,
) -> Result<(), LineError> {
    let file = File::open(path).map_err(LineError::Io)?;
    lines_of(BufReader::new(file.take(MAX_STREAM_BYTES)), each)
}

/// [`for_each_line`] for a kernel table that writes one line per entry,
/// none longer than `longest_line` bytes (`/proc/net/udp`, `arp`): it stops
/// at the first read that shows the end was reached, without the read that
/// would return nothing.
///
/// That last read is not free: the kernel finds a table's n-th entry by
/// walking from its first, so each read of `/proc/net/udp` walks the whole
/// socket hash (16,384 slots here, about 10 µs) even when it finds nothing.
///
/// The file is read with positioned reads, and kept open for the next read
/// when it may be (see [`crate::kept_files`]): opening `/proc/1/net/udp`
/// costs more than reading a short table.
pub fn for_each_table_line(
    path: &Path,
    longest_line: usize,
    each: impl FnMut(&str) -> Result<(), String>,
) -> Result<(), LineError> {
    for_each_table_line_keeping(process_kept_files(), path, longest_line, each)
}

/// [`for_each_table_line`], keeping files open in `kept`.
fn for_each_table_line_keeping(
    kept: Option<&KeptFiles>,
    path: &Path,
    longest_line: usize,
    mut each: impl FnMut(&str) -> Result<(), String>,
) -> Result<(), LineError> {
    let result = read_path(kept, path, |file| {
        let table = TableReader {
            file: ReadAt { file, offset: 0 },
            longest_line,
            ended: false,
        };
        // A seq_file read hands over at most its buffer, a page for tables
        // of short lines: a larger buffer here would only be zeroed.
        let buffered = BufReader::with_capacity(SEQ_FILE_BUFFER, table.take(MAX_STREAM_BYTES));
        match lines_of(buffered, &mut each) {
            // A file without offsets (a FIFO) fails the first read: read it
            // in sequence, and to its end, as it may pause mid-table.
            Err(LineError::Io(err)) if err.raw_os_error() == Some(libc::ESPIPE) => Ok(lines_of(
                BufReader::new(file.take(MAX_STREAM_BYTES)),
                &mut each,
            )),
            // Given back as the read's error, so that a kept file whose
            // object is gone is opened afresh.
            Err(LineError::Io(err)) => Err(err),
            done => Ok(done),
        }
    });
    result.unwrap_or_else(|err| Err(LineError::Io(err)))
}

/// Reads a file in sequence with positioned reads from `offset`, leaving
/// the file's own offset alone: a kept file is read from its start again
/// without a seek, and the kernel produces its content afresh.
struct ReadAt<'a> {
    file: &'a File,
    offset: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.file.read_at(buf, self.offset)?;
        self.offset += read as u64;
        Ok(read)
    }
}

/// The smallest buffer the kernel's seq_file fills per read: one page.
const SEQ_FILE_BUFFER: usize = 4096;

/// Reads a table of single-line entries in sequence, ending at a read that
/// proves there is no more (see [`for_each_table_line`]).
struct TableReader<R> {
    file: R,
    /// The longest entry.
    longest_line: usize,
    ended: bool,
}

impl<R: Read> Read for TableReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ended {
            return Ok(0);
        }
        let read = self.file.read(buf)?;
        // A seq_file read stops short of the buffer asked for only at the
        // end of the table or when the next entry does not fit in what is
        // left of its own buffer of at least a page; a disk file's only at
        // its end. A short read with room left for the longest entry is
        // therefore the last.
        self.ended = read > 0 && read < buf.len() && read + self.longest_line <= SEQ_FILE_BUFFER;
        Ok(read)
    }
}

fn lines_of(
    mut reader: impl BufRead,
    mut each: impl FnMut(&str) -> Result<(), String>,
) -> Result<(), LineError> {
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut line)
            .map_err(LineError::Io)?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
        } else {
            skip_rest_of_line(&mut reader).map_err(LineError::Io)?;
        }
        each(&String::from_utf8_lossy(&line)).map_err(|message| LineError::Refused {
            line: number,
            message,
        })?;
    }
}

/// Consumes input up to and including the next newline, keeping nothing.
fn skip_rest_of_line(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(());
        }
        match buffer.iter().position(|&b| b == b'\n') {
            Some(end) => {
                reader.consume(end + 1);
                return Ok(());
            }
            None => {
                let all = buffer.len();
                reader.consume(all);
            }
        }
    }
}

/// Largest sysfs attribute: the kernel formats one into a single page.
const SYSFS_ATTRIBUTE_BYTES: usize = 4096;

/// Reads a sysfs attribute with a single `read(2)`, untrimmed, with invalid
/// UTF-8 replaced. The kernel hands over a whole attribute in one read; a
/// second read is not needed, and some broken hwmon drivers answer it with
/// EAGAIN forever. A `/proc/sys` value is handed over whole as well, so it
/// is read the same way. Attributes that may be are kept open for the next read
/// (see [`crate::kept_files`]).
pub fn read_sysfs_attribute(path: &Path) -> io::Result<String> {
    read_path(process_kept_files(), path, read_attribute_once)
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
/// directory's identity (see [`crate::kept_files`]).
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
    use super::*;

    #[test]
    fn joined_paths_equal_path_join_and_fit_their_allocation() {
        for (root, parts) in [
            ("/host/proc", &["1/net", "udp"][..]),
            ("/host/proc/", &["stat"][..]),
            ("/", &["etc/os-release"][..]),
            ("/sys", &["/abs", "rel"][..]),
            ("relative", &["", "x"][..]),
        ] {
            let root = Path::new(root);
            let path = joined(root, parts);
            let expected = parts
                .iter()
                .fold(root.to_path_buf(), |p, part| p.join(part));
            assert_eq!(path, expected, "{root:?} {parts:?}");
            // Never grown: still the one allocation made at the start.
            let length = parts.iter().map(|part| part.len() + 1).sum::<usize>();
            assert_eq!(path.capacity(), root.as_os_str().len() + length);
        }
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
    fn proc_files_are_kept_by_path_and_read_whole() {
        let kept = KeptFiles::new(Path::new("/proc"), Path::new("/sys"), 8);
        let first = read_text_keeping(Some(&kept), Path::new("/proc/self/mountinfo")).unwrap();
        let second = read_text_keeping(Some(&kept), Path::new("/proc/self/mountinfo")).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(first, second, "the mounts did not change");
        assert!(second.ends_with('\n') && second.lines().count() > 1);
    }

    /// A FIFO named `name` in `dir`: a file that cannot be read at offsets.
    fn make_fifo(dir: &Path, name: &str) -> PathBuf {
        let fifo = dir.join(name);
        let c_path = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: `c_path` is a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        fifo
    }

    #[test]
    fn files_without_offsets_are_read_in_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = make_fifo(dir.path(), "loadavg");
        let kept = KeptFiles::new(dir.path(), Path::new("/sys"), 8);
        let writer = std::thread::spawn({
            let fifo = fifo.clone();
            move || fs::write(fifo, "0.01 0.02 0.03 1/2 3\n").unwrap()
        });
        let text = read_text_keeping(Some(&kept), &fifo).unwrap();
        writer.join().unwrap();
        assert_eq!(text, "0.01 0.02 0.03 1/2 3\n");
        assert!(kept.is_empty());
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
    fn paths_are_built_under_the_roots() {
        let host = Host::new("/host/proc", "/host/sys", "/host/root", "/run/udev/data");
        assert_eq!(
            host.proc_path("1/mountinfo"),
            Path::new("/host/proc/1/mountinfo")
        );
        assert_eq!(host.sys_path("class/net"), Path::new("/host/sys/class/net"));
        assert_eq!(
            host.root_path("/etc/os-release"),
            Path::new("/host/root/etc/os-release")
        );
        assert_eq!(
            host.host_path_of(Path::new("/host/root/var/lib")),
            Path::new("/var/lib")
        );
        assert_eq!(host.host_path_of(Path::new("/host/root")), Path::new("/"));
    }

    #[test]
    fn init_files_fall_back_to_the_agents_own() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(dir.path(), "/sys", "/", "/run/udev/data");
        let (path, _) = host.read_init_or_self("mountstats").unwrap_err();
        assert_eq!(path, dir.path().join("self/mountstats"));
        fs::create_dir_all(dir.path().join("self")).unwrap();
        fs::write(dir.path().join("self/mountstats"), "own").unwrap();
        let (from, text) = host.read_init_or_self("mountstats").unwrap();
        assert_eq!((from, text.as_str()), (dir.path().join("self"), "own"));
        fs::create_dir_all(dir.path().join("1")).unwrap();
        fs::write(dir.path().join("1/mountstats"), "init").unwrap();
        let (from, text) = host.read_init_or_self("mountstats").unwrap();
        assert_eq!((from, text.as_str()), (dir.path().join("1"), "init"));
    }

    #[test]
    fn root_path_with_slash_root_is_identity() {
        let host = Host::new("/proc", "/sys", "/", "/run/udev/data");
        assert_eq!(
            host.root_path("/etc/os-release"),
            Path::new("/etc/os-release")
        );
        assert_eq!(host.host_path_of(Path::new("/etc")), Path::new("/etc"));
    }

    #[test]
    fn resolve_root_path_keeps_absolute_links_under_the_root() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let store = root.join("nix/store/abc-etc/etc");
        fs::create_dir_all(&store).unwrap();
        fs::write(store.join("os-release"), "ID=nixos\n").unwrap();
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        // NixOS: two absolute links, the second one on a directory.
        symlink("/nix/store/abc-etc/etc", root.join("etc/static")).unwrap();
        symlink("/etc/static/os-release", root.join("etc/os-release")).unwrap();
        // Debian and Fedora: a relative link.
        fs::write(root.join("usr/lib/os-release"), "ID=debian\n").unwrap();
        symlink("../usr/lib/os-release", root.join("etc/debian-release")).unwrap();
        // `..` above the root stays at the root, as on the host.
        symlink("../../../usr/lib/os-release", root.join("etc/climbing")).unwrap();
        symlink("loop-b", root.join("etc/loop-a")).unwrap();
        symlink("loop-a", root.join("etc/loop-b")).unwrap();

        let host = Host::new("/proc", "/sys", root, "/run/udev/data");
        let read = |p: &str| fs::read_to_string(host.resolve_root_path(p).unwrap()).unwrap();
        assert_eq!(read("/etc/os-release"), "ID=nixos\n");
        assert_eq!(read("/etc/debian-release"), "ID=debian\n");
        assert_eq!(read("/etc/climbing"), "ID=debian\n");
        assert_eq!(
            host.resolve_root_path("/etc/missing/os-release").unwrap(),
            root.join("etc/missing/os-release")
        );
        assert!(host.resolve_root_path("/etc/loop-a").is_err());
    }

    #[test]
    fn resolve_root_path_leaves_links_to_the_kernel_when_root_is_slash() {
        let host = Host::new("/proc", "/sys", "/", "/run/udev/data");
        assert_eq!(
            host.resolve_root_path("/etc/os-release").unwrap(),
            Path::new("/etc/os-release")
        );
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

    #[test]
    fn read_text_replaces_invalid_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("garbage");
        std::fs::write(&path, b"ok \xff\xfe 1\n").unwrap();
        let text = read_text(&path).unwrap();
        assert!(text.starts_with("ok "));
        assert!(text.ends_with(" 1\n"));
    }

    #[test]
    fn net_path_prefers_init_and_falls_back_to_self() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(dir.path(), "/s", "/r", "/u");
        assert_eq!(host.net_path("snmp"), dir.path().join("net/snmp"));
        std::fs::create_dir_all(dir.path().join("1/net")).unwrap();
        assert_eq!(host.net_path("snmp"), dir.path().join("1/net/snmp"));
        assert_eq!(
            host.net_path("stat/nf_conntrack"),
            dir.path().join("1/net/stat/nf_conntrack")
        );
    }

    fn collect_lines(input: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        lines_of(input, |line| {
            lines.push(line.to_string());
            Ok(())
        })
        .unwrap();
        lines
    }

    #[test]
    fn lines_are_handed_over_one_by_one() {
        assert_eq!(collect_lines(b"a b\n\nc\n"), vec!["a b", "", "c"]);
        assert_eq!(collect_lines(b"no newline"), vec!["no newline"]);
        assert_eq!(collect_lines(b""), Vec::<String>::new());
        assert_eq!(collect_lines(b"x \xff y\n"), vec!["x \u{fffd} y"]);
    }

    #[test]
    fn overlong_lines_are_cut_and_the_next_line_kept() {
        let long = "x".repeat(MAX_LINE_BYTES as usize * 2 + 10);
        let lines = collect_lines(format!("{long}\nnext\n").as_bytes());
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE_BYTES as usize);
        assert_eq!(lines[1], "next");
    }

    #[test]
    fn a_refused_line_stops_reading_and_is_named() {
        let mut seen = Vec::new();
        let result = lines_of(&b"ok\nbad\nnever\n"[..], |line| {
            seen.push(line.to_string());
            if line == "bad" {
                Err("not ok".to_string())
            } else {
                Ok(())
            }
        });
        assert_eq!(seen, vec!["ok", "bad"]);
        match result {
            Err(LineError::Refused { line, message }) => {
                assert_eq!((line, message.as_str()), (2, "not ok"));
            }
            other => panic!("{other:?}"),
        }
    }

    /// Hands out `chunks` one per read, as a seq_file hands out pages.
    struct Chunks(Vec<Vec<u8>>);

    impl Read for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Ok(0);
            }
            let chunk = self.0.remove(0);
            buf[..chunk.len()].copy_from_slice(&chunk);
            Ok(chunk.len())
        }
    }

    fn table_lines(chunks: &[&str], longest_line: usize) -> Vec<String> {
        let table = TableReader {
            file: Chunks(chunks.iter().map(|c| c.as_bytes().to_vec()).collect()),
            longest_line,
            ended: false,
        };
        let mut lines = Vec::new();
        lines_of(BufReader::new(table), |line| {
            lines.push(line.to_string());
            Ok(())
        })
        .unwrap();
        lines
    }

    #[test]
    fn a_table_ends_at_a_short_read_with_room_for_another_line() {
        // Had the kernel had another entry, it would have fitted: what a
        // further read returns is not the table's (here, a marker).
        assert_eq!(table_lines(&["h\nrow\n", "never\n"], 256), vec!["h", "row"]);
        // A page nearly full may have stopped for want of room: read on.
        let full = format!("{}\n", "x".repeat(4000));
        assert_eq!(table_lines(&[&full, "more\n"], 256).len(), 2);
        // Longer entries than the room left: read on.
        assert_eq!(table_lines(&["h\nrow\n", "more\n"], 4094).len(), 3);
    }

    #[test]
    fn a_regular_file_is_read_whole_as_a_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("udp");
        let rows: String = (0..500).map(|i| format!("{i:>4}: row\n")).collect();
        std::fs::write(&path, &rows).unwrap();
        assert_eq!(table_lines_of(None, &path).len(), 500);
    }

    fn table_lines_of(kept: Option<&KeptFiles>, path: &Path) -> Vec<String> {
        let mut lines = Vec::new();
        for_each_table_line_keeping(kept, path, 256, |line| {
            lines.push(line.to_string());
            Ok(())
        })
        .unwrap();
        lines
    }

    #[test]
    fn a_kept_table_is_read_afresh_from_its_start() {
        let kept = KeptFiles::new(Path::new("/proc"), Path::new("/sys"), 8);
        let path = Path::new("/proc/net/udp");
        let lists_port = |port: u16| {
            let local = format!("0100007F:{port:04X} ");
            table_lines_of(Some(&kept), path)
                .iter()
                .any(|line| line.contains(&local))
        };
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        assert!(lists_port(port));
        assert_eq!(kept.len(), 1);
        drop(socket);
        assert!(!lists_port(port), "read afresh through the kept file");
        assert_eq!(kept.len(), 1);
    }

    #[test]
    fn a_table_without_offsets_is_read_in_sequence_to_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = make_fifo(dir.path(), "arp");
        let writer = std::thread::spawn({
            let fifo = fifo.clone();
            move || {
                // Two short writes with a pause: a short read is no end.
                let mut file = fs::OpenOptions::new().write(true).open(fifo).unwrap();
                std::io::Write::write_all(&mut file, b"header\nrow 1\n").unwrap();
                std::thread::sleep(std::time::Duration::from_millis(50));
                std::io::Write::write_all(&mut file, b"row 2\n").unwrap();
            }
        });
        assert_eq!(table_lines_of(None, &fifo).len(), 3);
        writer.join().unwrap();
    }

    #[test]
    fn for_each_line_reads_a_file_and_reports_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table");
        std::fs::write(&path, "h\nrow\n").unwrap();
        let mut lines = Vec::new();
        for_each_line(&path, |line| {
            lines.push(line.to_string());
            Ok(())
        })
        .unwrap();
        assert_eq!(lines, vec!["h", "row"]);
        match for_each_line(&dir.path().join("absent"), |_| Ok(())) {
            Err(LineError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::NotFound),
            other => panic!("{other:?}"),
        }
    }
}
