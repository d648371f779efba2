//! `os`: the operating system's identity from `<rootfs>/etc/os-release`,
//! or `<rootfs>/usr/lib/os-release` when the former does not exist.
//!
//! The file is parsed as os-release(5) describes it: shell-style
//! `KEY=value` assignments, values optionally in single or double quotes,
//! backslash escapes as the shell has them, `#` comments and blank lines.
//! A line that is not an assignment is skipped rather than failing the
//! collector, as the specification's reference parser does; node_exporter's
//! parser instead gives up on the whole file.
//!
//! The file is a static fact, so it is parsed once and again only when its
//! identity (device, inode, size, modification and change times, followed
//! through symbolic links) changes. node_exporter re-reads it on every scrape
//! since it dropped a cache keyed on the modification time alone, which
//! missed updates on NixOS, where the file is a link into a store whose files
//! all have the same time; the new store path there has a new inode.

use std::collections::HashMap;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{MetricSet, MetricType};
use crate::unpoisoned::lock;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "os",
    default_enabled: true,
    reads: "/etc/os-release, else /usr/lib/os-release (under --path.rootfs)",
    flags: None,
    build,
};

/// The files tried, in order, as the host names them.
const OS_RELEASE_FILES: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];

fn build(_ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(OsCollector {
        cache: Mutex::new(None),
    }))
}

/// Reports `node_os_info`, `node_os_version` and
/// `node_os_support_end_timestamp_seconds`.
struct OsCollector {
    /// The last file parsed, and what it said.
    cache: Mutex<Option<Cached>>,
}

/// A parsed os-release file and the identity it had when read.
struct Cached {
    path: PathBuf,
    identity: FileIdentity,
    release: Arc<OsRelease>,
}

/// What tells one version of a file from another without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
    size: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl FileIdentity {
    fn of(metadata: &std::fs::Metadata) -> FileIdentity {
        FileIdentity {
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.size(),
            modified: (metadata.mtime(), metadata.mtime_nsec()),
            changed: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }
}

/// The variables of an os-release file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OsRelease {
    vars: HashMap<String, String>,
}

impl OsRelease {
    /// Parses os-release text. Lines that are not assignments are skipped;
    /// a variable assigned twice keeps its last value, as in the shell.
    pub fn parse(text: &str) -> OsRelease {
        let vars = text.lines().filter_map(parse_assignment).collect();
        OsRelease { vars }
    }

    /// A variable's value, empty when it is not set.
    pub fn get(&self, key: &str) -> &str {
        self.vars.get(key).map(String::as_str).unwrap_or_default()
    }

    /// `VERSION_ID`'s leading `major[.minor]` as a number, as node_exporter
    /// reads it: `22.04` is 22.04, `12` is 12, `3.19.1` is 3.19. `None`
    /// when it does not start with a digit (`rolling`, unset).
    pub fn version_number(&self) -> Option<f64> {
        major_minor(self.get("VERSION_ID"))
    }

    /// `SUPPORT_END` (`YYYY-MM-DD`) as a Unix timestamp at midnight UTC;
    /// `None` when unset, an error when malformed.
    pub fn support_end(&self) -> Option<Result<i64, String>> {
        let date = self.get("SUPPORT_END");
        (!date.is_empty()).then(|| parse_date(date))
    }
}

/// Parses one `KEY=value` line; `None` for blank lines, comments and lines
/// that are not a well-formed assignment.
fn parse_assignment(line: &str) -> Option<(String, String)> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    // Tolerated, though os-release(5) does not use it: files are sometimes
    // written to be sourced by shells that want it.
    let line = match line.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
        _ => line,
    };
    let (key, value) = line.split_once('=')?;
    let valid_key = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_key {
        return None;
    }
    Some((key.to_string(), shell_value(value)?))
}

