//! Reading host files: whole files as text, one-value files, and tables
//! streamed a line at a time, each through a kept file when the path may be
//! kept (see [`super::kept_files`]).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::kept_files::{process_kept_files, KeptFiles};

/// Largest file a collector reads in one go. Proc and sys files are small;
/// anything bigger is garbage or hostile, and is cut rather than read whole.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Longest line [`for_each_line`] hands over; the rest of a longer line is
/// skipped. Kernel table lines are a few hundred bytes at most.
pub const MAX_LINE_BYTES: u64 = 64 * 1024;

/// Most bytes [`for_each_line`] reads from one file: far beyond any real
/// socket table, and a bound on the time a file that never ends can take.
pub const MAX_STREAM_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// Reads a whole file as text, cut at [`MAX_FILE_BYTES`], with invalid UTF-8
/// replaced rather than refused: kernel files are ASCII, and a garbage byte
/// must cost one field, not the collector. Files that may be are kept open
/// for the next read (see [`super::kept_files`]).
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
pub(super) fn read_path<T>(
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
/// when it may be (see [`super::kept_files`]): opening `/proc/1/net/udp`
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

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::host::tests::make_fifo;

    #[test]
    fn proc_files_are_kept_by_path_and_read_whole() {
        let kept = KeptFiles::new(Path::new("/proc"), Path::new("/sys"), 8);
        let first = read_text_keeping(Some(&kept), Path::new("/proc/self/mountinfo")).unwrap();
        let second = read_text_keeping(Some(&kept), Path::new("/proc/self/mountinfo")).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(first, second, "the mounts did not change");
        assert!(second.ends_with('\n') && second.lines().count() > 1);
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
