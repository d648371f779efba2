//! Parsing of `/proc/<pid>/mountinfo`, described in proc(5):
//!
//! ```text
//! 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//! (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)    (10)         (11)
//! ```
//!
//! Fields are separated by single spaces. (7) is zero or more optional fields
//! (`shared:N`, `master:N`, `propagate_from:N`, `unbindable`), ended by the
//! `-` separator (8); a private mount has none. The kernel writes space, tab,
//! newline and backslash inside a field as octal escapes (`\040`, `\011`,
//! `\012`, `\134`), so a field never contains a raw space, but the mount
//! source (10) may be empty, which `split(' ')` keeps and
//! `split_whitespace` would lose.
//!
//! mountinfo is preferred to `/proc/mounts` because it separates the
//! per-mount options (6) from the filesystem's own (11), and carries the
//! device numbers.

use std::io;
use std::path::PathBuf;

use crate::host::Host;

/// Reads the host's mountinfo: PID 1's, or this process's own when PID 1's
/// is hidden (hidepid), as node_exporter does. Returns the path read and its
/// text; on failure, the path that failed, with the error.
pub fn read_host_mountinfo(host: &Host) -> Result<(PathBuf, String), (PathBuf, io::Error)> {
    host.read_init_or_self("mountinfo")
        .map(|(dir, text)| (dir.join("mountinfo"), text))
}

/// One mount, as a line of mountinfo describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Major number of the filesystem's device (field 3).
    pub major: u32,
    /// Minor number of the filesystem's device (field 3).
    pub minor: u32,
    /// Where it is mounted, unescaped, as the reading process sees it (field 5).
    pub mount_point: String,
    /// Per-mount options such as `rw,relatime` (field 6).
    pub mount_options: String,
    /// Filesystem type, e.g. `ext4` or `fuse.sshfs` (field 9).
    pub fs_type: String,
    /// Mount source, unescaped: a device path, `server:/export`, or a free
    /// name for virtual filesystems (field 10). May be empty.
    pub source: String,
    /// The filesystem's own (superblock) options (field 11).
    pub super_options: String,
    /// Whether mounts made elsewhere propagate into this one: it is a peer
    /// (`shared:N`) or a slave (`master:N`) of another mount (field 7).
    pub receives_mounts: bool,
}

impl Mount {
    /// Whether writes through this mount are refused: `ro` in either the
    /// per-mount or the superblock options, which is also what
    /// `/proc/mounts` shows, or `emergency_ro` in the superblock options.
    /// Since Linux 6.12 an ext4 filesystem that `errors=remount-ro` shut
    /// after an error no longer shows `ro`; 6.15 and later show
    /// `emergency_ro` instead.
    pub fn is_read_only(&self) -> bool {
        let has = |options: &str, flag: &str| options.split(',').any(|o| o == flag);
        has(&self.mount_options, "ro")
            || has(&self.super_options, "ro")
            || has(&self.super_options, "emergency_ro")
    }
}

/// The mounts of one mountinfo file, and the lines that could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountInfo {
    /// Every well-formed line, in file order.
    pub mounts: Vec<Mount>,
    /// One message per malformed line, naming the line and the problem.
    pub malformed: Vec<String>,
}

impl MountInfo {
    /// Parses a whole mountinfo file. A malformed line is reported in
    /// [`MountInfo::malformed`] and skipped, so that one bad line (or a file
    /// cut short) costs that mount only. Blank lines are ignored.
    pub fn parse(text: &str) -> MountInfo {
        let mut info = MountInfo::default();
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match parse_line(line) {
                Ok(mount) => info.mounts.push(mount),
                Err(problem) => info
                    .malformed
                    .push(format!("line {}: {problem}: {line:?}", number + 1)),
            }
        }
        info
    }
}