/// The value of a shell assignment's right-hand side: quotes removed,
/// escapes resolved, a trailing ` # comment` and trailing blanks dropped.
/// Unquoted blanks inside the value are kept, as os-release readers take
/// `NAME=Foo Bar` to mean `Foo Bar`. `None` for an unterminated quote or a
/// trailing lone backslash.
fn shell_value(raw: &str) -> Option<String> {
    let mut value = String::with_capacity(raw.len());
    // Length of `value` up to its last character that is not an unquoted
    // blank, so trailing blanks can be dropped.
    let mut significant = 0;
    let mut chars = raw.chars();
    // `#` starts a comment only at the start of a word, and the value's
    // first character is not one (`A=#1` is `#1` in the shell).
    let mut after_blank = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => value.push(c),
                    }
                }
                significant = value.len();
            }
            '"' => {
                loop {
                    match chars.next()? {
                        '"' => break,
                        // In double quotes a backslash escapes only these.
                        '\\' => match chars.next()? {
                            c @ ('$' | '`' | '"' | '\\') => value.push(c),
                            c => {
                                value.push('\\');
                                value.push(c);
                            }
                        },
                        c => value.push(c),
                    }
                }
                significant = value.len();
            }
            '\\' => {
                value.push(chars.next()?);
                significant = value.len();
            }
            '#' if after_blank => break,
            ' ' | '\t' => {
                value.push(c);
                after_blank = true;
                continue;
            }
            c => {
                value.push(c);
                significant = value.len();
            }
        }
        after_blank = false;
    }
    value.truncate(significant);
    Some(value)
}

