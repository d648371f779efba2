//! `textfile`: metrics other programs write as `*.prom` files in the
//! directories of `--collector.textfile.directory`, in the Prometheus text
//! format, plus `node_textfile_mtime_seconds` for each file read and
//! `node_textfile_scrape_error`.
//!
//! As in node_exporter, the directories are used as given (not under
//! `--path.rootfs`) and may be globs; each is read non-recursively, files in
//! name order. A file that cannot be read or parsed, or carries
//! timestamps, is left out whole and sets the error metric; a family or
//! series that contradicts what was read before it is left out alone and
//! logged, as node_exporter does, and a help text that contradicts an
//! earlier file's also sets the error metric (node_exporter 1.8 and later).
//! The scrape itself never fails.

mod glob;
mod merge;
pub mod text_format;

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{ArgAction, Args};

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::Host;
use crate::metrics::{MetricSet, MetricType};
use crate::unpoisoned::lock;
use merge::{Textfiles, MTIME_METRIC, SCRAPE_ERROR_METRIC};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "textfile",
    default_enabled: true,
    reads: "*.prom files in --collector.textfile.directory",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the textfile collector.
#[derive(Debug, Clone, Args)]
pub struct Flags {
    /// Directory to read text files with metrics from, supports glob matching. (repeatable)
    #[arg(long = "collector.textfile.directory", value_name = "DIR", action = ArgAction::Append)]
    pub directories: Vec<String>,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(TextfileCollector {
        directories: ctx.flags::<Flags>()?.directories,
        reported: Mutex::new(Vec::new()),
    }))
}

/// The largest textfile read; a larger one is left out whole. Reading a
/// file takes some tens of times its size in memory at once (its parsed
/// families, the merged ones, the output), and the shipped DaemonSet has
/// 128 MiB.
pub const MAX_TEXTFILE_BYTES: u64 = 4 << 20;

/// The most samples read from all textfiles in one scrape: a file that
/// would bring the count beyond it is left out whole. At some 1.2 KiB each
/// at the peak of a scrape, they keep the agent well within the shipped
/// DaemonSet's 128 MiB.
pub const MAX_TEXTFILE_SAMPLES: usize = 50_000;

/// Reads the textfile directories on every scrape.
struct TextfileCollector {
    /// The flag values: directories or glob patterns.
    directories: Vec<String>,
    /// The problems logged loudly at the last scrape, so that a file that
    /// stays broken is reported once rather than on every scrape.
    reported: Mutex<Vec<String>>,
}

impl Collector for TextfileCollector {
    fn update(&self, _: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        // Files not read and families of inconsistent help, which set the
        // error metric; and families and series left out of files that
        // were read, which do not.
        let mut problems = Vec::new();
        let mut dropped = Vec::new();
        let mut textfiles = Textfiles::default();
        let mut mtimes = Vec::new();
        let mut samples_left = MAX_TEXTFILE_SAMPLES;
        for dir in expand_directories(&self.directories) {
            let names = match prom_files(&dir) {
                Ok(names) => names,
                Err(err) => {
                    problems.push(format!("reading directory {dir}: {err}"));
                    continue;
                }
            };
            for name in names {
                let path = glob::join(&dir, &name);
                match read_textfile(&path, &mut samples_left)
                    .and_then(|(families, mtime)| Ok((textfiles.add(&path, families)?, mtime)))
                {
                    Ok((left_out, mtime)) => {
                        let in_file = |why| format!("{path}: {why}");
                        dropped.extend(left_out.dropped.into_iter().map(in_file));
                        problems.extend(left_out.inconsistent_help.into_iter().map(in_file));
                        mtimes.push((path, mtime));
                    }
                    Err(err) => problems.push(format!("{path}: {err}")),
                }
            }
        }
        self.report(&problems, &dropped);

        textfiles.write(out);
        let mtime = out.family(
            MTIME_METRIC,
            "Unixtime mtime of textfiles successfully read.",
            MetricType::Gauge,
            &["file"],
        );
        for (path, seconds) in &mtimes {
            mtime.push(&[path], *seconds);
        }
        out.gauge(
            SCRAPE_ERROR_METRIC,
            "1 if there was an error opening or reading a file, 0 otherwise",
            if problems.is_empty() { 0.0 } else { 1.0 },
        );
        Ok(())
    }
}

