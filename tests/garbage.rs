//! Garbage host files: the real binary, with every collector enabled, on a
//! copy of the fixture tree in which host files are replaced by empty,
//! random binary, truncated, overflowing, negative and NUL-laden variants.
//! Every scrape must answer 200 with a well-formed exposition, and the
//! process must neither panic nor die. A collector may fail (that is its
//! graceful answer to garbage); which ones did is printed for the record
//! (`cargo test --test garbage -- --nocapture`).
//!
//! Files are mutated in batches (a seeded, deterministic partition), so a
//! collector that stops at its first bad file still meets the others' bad
//! files in other runs, while the run count stays small.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::exposition::{self, scraped_collectors};
use common::{copy_tree, crate_root, Agent, PROMETHEUS_ACCEPT};

/// Batches the files are split into for each variant.
const BATCHES: usize = 6;

/// Seed of the partition and of the random contents.
const SEED: u64 = 0x5eed_0f9a_7ba9_e5e5;

/// What every digit run becomes in the overflowing variant: past `u64`.
const OVERFLOW: &str = "99999999999999999999999";

/// Flags that turn on the optional metrics of some collectors, so their
/// parsers run too.
const OPTIONAL_METRICS: &[&str] = &[
    "--collector.cgroupstats.io",
    "--collector.cpu.info",
    "--collector.pcidevice.names",
    "--collector.stat.softirq",
    "--collector.sysctl.include=vm.swappiness",
    "--collector.sysctl.include=net.ipv4.tcp_rmem:min,default,max",
    "--collector.sysctl.include-info=kernel.seccomp.actions_avail",
];

/// A way of spoiling a file's content.
#[derive(Debug, Clone, Copy)]
enum Variant {
    Empty,
    RandomBinary,
    TruncatedHalf,
    OverflowingNumbers,
    NegativeNumbers,
    NulLaden,
}

const VARIANTS: &[Variant] = &[
    Variant::Empty,
    Variant::RandomBinary,
    Variant::TruncatedHalf,
    Variant::OverflowingNumbers,
    Variant::NegativeNumbers,
    Variant::NulLaden,
];

impl Variant {
    fn apply(self, original: &[u8], rng: &mut XorShift) -> Vec<u8> {
        match self {
            Variant::Empty => Vec::new(),
            Variant::RandomBinary => {
                let len = original.len().clamp(16, 8192);
                (0..len).map(|_| rng.next() as u8).collect()
            }
            Variant::TruncatedHalf => original[..original.len() / 2].to_vec(),
            Variant::OverflowingNumbers => replace_digit_runs(original, |_| OVERFLOW.into()),
            Variant::NegativeNumbers => replace_digit_runs(original, |run| {
                let mut negative = b"-".to_vec();
                negative.extend_from_slice(run);
                negative
            }),
            Variant::NulLaden => {
                let mut out = Vec::with_capacity(original.len() * 2);
                for &byte in original {
                    out.push(byte);
                    if rng.next().is_multiple_of(4) {
                        out.push(0);
                    }
                }
                out.push(0);
                out
            }
        }
    }
}

/// `text` with every run of ASCII digits replaced by `with(run)`.
fn replace_digit_runs(text: &[u8], with: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2);
    let mut i = 0;
    while i < text.len() {
        if text[i].is_ascii_digit() {
            let start = i;
            while i < text.len() && text[i].is_ascii_digit() {
                i += 1;
            }
            out.extend(with(&text[start..i]));
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

/// A small deterministic generator; the test must not depend on a crate for
/// randomness, nor vary between runs.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Every regular file under `dir` (symlinks are not followed: sysfs trees
/// link back into themselves).
fn regular_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let entry = entry.expect("directory entry");
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            regular_files(&entry.path(), out);
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
}

/// The host files of the copied tree under `root` that collectors read.
fn host_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["proc", "sys", "udev", "textfile"] {
        regular_files(&root.join(dir), &mut files);
    }
    files.push(root.join("root/etc/os-release"));
    files.push(root.join("root/usr/share/misc/pci.ids"));
    files.sort();
    files
}