fn parse_line(line: &str) -> Result<Mount, &'static str> {
    let fields: Vec<&str> = line.split(' ').collect();
    // Six fixed fields, the separator, and three after it.
    if fields.len() < 10 {
        return Err("too few fields");
    }
    if fields[0].parse::<u64>().is_err() || fields[1].parse::<u64>().is_err() {
        return Err("invalid mount ID");
    }
    let (major, minor) = fields[2]
        .split_once(':')
        .and_then(|(major, minor)| Some((major.parse().ok()?, minor.parse().ok()?)))
        .ok_or("invalid major:minor")?;
    if fields[4].is_empty() {
        return Err("empty mount point");
    }
    let separator = fields[6..]
        .iter()
        .position(|field| *field == "-")
        .map(|offset| offset + 6)
        .ok_or("no \"-\" separator")?;
    // Later kernels might append fields; the first three after the
    // separator are all that is needed.
    let after = fields
        .get(separator + 1..separator + 4)
        .ok_or("too few fields after \"-\"")?;
    if after[0].is_empty() {
        return Err("empty filesystem type");
    }
    let receives_mounts = fields[6..separator]
        .iter()
        .any(|field| field.starts_with("shared:") || field.starts_with("master:"));
    Ok(Mount {
        major,
        minor,
        mount_point: unescape(fields[4]),
        mount_options: fields[5].to_string(),
        fs_type: after[0].to_string(),
        source: unescape(after[1]),
        super_options: after[2].to_string(),
        receives_mounts,
    })
}