impl TextfileCollector {
    /// Logs each error (a file not read, a family of inconsistent help) and
    /// each part of a file left out at debug, and, when it was not there at
    /// the previous scrape, at error and warn.
    fn report(&self, problems: &[String], dropped: &[String]) {
        let mut reported = lock(&self.reported);
        for problem in problems {
            tracing::debug!(err = %problem, "textfile error");
            if !reported.contains(problem) {
                tracing::error!(err = %problem, "textfile error");
            }
        }
        for left_out in dropped {
            tracing::debug!(err = %left_out, "textfile metric left out");
            if !reported.contains(left_out) {
                tracing::warn!(err = %left_out, "textfile metric left out");
            }
        }
        *reported = problems.iter().chain(dropped).cloned().collect();
    }
}

/// The directories to read: each flag value's glob matches, or the value
/// itself when it is no valid glob or matches nothing (so that a missing
/// directory is reported). Empty values, node_exporter's default, are
/// skipped.
fn expand_directories(patterns: &[String]) -> Vec<String> {
    let mut dirs = Vec::new();
    for pattern in patterns.iter().filter(|p| !p.is_empty()) {
        match glob::glob(pattern) {
            Ok(matches) if !matches.is_empty() => dirs.extend(matches),
            _ => dirs.push(pattern.clone()),
        }
    }
    dirs
}

/// The names in `dir` ending in `.prom`, sorted; not recursive.
fn prom_files(dir: &str) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".prom") {
            names.push(name.into_owned());
        }
    }
    names.sort_unstable();
    Ok(names)
}

/// Reads and parses one file, whose samples are taken from `samples_left`;
/// returns its families and its mtime in whole seconds, taken after reading
/// so that it dates the content read.
fn read_textfile(
    path: &str,
    samples_left: &mut usize,
) -> Result<(Vec<text_format::ParsedFamily>, f64), String> {
    // Non-blocking, so that a FIFO named *.prom cannot hang the collector;
    // it is then refused as not a regular file.
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("opening: {e}"))?;
    let metadata = file.metadata().map_err(|e| format!("stat: {e}"))?;
    if !metadata.is_file() {
        return Err("not a regular file".to_string());
    }
    let bytes = read_capped(&mut file)?;
    let text = decode(&bytes)?;
    let samples = sample_lines(&text);
    if samples > *samples_left {
        return Err(format!(
            "{samples} samples, more than the {} left of the {MAX_TEXTFILE_SAMPLES} read from textfiles in one scrape; not read",
            *samples_left
        ));
    }
    let families = text_format::parse(&text).map_err(|e| e.to_string())?;
    *samples_left -= samples;
    let modified = file
        .metadata()
        .and_then(|m| m.modified())
        .map_err(|e| format!("stat: {e}"))?;
    Ok((families, unix_seconds(modified)))
}

/// Decodes a file as UTF-8. Invalid bytes are tolerated (replaced) only on
/// comment and HELP lines, which node_exporter passes through unchecked;
/// anywhere else they are refused, naming the line.
fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, String> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Cow::Borrowed(text));
    }
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let starts_comment = line.iter().find(|&&b| b != b' ' && b != b'\t') == Some(&b'#');
        if !starts_comment && std::str::from_utf8(line).is_err() {
            return Err(format!("line {}: invalid UTF-8", index + 1));
        }
    }
    Ok(String::from_utf8_lossy(bytes))
}

/// Reads a whole file, refusing one beyond [`MAX_TEXTFILE_BYTES`] rather
/// than reading it short.
fn read_capped(file: &mut File) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    file.take(MAX_TEXTFILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading: {e}"))?;
    if bytes.len() as u64 > MAX_TEXTFILE_BYTES {
        return Err(format!(
            "larger than {} MiB, not read",
            MAX_TEXTFILE_BYTES >> 20
        ));
    }
    Ok(bytes)
}

/// The number of sample lines of a text: those neither blank nor comments.
fn sample_lines(text: &str) -> usize {
    crate::parse::lines(text)
        .filter(|line| {
            let line = line.trim_start_matches([' ', '\t']);
            !line.is_empty() && !line.starts_with('#')
        })
        .count()
}