/// The `^[0-9]+\.?[0-9]*` prefix of `version_id` as a number.
fn major_minor(version_id: &str) -> Option<f64> {
    let major = version_id.len()
        - version_id
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    if major == 0 {
        return None;
    }
    let mut end = major;
    if version_id[end..].starts_with('.') {
        end += 1;
        end += version_id[end..].len()
            - version_id[end..]
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
    }
    version_id[..end]
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

/// Parses `YYYY-MM-DD` exactly (four-digit year, two-digit month and day,
/// a real calendar date) into seconds since the epoch at midnight UTC.
fn parse_date(date: &str) -> Result<i64, String> {
    let invalid = || format!("invalid SUPPORT_END {date:?} (expected YYYY-MM-DD)");
    let bytes = date.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return Err(invalid());
    }
    let number = |range: std::ops::Range<usize>| -> Result<i64, String> {
        let digits = &date[range];
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        digits.parse().map_err(|_| invalid())
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(invalid());
    }
    Ok(days_from_civil(year, month, day) * 86_400)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Howard Hinnant's algorithm: count from 0000-03-01 in 400-year eras.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

impl OsCollector {
    /// The parsed os-release of the first file that exists, from the cache
    /// when the file is unchanged; `None` when neither file exists.
    fn load(&self, host: &Host) -> Result<Option<Arc<OsRelease>>, CollectError> {
        for host_path in OS_RELEASE_FILES {
            let path = host
                .resolve_root_path(host_path)
                .map_err(|e| CollectError::io(&host.root_path(host_path), &e))?;
            let identity = match std::fs::metadata(&path) {
                Ok(metadata) => FileIdentity::of(&metadata),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(CollectError::io(&path, &e)),
            };
            let mut cache = lock(&self.cache);
            if let Some(cached) = cache.as_ref() {
                if cached.path == path && cached.identity == identity {
                    return Ok(Some(Arc::clone(&cached.release)));
                }
            }
            let text = match read_text(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(CollectError::io(&path, &e)),
            };
            let release = Arc::new(OsRelease::parse(&text));
            *cache = Some(Cached {
                path,
                identity,
                release: Arc::clone(&release),
            });
            return Ok(Some(release));
        }
        Ok(None)
    }
}

impl Collector for OsCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let Some(release) = self.load(host)? else {
            return Err(CollectError::no_data(format!(
                "no os-release file found: {}",
                OS_RELEASE_FILES.join(", ")
            )));
        };
        const INFO_LABELS: [(&str, &str); 12] = [
            ("build_id", "BUILD_ID"),
            ("id", "ID"),
            ("id_like", "ID_LIKE"),
            ("image_id", "IMAGE_ID"),
            ("image_version", "IMAGE_VERSION"),
            ("name", "NAME"),
            ("pretty_name", "PRETTY_NAME"),
            ("variant", "VARIANT"),
            ("variant_id", "VARIANT_ID"),
            ("version", "VERSION"),
            ("version_codename", "VERSION_CODENAME"),
            ("version_id", "VERSION_ID"),
        ];
        let label_names: Vec<&str> = INFO_LABELS.iter().map(|(label, _)| *label).collect();
        let label_values: Vec<&str> = INFO_LABELS
            .iter()
            .map(|(_, var)| release.get(var))
            .collect();
        out.family(
            "node_os_info",
            "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, \
             image_version, name, pretty_name, variant, variant_id, version, version_codename, \
             version_id.",
            MetricType::Gauge,
            &label_names,
        )
        .push(&label_values, 1.0);

        // node_exporter leaves the version out when it is not above zero.
        if let Some(version) = release.version_number().filter(|v| *v > 0.0) {
            out.family(
                "node_os_version",
                "Metric containing the major.minor part of the OS version.",
                MetricType::Gauge,
                &["id", "id_like", "name"],
            )
            .push(
                &[
                    release.get("ID"),
                    release.get("ID_LIKE"),
                    release.get("NAME"),
                ],
                version,
            );
        }

        match release.support_end() {
            None => Ok(()),
            Some(Ok(timestamp)) => {
                out.gauge(
                    "node_os_support_end_timestamp_seconds",
                    "Metric containing the end-of-life date timestamp of the OS.",
                    timestamp as f64,
                );
                Ok(())
            }
            Some(Err(e)) => Err(CollectError::failed(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{run, scrape_fixtures};
    use crate::collectors::ErrorKind;
    use crate::metrics::Family;
    use std::path::Path;

    const UBUNTU: &str = r#"PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=jammy
"#;

    const RHEL: &str = r#"NAME="Red Hat Enterprise Linux"
VERSION="9.3 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux 9.3 (Plow)"
ANSI_COLOR="0;31"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:redhat:enterprise_linux:9::baseos"
HOME_URL="https://www.redhat.com/"
DOCUMENTATION_URL="https://access.redhat.com/documentation/en-us/red_hat_enterprise_linux/9"
BUG_REPORT_URL="https://bugzilla.redhat.com/"

REDHAT_BUGZILLA_PRODUCT="Red Hat Enterprise Linux 9"
REDHAT_BUGZILLA_PRODUCT_VERSION=9.3
REDHAT_SUPPORT_PRODUCT="Red Hat Enterprise Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.3"
"#;

    const ALPINE: &str = "NAME=\"Alpine Linux\"\n\
                          ID=alpine\n\
                          VERSION_ID=3.19.1\n\
                          PRETTY_NAME=\"Alpine Linux v3.19\"\n\
                          HOME_URL=\"https://alpinelinux.org/\"\n\
                          BUG_REPORT_URL=\"https://gitlab.alpinelinux.org/alpine/aports/-/issues\"\n";

    const FEDORA_COREOS: &str = r#"NAME="Fedora Linux"
VERSION="39.20240210.3.0 (CoreOS)"
ID=fedora
VERSION_ID=39
VERSION_CODENAME=""
PLATFORM_ID="platform:f39"
PRETTY_NAME="Fedora CoreOS 39.20240210.3.0"
VARIANT="CoreOS"
VARIANT_ID=coreos
SUPPORT_END=2024-11-12
OSTREE_VERSION='39.20240210.3.0'
"#;

    #[test]
    fn parses_this_machines_debian_file() {
        let release = OsRelease::parse(include_str!("../../tests/fixtures/root/etc/os-release"));
        assert_eq!(release.get("ID"), "debian");
        assert_eq!(release.get("NAME"), "Debian GNU/Linux");
        assert_eq!(release.get("PRETTY_NAME"), "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(release.get("VERSION"), "12 (bookworm)");
        assert_eq!(release.get("VERSION_CODENAME"), "bookworm");
        assert_eq!(release.get("ID_LIKE"), "");
        assert_eq!(release.version_number(), Some(12.0));
        assert_eq!(release.support_end(), None);
    }

    #[test]
    fn parses_other_distributions() {
        let ubuntu = OsRelease::parse(UBUNTU);
        assert_eq!(ubuntu.get("ID_LIKE"), "debian");
        assert_eq!(ubuntu.version_number(), Some(22.04));
        let rhel = OsRelease::parse(RHEL);
        assert_eq!(rhel.get("ID"), "rhel");
        assert_eq!(rhel.get("REDHAT_BUGZILLA_PRODUCT_VERSION"), "9.3");
        assert_eq!(rhel.version_number(), Some(9.3));
        let alpine = OsRelease::parse(ALPINE);
        assert_eq!(alpine.get("PRETTY_NAME"), "Alpine Linux v3.19");
        assert_eq!(alpine.version_number(), Some(3.19));
        let coreos = OsRelease::parse(FEDORA_COREOS);
        assert_eq!(coreos.get("VARIANT_ID"), "coreos");
        assert_eq!(coreos.get("VERSION_CODENAME"), "");
        assert_eq!(coreos.get("OSTREE_VERSION"), "39.20240210.3.0");
        assert_eq!(coreos.support_end(), Some(Ok(1_731_369_600)));
    }

    #[test]
    fn version_numbers_follow_node_exporter() {
        let v = |id: &str| major_minor(id);
        assert_eq!(v("22.04"), Some(22.04));
        assert_eq!(v("12"), Some(12.0));
        assert_eq!(v("3.19.1"), Some(3.19));
        assert_eq!(v("9."), Some(9.0));
        assert_eq!(v("15-SP5"), Some(15.0));
        assert_eq!(v("2023.4"), Some(2023.4));
        assert_eq!(v("0"), Some(0.0));
        assert_eq!(v("rolling"), None);
        assert_eq!(v(".5"), None);
        assert_eq!(v(""), None);
        assert_eq!(v(&"9".repeat(400)), None);
    }

    #[test]
    fn shell_quoting_and_escapes() {
        let parse = |line: &str| parse_assignment(line);
        let kv = |k: &str, v: &str| Some((k.to_string(), v.to_string()));
        assert_eq!(parse("ID=debian"), kv("ID", "debian"));
        assert_eq!(
            parse("NAME=\"Debian GNU/Linux\""),
            kv("NAME", "Debian GNU/Linux")
        );
        assert_eq!(parse("NAME='single $quoted'"), kv("NAME", "single $quoted"));
        assert_eq!(
            parse(r#"PRETTY_NAME="say \"hi\" \\ \$HOME \`x\`""#),
            kv("PRETTY_NAME", r#"say "hi" \ $HOME `x`"#)
        );
        // Other backslashes inside double quotes stay, as in the shell.
        assert_eq!(parse(r#"A="a\nb""#), kv("A", r"a\nb"));
        assert_eq!(parse(r"A=un\ quoted\$"), kv("A", "un quoted$"));
        assert_eq!(parse("A=\"x\"'y'z"), kv("A", "xyz"));
        assert_eq!(parse("A=value # comment"), kv("A", "value"));
        assert_eq!(
            parse("A=\"quoted # kept\" # dropped"),
            kv("A", "quoted # kept")
        );
        assert_eq!(parse("A=no#comment"), kv("A", "no#comment"));
        assert_eq!(parse("A=#1"), kv("A", "#1"));
        assert_eq!(parse("A= #only a comment"), kv("A", ""));
        assert_eq!(parse("A=Foo Bar  "), kv("A", "Foo Bar"));
        assert_eq!(parse("A=\"  padded  \"  "), kv("A", "  padded  "));
        assert_eq!(parse("A="), kv("A", ""));
        assert_eq!(parse("A=\"\""), kv("A", ""));
        assert_eq!(parse("  ID=indented"), kv("ID", "indented"));
        assert_eq!(parse("export ID=exported"), kv("ID", "exported"));
        assert_eq!(parse("export=1"), kv("export", "1"));
        assert_eq!(parse("NAME=\"Ünïcødé\""), kv("NAME", "Ünïcødé"));
    }

    #[test]
    fn skips_comments_blank_and_broken_lines() {
        for line in [
            "",
            "   ",
            "# ID=commented",
            "  # indented comment",
            "no separator",
            "=value",
            "1ID=digit first",
            "BAD-KEY=x",
            "KEY WITH SPACE=x",
            "A=\"unterminated",
            "A='unterminated",
            "A=trailing\\",
            "A=\"escape at end\\",
        ] {
            assert_eq!(parse_assignment(line), None, "{line:?}");
        }
        let release = OsRelease::parse("garbage\n\0\0\0\nID=ok\nID=\"last wins\"\nA=\"open\n");
        assert_eq!(release.get("ID"), "last wins");
        assert_eq!(release.get("A"), "");
    }

    #[test]
    fn support_end_dates() {
        assert_eq!(parse_date("1970-01-01"), Ok(0));
        assert_eq!(parse_date("2024-11-12"), Ok(1_731_369_600));
        assert_eq!(parse_date("2000-02-29"), Ok(951_782_400));
        assert_eq!(parse_date("1969-12-31"), Ok(-86_400));
        for bad in [
            "2024-02-30",
            "2023-02-29",
            "1900-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-1-01",
            "24-01-01",
            "2024-01-01T00:00",
            "2024/01/01",
            "+024-01-01",
            "",
        ] {
            assert!(parse_date(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fixture_tree_reports_debian() {
        assert_eq!(
            scrape_fixtures(&SPEC, &[]),
            "# HELP node_os_info A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, version_codename, version_id.\n\
             # TYPE node_os_info gauge\n\
             node_os_info{build_id=\"\",id=\"debian\",id_like=\"\",image_id=\"\",image_version=\"\",name=\"Debian GNU/Linux\",pretty_name=\"Debian GNU/Linux 12 (bookworm)\",variant=\"\",variant_id=\"\",version=\"12 (bookworm)\",version_codename=\"bookworm\",version_id=\"12\"} 1\n\
             # HELP node_os_version Metric containing the major.minor part of the OS version.\n\
             # TYPE node_os_version gauge\n\
             node_os_version{id=\"debian\",id_like=\"\",name=\"Debian GNU/Linux\"} 12\n"
        );
    }

    fn collector() -> OsCollector {
        OsCollector {
            cache: Mutex::new(None),
        }
    }

    fn host_on(rootfs: &Path) -> Host {
        Host::new("/nonexistent", "/nonexistent", rootfs, "/nonexistent")
    }

    fn write(root: &Path, host_path: &str, text: &str) {
        let path = root.join(host_path.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn label(families: &[Family], metric: &str, label: &str) -> Option<String> {
        let family = families.iter().find(|f| f.name() == metric)?;
        let index = family.label_names().iter().position(|l| l == label)?;
        Some(
            family
                .label_values(&family.samples()[0])
                .nth(index)?
                .to_string(),
        )
    }

    fn value(families: &[Family], metric: &str) -> Option<f64> {
        let family = families.iter().find(|f| f.name() == metric)?;
        Some(family.samples()[0].value)
    }

    fn names(families: &[Family]) -> Vec<&str> {
        families.iter().map(|f| f.name()).collect()
    }

    /// One run on a root filesystem holding `files` (host path, content).
    fn collect(files: &[(&str, &str)]) -> (Vec<Family>, Result<(), CollectError>) {
        let dir = tempfile::tempdir().unwrap();
        for (host_path, text) in files {
            write(dir.path(), host_path, text);
        }
        run(&collector(), &host_on(dir.path()))
    }

    #[test]
    fn falls_back_to_usr_lib() {
        let (families, result) = collect(&[("/usr/lib/os-release", ALPINE)]);
        result.unwrap();
        assert_eq!(
            label(&families, "node_os_info", "id").as_deref(),
            Some("alpine")
        );
        assert_eq!(value(&families, "node_os_version"), Some(3.19));
    }

    #[test]
    fn etc_wins_over_usr_lib() {
        let (families, result) =
            collect(&[("/usr/lib/os-release", ALPINE), ("/etc/os-release", UBUNTU)]);
        result.unwrap();
        assert_eq!(
            label(&families, "node_os_info", "id").as_deref(),
            Some("ubuntu")
        );
        assert_eq!(
            label(&families, "node_os_version", "id_like").as_deref(),
            Some("debian")
        );
    }

    #[test]
    fn no_file_is_no_data() {
        let (families, result) = collect(&[]);
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
        assert!(families.is_empty());
    }

    #[test]
    fn non_numeric_version_has_no_version_metric() {
        let (families, result) = collect(&[("/etc/os-release", "ID=arch\nBUILD_ID=rolling\n")]);
        result.unwrap();
        assert_eq!(names(&families), vec!["node_os_info"]);
        assert_eq!(
            label(&families, "node_os_info", "build_id").as_deref(),
            Some("rolling")
        );
    }

    #[test]
    fn support_end_is_reported() {
        let (families, result) = collect(&[("/etc/os-release", FEDORA_COREOS)]);
        result.unwrap();
        assert_eq!(
            value(&families, "node_os_support_end_timestamp_seconds"),
            Some(1_731_369_600.0)
        );
        assert_eq!(
            label(&families, "node_os_info", "variant").as_deref(),
            Some("CoreOS")
        );
    }

    #[test]
    fn bad_support_end_fails_after_the_info() {
        let (families, result) =
            collect(&[("/etc/os-release", "ID=x\nVERSION_ID=1\nSUPPORT_END=soon\n")]);
        assert!(result.unwrap_err().message().contains("SUPPORT_END"));
        assert_eq!(names(&families), vec!["node_os_info", "node_os_version"]);
    }

    #[test]
    fn reparses_only_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "/etc/os-release", "ID=first\n");
        let collector = collector();
        let host = host_on(dir.path());
        let first = collector.load(&host).unwrap().unwrap();
        let again = collector.load(&host).unwrap().unwrap();
        assert!(Arc::ptr_eq(&first, &again), "unchanged file is not re-read");

        // Same size, replaced by a new file: a new inode.
        let path = dir.path().join("etc/os-release");
        let replacement = dir.path().join("etc/os-release.new");
        std::fs::write(&replacement, "ID=secnd\n").unwrap();
        std::fs::rename(&replacement, &path).unwrap();
        assert_eq!(collector.load(&host).unwrap().unwrap().get("ID"), "secnd");

        // Removed: the fallback is read instead.
        std::fs::remove_file(&path).unwrap();
        write(dir.path(), "/usr/lib/os-release", "ID=fallback\n");
        assert_eq!(
            collector.load(&host).unwrap().unwrap().get("ID"),
            "fallback"
        );
    }

    #[test]
    fn follows_absolute_links_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "/nix/store/abc-etc/etc/os-release",
            "ID=nixos\n",
        );
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::os::unix::fs::symlink(
            "/nix/store/abc-etc/etc/os-release",
            dir.path().join("etc/os-release"),
        )
        .unwrap();
        let (families, result) = run(&collector(), &host_on(dir.path()));
        result.unwrap();
        assert_eq!(
            label(&families, "node_os_info", "id").as_deref(),
            Some("nixos")
        );
    }

    #[test]
    fn directory_in_place_of_the_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc/os-release")).unwrap();
        let (_, result) = run(&collector(), &host_on(dir.path()));
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Failed);
    }
}
