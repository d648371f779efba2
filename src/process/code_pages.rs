//! Lets go of the agent's own code pages once start-up is over.
//!
//! Start-up runs a lot of code once: flag parsing, regex compilation, each
//! collector's set-up, the first scrape's one-time paths. Its pages stay
//! mapped, and counted in the agent's RSS, for as long as it runs, although
//! a scrape touches only a fraction of them. Dropping the mappings of the
//! executable's code after the first scrape leaves the pages in the page
//! cache, and the next scrapes map back (minor faults, once) only those
//! they run.
//!
//! Only the executable's mappings that are neither writable nor modified
//! are dropped: code, and read-only data that no relocation wrote to (a
//! mapping with anonymous pages is left alone, as is anything writable).
//! Their pages are the file's, so mapping them again gives the same bytes.

use std::io;
use std::ops::Range;

/// One mapping of `/proc/self/smaps`, with what decides whether it may go.
#[derive(Debug)]
struct Mapping<'a> {
    range: Range<usize>,
    perms: &'a str,
    path: &'a str,
    /// Kilobytes of anonymous (copied-on-write) pages; `None` if unknown.
    anonymous_kb: Option<u64>,
}

/// The mappings to drop, from `/proc/self/smaps` text: those of the file
/// that maps `address`, private and not writable, with no anonymous pages.
pub fn unmodified_file_mappings(smaps: &str, address: usize) -> Vec<Range<usize>> {
    let mut mappings: Vec<Mapping<'_>> = Vec::new();
    for line in smaps.lines() {
        if let Some(mapping) = parse_header(line) {
            mappings.push(mapping);
        } else if let (Some(last), Some(kb)) =
            (mappings.last_mut(), line.strip_prefix("Anonymous:"))
        {
            last.anonymous_kb = kb.trim().trim_end_matches("kB").trim().parse().ok();
        }
    }
    let Some(file) = mappings
        .iter()
        .find(|m| m.range.contains(&address))
        .map(|m| m.path)
        .filter(|path| path.starts_with('/'))
    else {
        return Vec::new();
    };
    mappings
        .into_iter()
        .filter(|m| m.path == file && matches!(m.perms, "r-xp" | "r--p"))
        .filter(|m| m.anonymous_kb == Some(0))
        .map(|m| m.range)
        .collect()
}

/// A mapping's header line: `start-end perms offset dev inode path`.
fn parse_header(line: &str) -> Option<Mapping<'_>> {
    let mut columns = line.splitn(6, ' ');
    let (start, end) = columns.next()?.split_once('-')?;
    let range = usize::from_str_radix(start, 16).ok()?..usize::from_str_radix(end, 16).ok()?;
    let perms = columns.next()?;
    if perms.len() != 4 {
        return None;
    }
    let path = columns.nth(3)?.trim_start();
    Some(Mapping {
        range,
        perms,
        path,
        anonymous_kb: None,
    })
}

/// Drops this process's mappings of its own unmodified file pages (see the
/// module documentation); the bytes no longer mapped.
pub fn release() -> io::Result<usize> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut released = 0;
    for range in unmodified_file_mappings(&smaps, release as *const () as usize) {
        // SAFETY: the range is a whole private, read-only mapping of this
        // process's executable without a modified page: dropping its pages
        // loses nothing, and the next access maps the same file bytes again.
        let rc = unsafe {
            libc::madvise(
                range.start as *mut libc::c_void,
                range.end - range.start,
                libc::MADV_DONTNEED,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        released += range.end - range.start;
    }
    Ok(released)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0a0000000-55d0a0100000 r--p 00000000 08:01 1234 /usr/bin/hostwatch
Rss:                 960 kB
Anonymous:             0 kB
55d0a0100000-55d0a0700000 r-xp 00100000 08:01 1234 /usr/bin/hostwatch
Anonymous:             0 kB
55d0a0700000-55d0a0704000 r--p 00700000 08:01 1234 /usr/bin/hostwatch
Anonymous:            16 kB
55d0a0704000-55d0a0710000 rw-p 00704000 08:01 1234 /usr/bin/hostwatch
Anonymous:             8 kB
55d0a0710000-55d0a0720000 r--p 00710000 08:01 1234 /usr/bin/hostwatch
55d0a1000000-55d0a1100000 rw-p 00000000 00:00 0                          [heap]
Anonymous:          1024 kB
7f0000000000-7f0000100000 r-xp 00028000 08:01 99   /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
Anonymous:           132 kB
";

    #[test]
    fn only_the_executables_unmodified_read_only_mappings() {
        // Not the relocated read-only data (anonymous pages), the writable
        // data, nor a mapping whose anonymous pages are not reported.
        assert_eq!(
            unmodified_file_mappings(SMAPS, 0x55d0a0200000),
            vec![
                0x55d0a0000000..0x55d0a0100000,
                0x55d0a0100000..0x55d0a0700000
            ]
        );
        // An address in a library names that library's mappings.
        assert_eq!(
            unmodified_file_mappings(SMAPS, 0x7f0000000010),
            vec![0x7f0000000000..0x7f0000100000]
        );
        // Anonymous mappings and unknown addresses name nothing.
        assert!(unmodified_file_mappings(SMAPS, 0x55d0a1000010).is_empty());
        assert!(unmodified_file_mappings(SMAPS, 0x10).is_empty());
        assert!(unmodified_file_mappings("garbage\n-\nAnonymous: 0 kB\n", 0x10).is_empty());
    }

    #[test]
    fn this_process_code_is_found_and_runs_after_release() {
        let code = release as *const () as usize;
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mappings = unmodified_file_mappings(&smaps, code);
        assert!(mappings.iter().any(|r| r.contains(&code)), "{smaps}");
        assert!(release().unwrap() > 0);
        // The code still runs: its pages map back from the file.
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        assert!(unmodified_file_mappings(&smaps, code)
            .iter()
            .any(|r| r.contains(&code)));
    }
}