/// Decodes the kernel's `\ooo` octal escapes; a backslash not followed by
/// three octal digits is kept as it is.
pub fn unescape(field: &str) -> String {
    if !field.contains('\\') {
        return field.to_string();
    }
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if let Some(byte) = bytes.get(i + 1..i + 4).and_then(octal_byte) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn octal_byte(digits: &[u8]) -> Option<u8> {
    digits.iter().try_fold(0u8, |value, &digit| {
        if !(b'0'..=b'7').contains(&digit) {
            return None;
        }
        value.checked_mul(8)?.checked_add(digit - b'0')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Mount {
        let info = MountInfo::parse(line);
        assert_eq!(info.malformed, Vec::<String>::new());
        assert_eq!(info.mounts.len(), 1);
        info.mounts.into_iter().next().unwrap()
    }

    #[test]
    fn parses_lines_of_this_machine_without_optional_fields() {
        let text = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
28 27 0:25 / /mnt/sandboxing/model_tools_env/v1/python ro,nosuid,nodev,relatime - tmpfs model_tools_unavailable ro,size=4k,mode=755
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683656k
30 25 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683656k
";
        let info = MountInfo::parse(text);
        assert!(info.malformed.is_empty(), "{:?}", info.malformed);
        assert_eq!(info.mounts.len(), 5);
        assert_eq!(
            info.mounts[1],
            Mount {
                major: 254,
                minor: 0,
                mount_point: "/".into(),
                mount_options: "rw,relatime".into(),
                fs_type: "ext4".into(),
                source: "/dev/vda".into(),
                super_options: "rw,discard,resv_strict,resuid=65534,resgid=65534".into(),
                receives_mounts: false,
            }
        );
        assert!(!info.mounts[1].is_read_only());
        assert!(info.mounts[2].is_read_only());
        assert_eq!(info.mounts[3].mount_point, info.mounts[4].mount_point);
        assert_eq!((info.mounts[4].major, info.mounts[4].minor), (0, 27));
    }

    #[test]
    fn parses_optional_fields() {
        let m = one("36 35 98:0 /mnt1 /mnt2 rw,noatime shared:1 master:2 propagate_from:3 unbindable - ext3 /dev/root rw,errors=continue");
        assert_eq!(m.mount_point, "/mnt2");
        assert_eq!(m.fs_type, "ext3");
        assert_eq!(m.source, "/dev/root");
        assert_eq!(m.super_options, "rw,errors=continue");
        assert!(m.receives_mounts);
        let m = one("29 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw");
        assert_eq!((m.major, m.minor), (8, 1));
        assert!(m.receives_mounts, "a peer");
        assert!(one("29 1 8:1 / / rw master:5 - ext4 /dev/sda1 rw").receives_mounts);
        assert!(!one("29 1 8:1 / / rw unbindable - ext4 /dev/sda1 rw").receives_mounts);
    }

    #[test]
    fn decodes_escapes_in_mount_point_and_source() {
        let m = one(
            r"40 22 8:17 / /mnt/backup\040disk\011tab\012nl\134bs rw - ext4 /dev/disk/by-label/My\040Disk rw",
        );
        assert_eq!(m.mount_point, "/mnt/backup disk\ttab\nnl\\bs");
        assert_eq!(m.source, "/dev/disk/by-label/My Disk");
        // Not an escape: kept as written.
        let m = one(r"41 22 0:50 / /odd\9x\04 rw - tmpfs none\ rw");
        assert_eq!(m.mount_point, r"/odd\9x\04");
        assert_eq!(m.source, r"none\");
        assert_eq!(unescape(r"\400"), r"\400", "beyond a byte");
    }

    #[test]
    fn read_only_in_either_option_list() {
        let per_mount = one("1 0 8:1 / /a ro,relatime - ext4 /dev/sda1 rw");
        let superblock = one("1 0 8:1 / /b rw,relatime - ext4 /dev/sda1 ro,errors=remount-ro");
        let neither = one("1 0 8:1 / /c rw,relatime - ext4 /dev/sda1 rw,errors=remount-ro");
        let substring = one("1 0 0:50 / /d rw - nfs4 srv:/x rw,proto=tcp,rootcontext=x");
        assert!(per_mount.is_read_only());
        assert!(superblock.is_read_only());
        assert!(!neither.is_read_only());
        assert!(!substring.is_read_only());
    }

    #[test]
    fn ext4_shut_by_an_error_is_read_only() {
        // Linux 6.15 and later, after `errors=remount-ro` fired.
        let emergency =
            one("1 0 8:1 / /e rw,relatime - ext4 /dev/sda1 rw,emergency_ro,errors=remount-ro");
        assert!(emergency.is_read_only());
        // The flag counts only among the filesystem's own options, and whole.
        let per_mount = one("1 0 8:1 / /f rw,emergency_ro - ext4 /dev/sda1 rw");
        let longer = one("1 0 8:1 / /g rw - ext4 /dev/sda1 rw,emergency_ro_x");
        assert!(!per_mount.is_read_only());
        assert!(!longer.is_read_only());
    }

    #[test]
    fn empty_source_and_trailing_fields() {
        let m = one("50 22 0:60 / /mnt/empty rw,relatime shared:9 - tmpfs  rw,size=1k");
        assert_eq!(m.source, "");
        assert_eq!(m.super_options, "rw,size=1k");
        let m = one("50 22 0:60 / /mnt/more rw - tmpfs tmpfs rw future");
        assert_eq!(m.super_options, "rw");
    }

    #[test]
    fn malformed_lines_are_reported_and_skipped() {
        let text = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
garbage
1 2 3:4 / /x rw shared:1 ext4 /dev/sda rw
x 1 8:1 / /y rw - ext4 /dev/sda rw
1 1 8 / /y rw - ext4 /dev/sda rw
1 1 8:a / /y rw - ext4 /dev/sda rw
1 1 8:1 /  rw - ext4 /dev/sda rw x
1 1 8:1 / /z rw a b c - ext4 /dev/sda
1 1 8:1 / /z rw a b c -  /dev/sda rw

31 27 8:2 / /boot rw,relatime - ext4 /dev/vdb rw";
        let info = MountInfo::parse(text);
        let points: Vec<_> = info.mounts.iter().map(|m| m.mount_point.as_str()).collect();
        assert_eq!(points, vec!["/", "/boot"]);
        assert_eq!(info.malformed.len(), 8, "{:#?}", info.malformed);
        assert!(info.malformed[0].starts_with("line 2: too few fields"));
        assert!(info.malformed[1].contains("separator"));
    }

    #[test]
    fn truncated_and_binary_input_does_not_panic() {
        let full = "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue";
        for end in 0..full.len() {
            let _ = MountInfo::parse(&full[..end]);
        }
        let info = MountInfo::parse("\0\u{fffd} \\\\\\ - - - - - - - - - -\n");
        assert!(info.mounts.is_empty());
        assert_eq!(MountInfo::parse(""), MountInfo::default());
    }
}