fn agent_args(root: &Path) -> Vec<String> {
    let root = root.display();
    let optional_collectors = hostwatch::collectors::registry::ALL
        .iter()
        .filter(|spec| !spec.default_enabled)
        .map(|spec| format!("--collector.{}", spec.name));
    [
        format!("--path.procfs={root}/proc"),
        format!("--path.sysfs={root}/sys"),
        format!("--path.rootfs={root}/root"),
        format!("--path.udev.data={root}/udev"),
        format!("--collector.textfile.directory={root}/textfile"),
    ]
    .into_iter()
    .chain(OPTIONAL_METRICS.iter().map(|s| s.to_string()))
    .chain(optional_collectors)
    .collect()
}

/// Every line of `text` is a comment, blank, or a sample whose value is a
/// number.
fn assert_well_formed(text: &str, run: &str) {
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let sample = exposition::parse_sample(line)
            .unwrap_or_else(|| panic!("{run}: unparsable line {line:?}"));
        let value = sample.value.split(' ').next().unwrap_or_default();
        assert!(
            value.parse::<f64>().is_ok() || matches!(value, "+Inf" | "-Inf" | "NaN"),
            "{run}: bad value in {line:?}"
        );
    }
}

/// Starts the agent on the tree as it is now, scrapes it in both text
/// formats (OpenMetrics enabled), checks the answers and the process, and
/// returns the collectors that failed.
fn scrape_checked(args: &[String], run: &str) -> Vec<String> {
    let mut args = args.to_vec();
    args.push("--web.enable-openmetrics".to_string());
    let mut agent = Agent::start(&args);
    let mut failed = Vec::new();
    for accept in [None, Some(PROMETHEUS_ACCEPT)] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        let response = agent.request("GET", "/metrics", &headers);
        assert_eq!(response.status, 200, "{run}: {}", agent.stderr());
        let text = response.text();
        assert_well_formed(&text, run);
        if accept.is_none() {
            failed = scraped_collectors(&text)
                .into_iter()
                .filter(|c| exposition::collector_success(&text, c) != Some(1.0))
                .collect();
        }
    }
    let panics: Vec<String> = agent
        .log_lines()
        .into_iter()
        .filter(|l| l.to_ascii_lowercase().contains("panic"))
        .collect();
    assert!(panics.is_empty(), "{run}: panicked:\n{}", panics.join("\n"));
    let status = agent.stop();
    assert!(
        status.success(),
        "{run}: {status}; stderr:\n{}",
        agent.stderr()
    );
    failed
}

#[test]
fn every_scrape_answers_on_garbage_host_files() {
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    copy_tree(&crate_root().join("tests/fixtures"), dir.path()).expect("copying the fixtures");
    let files = host_files(dir.path());
    let originals: Vec<Vec<u8>> = files
        .iter()
        .map(|f| fs::read(f).unwrap_or_else(|e| panic!("reading {}: {e}", f.display())))
        .collect();
    let args = agent_args(dir.path());
    let mut rng = XorShift(SEED);
    // Which runs each collector failed in, by variant.
    let mut failures: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut runs = 0;

    for &variant in VARIANTS {
        let batch_of: Vec<usize> = files
            .iter()
            .map(|_| (rng.next() % BATCHES as u64) as usize)
            .collect();
        for batch in 0..BATCHES {
            let mutated: Vec<usize> = (0..files.len()).filter(|&i| batch_of[i] == batch).collect();
            for &i in &mutated {
                fs::write(&files[i], variant.apply(&originals[i], &mut rng))
                    .expect("writing a mutated file");
            }
            let run = format!("{variant:?}, batch {batch} ({} files)", mutated.len());
            for collector in scrape_checked(&args, &run) {
                *failures
                    .entry(collector)
                    .or_default()
                    .entry(format!("{variant:?}"))
                    .or_default() += 1;
            }
            runs += 1;
            for &i in &mutated {
                fs::write(&files[i], &originals[i]).expect("restoring a file");
            }
        }
    }

    println!(
        "{runs} runs over {} files; collectors that failed gracefully (runs by variant):",
        files.len()
    );
    for (collector, by_variant) in &failures {
        println!("  {collector}: {by_variant:?}");
    }
}