/// Whole seconds since the epoch, truncated toward zero as node_exporter's.
fn unix_seconds(time: SystemTime) -> f64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_secs() as f64,
        Err(before) => -(before.duration().as_secs() as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::Format;
    use crate::metrics::Family;
    use std::fs;
    use std::path::Path;
    use std::time::Duration;

    fn collector(directories: &[&str]) -> TextfileCollector {
        TextfileCollector {
            directories: directories.iter().map(|d| d.to_string()).collect(),
            reported: Mutex::new(Vec::new()),
        }
    }

    fn scrape(collector: &TextfileCollector) -> String {
        let mut set = MetricSet::new();
        let host = crate::collectors::common::testing::fixture_host();
        collector
            .update(&host, &mut set)
            .expect("the textfile collector never fails");
        let families = set.into_sorted();
        let refs: Vec<&Family> = families.iter().collect();
        let mut out = Vec::new();
        Format::Text.encode(&refs, &mut out);
        String::from_utf8(out).unwrap()
    }

    /// Writes `files` into `dir` with a fixed mtime.
    fn write_files(dir: &Path, files: &[(&str, &str)]) {
        fs::create_dir_all(dir).unwrap();
        for (name, text) in files {
            let path = dir.join(name);
            fs::write(&path, text).unwrap();
            set_mtime(&path, 1_700_000_000);
        }
    }

    fn set_mtime(path: &Path, seconds: u64) {
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(UNIX_EPOCH + Duration::from_secs(seconds))
            .unwrap();
    }

    fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.contains(needle)).collect()
    }

    #[test]
    fn flag_is_repeatable_and_empty_by_default() {
        let options = crate::cli::parse(["hostwatch"]).unwrap();
        assert!(options.enabled_collectors.contains(&"textfile"));
        assert!(options.collector_flags::<Flags>().directories.is_empty());
        let options = crate::cli::parse([
            "hostwatch",
            "--collector.textfile.directory=/var/lib/node_exporter",
            "--collector.textfile.directory",
            "/run/*/textfile",
        ])
        .unwrap();
        assert_eq!(
            options.collector_flags::<Flags>().directories,
            vec!["/var/lib/node_exporter", "/run/*/textfile"]
        );
        assert!(options.warnings.is_empty());
    }

    #[test]
    fn no_directory_gives_only_the_error_metric() {
        let out = scrape(&collector(&[]));
        assert_eq!(
            out,
            "# HELP node_textfile_scrape_error 1 if there was an error opening or reading a file, 0 otherwise\n\
             # TYPE node_textfile_scrape_error gauge\n\
             node_textfile_scrape_error 0\n"
        );
        assert_eq!(
            scrape(&collector(&[""])),
            out,
            "the empty default reads nothing"
        );
    }

    #[test]
    fn reads_prom_files_in_order_with_mtimes_and_merges_families() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("textfile");
        write_files(
            &dir,
            &[
                ("b.prom", "# HELP role Node role.\n# TYPE role gauge\nrole{role=\"db\"} 1\nshared{x=\"b\"} 2\n"),
                ("a.prom", "shared{x=\"a\"} 1\n"),
                ("c.prom.tmp", "half-written garbage"),
                ("notes.txt", "not metrics"),
            ],
        );
        fs::create_dir(dir.join("sub")).unwrap();
        write_files(&dir.join("sub"), &[("deep.prom", "deep 1\n")]);
        let d = dir.to_str().unwrap();
        let out = scrape(&collector(&[&format!("{d}/")]));
        let want = format!(
            "# HELP node_textfile_mtime_seconds Unixtime mtime of textfiles successfully read.\n\
             # TYPE node_textfile_mtime_seconds gauge\n\
             node_textfile_mtime_seconds{{file=\"{d}/a.prom\"}} 1.7e+09\n\
             node_textfile_mtime_seconds{{file=\"{d}/b.prom\"}} 1.7e+09\n\
             # HELP node_textfile_scrape_error 1 if there was an error opening or reading a file, 0 otherwise\n\
             # TYPE node_textfile_scrape_error gauge\n\
             node_textfile_scrape_error 0\n\
             # HELP role Node role.\n\
             # TYPE role gauge\n\
             role{{role=\"db\"}} 1\n\
             # HELP shared Metric read from {d}/a.prom, {d}/b.prom\n\
             # TYPE shared untyped\n\
             shared{{x=\"a\"}} 1\n\
             shared{{x=\"b\"}} 2\n"
        );
        assert_eq!(out, want);
    }

    #[test]
    fn an_inconsistent_help_text_sets_the_error_metric_and_keeps_the_file() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path().to_str().unwrap();
        write_files(
            root.path(),
            &[
                (
                    "a.prom",
                    "# HELP job_ok Whether the job ran.\njob_ok{job=\"a\"} 1\n",
                ),
                (
                    "b.prom",
                    "# HELP job_ok Whether it ran.\njob_ok{job=\"b\"} 1\nother 2\n",
                ),
            ],
        );
        let c = collector(&[d]);
        let out = scrape(&c);
        assert!(out.contains("node_textfile_scrape_error 1\n"), "{out}");
        assert!(out.contains("job_ok{job=\"a\"} 1\n"), "{out}");
        assert!(!out.contains("job_ok{job=\"b\"}"), "{out}");
        assert!(out.contains("\nother 2\n"), "{out}");
        assert_eq!(
            lines_with(&out, "node_textfile_mtime_seconds{").len(),
            2,
            "{out}"
        );
        let reported = c.reported.lock().unwrap().clone();
        assert_eq!(reported.len(), 1, "{reported:?}");
        assert!(reported[0].starts_with(&format!("{d}/b.prom: metric job_ok has help")));
    }

    #[test]
    fn a_file_not_read_sets_the_error_metric_and_a_part_left_out_does_not() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path().to_str().unwrap();
        write_files(
            root.path(),
            &[
                ("1-good.prom", "# TYPE t gauge\nt 1\n"),
                (
                    "2-type.prom",
                    "# TYPE t counter\nt{a=\"b\"} 2\nfrom_type_file 1\n",
                ),
                ("3-ts.prom", "ts 1 1700000000000\n"),
                ("4-syntax.prom", "ok 1\nbroken{ 1\n"),
                ("5-cut.prom", "cut 1"),
                (
                    "7-own.prom",
                    "node_textfile_scrape_error 0\nfrom_own_file 1\n",
                ),
            ],
        );
        fs::write(root.path().join("6-utf8.prom"), b"u 1\nu{a=\"\xff\"} 1\n").unwrap();
        set_mtime(&root.path().join("6-utf8.prom"), 1_700_000_000);
        let c = collector(&[d]);
        let out = scrape(&c);
        assert!(out.contains("node_textfile_scrape_error 1\n"), "{out}");
        let read: Vec<String> = ["1-good", "2-type", "7-own"]
            .iter()
            .map(|f| format!("node_textfile_mtime_seconds{{file=\"{d}/{f}.prom\"}} 1.7e+09"))
            .collect();
        assert_eq!(lines_with(&out, "node_textfile_mtime_seconds{"), read);
        for dropped in ["t{a=", "ts ", "ok ", "cut ", "u "] {
            assert!(!out.contains(dropped), "{dropped} leaked: {out}");
        }
        for kept in ["\nt 1\n", "\nfrom_type_file 1\n", "\nfrom_own_file 1\n"] {
            assert!(out.contains(kept), "{kept} missing: {out}");
        }
        let reported = c.reported.lock().unwrap().clone();
        let expected = [
            format!("{d}/3-ts.prom: line 1: client-side timestamps are not supported, skipping the entire file"),
            format!("{d}/4-syntax.prom: line 2: invalid label name \"1\""),
            format!("{d}/5-cut.prom: line 1: unexpected end of input (no newline at the end)"),
            format!("{d}/6-utf8.prom: line 2: invalid UTF-8"),
            format!("{d}/2-type.prom: metric t is counter here but gauge in {d}/1-good.prom; dropped"),
            format!("{d}/7-own.prom: metric node_textfile_scrape_error is the textfile collector's own; dropped"),
        ];
        assert_eq!(reported, expected);

        // Contradictions alone leave the error metric at 0.
        for broken in ["3-ts", "4-syntax", "5-cut", "6-utf8"] {
            fs::remove_file(root.path().join(format!("{broken}.prom"))).unwrap();
        }
        let out = scrape(&c);
        assert!(out.contains("node_textfile_scrape_error 0\n"), "{out}");
    }

    #[test]
    fn missing_labels_are_filled() {
        let root = tempfile::tempdir().unwrap();
        write_files(
            root.path(),
            &[(
                "jobs.prom",
                "backup_ok{job=\"db\",host=\"a\"} 1\nbackup_ok{job=\"etcd\"} 0\n",
            )],
        );
        let out = scrape(&collector(&[root.path().to_str().unwrap()]));
        assert_eq!(
            lines_with(&out, "backup_ok{"),
            vec![
                "backup_ok{host=\"\",job=\"etcd\"} 0",
                "backup_ok{host=\"a\",job=\"db\"} 1"
            ]
        );
    }

    #[test]
    fn glob_directories_and_repeated_flags() {
        let root = tempfile::tempdir().unwrap();
        write_files(
            &root.path().join("app1/metrics"),
            &[("a.prom", "app{n=\"1\"} 1\n")],
        );
        write_files(
            &root.path().join("app2/metrics"),
            &[("a.prom", "app{n=\"2\"} 2\n")],
        );
        write_files(&root.path().join("extra"), &[("x.prom", "extra 3\n")]);
        let r = root.path().to_str().unwrap();
        let out = scrape(&collector(&[
            &format!("{r}/app*/metrics"),
            &format!("{r}/extra"),
        ]));
        assert!(out.contains("node_textfile_scrape_error 0\n"), "{out}");
        assert_eq!(
            lines_with(&out, "app{"),
            vec!["app{n=\"1\"} 1", "app{n=\"2\"} 2"]
        );
        assert!(out.contains(&format!(
            "# HELP app Metric read from {r}/app1/metrics/a.prom, {r}/app2/metrics/a.prom\n"
        )));
        assert!(out.contains("extra 3\n"));
    }

    #[test]
    fn missing_directory_or_empty_glob_is_an_error_but_empty_directory_is_not() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().to_str().unwrap();
        let out = scrape(&collector(&[r]));
        assert!(out.contains("node_textfile_scrape_error 0\n"), "{out}");
        assert!(!out.contains("node_textfile_mtime_seconds"));
        for dir in [
            format!("{r}/missing"),
            format!("{r}/nothing*"),
            format!("{r}/["),
        ] {
            let out = scrape(&collector(&[&dir]));
            assert!(
                out.contains("node_textfile_scrape_error 1\n"),
                "{dir}: {out}"
            );
        }
    }

    #[test]
    fn unreadable_entries_are_errors_and_fifos_do_not_block() {
        let root = tempfile::tempdir().unwrap();
        write_files(root.path(), &[("ok.prom", "ok 1\n")]);
        fs::create_dir(root.path().join("dir.prom")).unwrap();
        std::os::unix::fs::symlink("/nonexistent", root.path().join("dangling.prom")).unwrap();
        let fifo = std::ffi::CString::new(root.path().join("fifo.prom").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let c = collector(&[root.path().to_str().unwrap()]);
        let out = scrape(&c);
        assert!(out.contains("node_textfile_scrape_error 1\n"));
        assert!(out.contains("ok 1\n"));
        assert_eq!(
            c.reported.lock().unwrap().len(),
            3,
            "dangling, dir and fifo"
        );
    }

    #[test]
    fn oversized_files_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("big.prom");
        let file = File::create(&path).unwrap();
        file.set_len(MAX_TEXTFILE_BYTES + 1).unwrap();
        let mut samples_left = MAX_TEXTFILE_SAMPLES;
        let err = read_textfile(path.to_str().unwrap(), &mut samples_left).unwrap_err();
        assert!(err.starts_with("larger than 4 MiB"), "{err}");
    }

    #[test]
    fn samples_beyond_a_scrapes_budget_leave_the_file_out() {
        let root = tempfile::tempdir().unwrap();
        let per_file = MAX_TEXTFILE_SAMPLES / 2 + 1;
        let body: String = (0..per_file)
            .map(|i| format!("s{{i=\"{i}\"}} 1\n"))
            .collect();
        write_files(
            root.path(),
            &[
                ("a.prom", &format!("# HELP s S.\n{body}")),
                ("b.prom", &body.replace("s{", "t{")),
                ("c.prom", "# a comment\n\nsmall 1\n"),
            ],
        );
        let c = collector(&[root.path().to_str().unwrap()]);
        let out = scrape(&c);
        assert!(out.contains("node_textfile_scrape_error 1\n"));
        assert_eq!(
            lines_with(&out, "s{i=").len(),
            per_file,
            "the first file is read"
        );
        assert!(lines_with(&out, "t{i=").is_empty(), "the second is not");
        assert!(out.contains("\nsmall 1\n"), "a small one still fits");
        let reported = c.reported.lock().unwrap().clone();
        assert_eq!(reported.len(), 1);
        assert!(reported[0].ends_with(&format!(
            "b.prom: {per_file} samples, more than the {} left of the {MAX_TEXTFILE_SAMPLES} read from textfiles in one scrape; not read",
            MAX_TEXTFILE_SAMPLES - per_file
        )), "{reported:?}");
    }

    #[test]
    fn invalid_utf8_is_tolerated_in_comments_only() {
        let text = decode(b"# \xff comment\n# HELP a Temp \xb0C.\na 1\n").unwrap();
        assert_eq!(text, "# \u{FFFD} comment\n# HELP a Temp \u{FFFD}C.\na 1\n");
        assert_eq!(
            decode(b"# ok\n  a{x=\"\xff\"} 1\n").unwrap_err(),
            "line 2: invalid UTF-8"
        );
    }

    #[test]
    fn mtimes_are_whole_seconds() {
        assert_eq!(
            unix_seconds(UNIX_EPOCH + Duration::from_millis(1_700_000_000_999)),
            1.7e9
        );
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_millis(1500)), -1.0);
    }
}
