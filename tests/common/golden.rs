//! Golden files: compare output with a checked-in file, print a readable
//! line diff on mismatch, or rewrite the file when `UPDATE_GOLDEN=1`.

use std::fs;
use std::path::Path;

/// Lines of unchanged context shown around each difference.
const CONTEXT: usize = 2;
/// Most diff lines printed; the rest are counted.
const MAX_DIFF_LINES: usize = 400;
/// Largest remaining block (lines × lines) diffed line by line; beyond it the
/// diff falls back to listing what each side lacks.
const MAX_DIFF_CELLS: usize = 16_000_000;

/// Compares `actual` with the golden file at `relative` (from the crate
/// root), or rewrites that file when the `UPDATE_GOLDEN` variable is `1`.
pub fn check(relative: &str, actual: &str, regenerate: &str) {
    let path = super::crate_root().join(relative);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        write(&path, actual);
        return;
    }
    let expected = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {relative}: {e}\nCreate it with: {regenerate}"));
    if expected != actual {
        panic!(
            "output differs from {relative} (- golden, + actual):\n{}\n\
             If the change is intended, regenerate with: {regenerate}",
            diff(&expected, actual)
        );
    }
}

fn write(path: &Path, content: &str) {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).expect("creating the golden directory");
    }
    fs::write(path, content).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// A unified-style diff of two texts, line by line.
pub fn diff(expected: &str, actual: &str) -> String {
    let old: Vec<&str> = expected.lines().collect();
    let new: Vec<&str> = actual.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let old_mid = &old[prefix..old.len() - suffix];
    let new_mid = &new[prefix..new.len() - suffix];

    let ops = if old_mid.len().saturating_mul(new_mid.len()) <= MAX_DIFF_CELLS {
        edit_script(old_mid, new_mid)
    } else {
        let mut ops: Vec<Op> = old_mid.iter().map(|l| Op::Delete(l)).collect();
        ops.extend(new_mid.iter().map(|l| Op::Insert(l)));
        ops
    };
    render(&old, prefix, &ops, old.len() - suffix)
}

enum Op<'a> {
    Keep(&'a str),
    Delete(&'a str),
    Insert(&'a str),
}

/// The shortest edit script from `old` to `new`, by longest common
/// subsequence.
fn edit_script<'a>(old: &[&'a str], new: &[&'a str]) -> Vec<Op<'a>> {
    let width = new.len() + 1;
    // lcs[i * width + j]: LCS length of old[i..] and new[j..].
    let mut lcs = vec![0u32; (old.len() + 1) * width];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            lcs[i * width + j] = if old[i] == new[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j, mut ops) = (0, 0, Vec::new());
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            ops.push(Op::Keep(old[i]));
            i += 1;
            j += 1;
        } else if i < old.len()
            && (j == new.len() || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])
        {
            ops.push(Op::Delete(old[i]));
            i += 1;
        } else {
            ops.push(Op::Insert(new[j]));
            j += 1;
        }
    }
    ops
}

/// Prints the changed lines with a little context; kept and removed lines
/// carry their golden line number, added lines their actual one.
fn render(old: &[&str], prefix: usize, ops: &[Op<'_>], tail_start: usize) -> String {
    let mut lines: Vec<(char, usize, &str)> = Vec::new();
    let first_context = prefix.saturating_sub(CONTEXT);
    for (n, line) in old.iter().enumerate().take(prefix).skip(first_context) {
        lines.push((' ', n + 1, line));
    }
    let (mut old_no, mut new_no) = (prefix, prefix);
    for op in ops {
        match op {
            Op::Keep(l) => {
                old_no += 1;
                new_no += 1;
                lines.push((' ', old_no, l));
            }
            Op::Delete(l) => {
                old_no += 1;
                lines.push(('-', old_no, l));
            }
            Op::Insert(l) => {
                new_no += 1;
                lines.push(('+', new_no, l));
            }
        }
    }
    for (n, line) in old.iter().enumerate().skip(tail_start).take(CONTEXT) {
        lines.push((' ', n + 1, line));
    }

    // Keep only context lines near a change.
    let changed: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].0 != ' ').collect();
    let near_change = |i: usize| changed.iter().any(|&c| c.abs_diff(i) <= CONTEXT);
    let mut out = String::new();
    let mut printed = 0;
    let mut skipped = false;
    for (i, (mark, n, text)) in lines.iter().enumerate() {
        if !near_change(i) {
            skipped = true;
            continue;
        }
        if skipped && !out.is_empty() {
            out.push_str("...\n");
        }
        skipped = false;
        if printed == MAX_DIFF_LINES {
            out.push_str(&format!(
                "... cut at {MAX_DIFF_LINES} lines; {} lines changed in all\n",
                changed.len()
            ));
            break;
        }
        out.push_str(&format!("{mark}{n:>6} {text}\n"));
        printed += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::diff;

    #[test]
    fn diff_marks_changed_lines_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nD\ne\nf\ng\nh\ni\n";
        let d = diff(old, new);
        assert!(d.contains("-     4 d\n"), "{d}");
        assert!(d.contains("+     4 D\n"), "{d}");
        assert!(d.contains("+     9 i\n"), "{d}");
        assert!(d.find("-     4 d") < d.find("+     4 D"), "{d}");
        assert!(!d.contains(" a\n"), "{d}");
        assert_eq!(diff(old, old), "");
    }
}
