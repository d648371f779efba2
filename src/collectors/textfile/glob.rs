//! Path handling as node_exporter's textfile collector does it, with Go's
//! `filepath` rules: `Glob` to expand a directory flag, `Join` (which cleans)
//! to name the files found. Matching those rules keeps the `file` label of
//! `node_textfile_mtime_seconds` identical to node_exporter's.

use std::fs;

/// A malformed glob pattern (an unclosed `[`, a trailing `\`, an empty or
/// inverted class); the caller then treats the pattern as a plain path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPattern;

/// Expands a glob as Go's `filepath.Glob` does: `*`, `?`, `[...]` classes
/// and `\` escapes, matched per path element, each directory's matches in
/// name order. A pattern without metacharacters matches itself if it exists.
/// Unreadable directories simply match nothing.
pub fn glob(pattern: &str) -> Result<Vec<String>, BadPattern> {
    Pattern::compile(pattern)?;
    if !has_meta(pattern) {
        let exists = fs::symlink_metadata(pattern).is_ok();
        return Ok(if exists {
            vec![pattern.to_string()]
        } else {
            Vec::new()
        });
    }
    let split_at = pattern.rfind('/').map_or(0, |i| i + 1);
    let (dir, file) = pattern.split_at(split_at);
    let dir = match dir {
        "" => ".",
        "/" => "/",
        _ => &dir[..dir.len() - 1],
    };
    let file = Pattern::compile(file)?;
    if !has_meta(dir) {
        return Ok(matches_in(dir, &file));
    }
    if dir == pattern {
        return Err(BadPattern);
    }
    Ok(glob(dir)?
        .iter()
        .flat_map(|d| matches_in(d, &file))
        .collect())
}

/// The entries of `dir` whose names match, joined to `dir`, in name order.
fn matches_in(dir: &str, pattern: &Pattern) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| pattern.matches(name))
        .collect();
    names.sort_unstable();
    names.iter().map(|name| join(dir, name)).collect()
}

fn has_meta(path: &str) -> bool {
    path.contains(['*', '?', '[', '\\'])
}

/// Joins a directory and a name and cleans the result, as Go's
/// `filepath.Join` does (`dir/./a//` + `x` is `dir/a/x`).
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        clean(name)
    } else {
        clean(&format!("{dir}/{name}"))
    }
}

/// The shortest equivalent of a path by lexical processing, as Go's
/// `filepath.Clean`: repeated slashes and `.` elements go, `x/..` pairs
/// cancel, `..` above the root goes; an empty result is `.`.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    AnyChar,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled glob pattern for one path element.
#[derive(Debug, Clone, PartialEq)]
struct Pattern {
    tokens: Vec<Token>,
}

impl Pattern {
    /// Compiles a pattern, checking all of it as Go's `Match` does.
    fn compile(pattern: &str) -> Result<Pattern, BadPattern> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            tokens.push(match c {
                '*' => Token::Star,
                '?' => Token::AnyChar,
                '\\' => Token::Literal(chars.next().ok_or(BadPattern)?),
                '[' => {
                    let negated = chars.next_if_eq(&'^').is_some();
                    let mut ranges = Vec::new();
                    loop {
                        if !ranges.is_empty() && chars.next_if_eq(&']').is_some() {
                            break;
                        }
                        let lo = class_char(&mut chars)?;
                        let hi = match chars.next_if_eq(&'-') {
                            Some(_) => class_char(&mut chars)?,
                            None => lo,
                        };
                        ranges.push((lo, hi));
                    }
                    Token::Class { negated, ranges }
                }
                other => Token::Literal(other),
            });
        }
        Ok(Pattern { tokens })
    }

    /// Whether a whole path element matches; `*` and `?` never match `/`.
    fn matches(&self, name: &str) -> bool {
        let text: Vec<char> = name.chars().collect();
        let (mut p, mut t) = (0, 0);
        // Where to resume when a mismatch follows a star: the token after
        // it and the next text position it could swallow.
        let mut resume: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(Token::Star) => {
                    resume = Some((p + 1, t));
                    p += 1;
                    continue;
                }
                Some(token) if token.matches(text[t]) => {
                    p += 1;
                    t += 1;
                    continue;
                }
                _ => {}
            }
            match resume {
                Some((after_star, swallowed)) if text[swallowed] != '/' => {
                    resume = Some((after_star, swallowed + 1));
                    p = after_star;
                    t = swallowed + 1;
                }
                _ => return false,
            }
        }
        self.tokens[p..].iter().all(|token| *token == Token::Star)
    }
}

impl Token {
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Literal(l) => *l == c,
            Token::AnyChar => c != '/',
            Token::Star => false,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

/// One character of a class: anything but `-` and `]` unless escaped.
fn class_char(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<char, BadPattern> {
    match chars.next() {
        None | Some('-') | Some(']') => Err(BadPattern),
        Some('\\') => chars.next().ok_or(BadPattern),
        Some(c) => Ok(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        Pattern::compile(pattern).unwrap().matches(name)
    }

    #[test]
    fn matching_follows_go() {
        // Cases from Go's filepath.Match documentation and tests.
        let cases: &[(&str, &str, bool)] = &[
            ("abc", "abc", true),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*", "abc", true),
            ("a*", "ab/c", false),
            ("a*/b", "abc/b", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
            ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^b-d]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a?b", "a☺b", true),
            ("a[^a]b", "a☺b", true),
            ("a???b", "a☺b", false),
            ("[a-ζ]*", "α", true),
            ("*[a-ζ]", "A", false),
            ("a?b", "a/b", false),
            ("a*b", "a/b", false),
            ("[\\]a]", "]", true),
            ("[\\-]", "-", true),
            ("[x\\-]", "z", false),
            ("[x\\-]", "-", true),
            ("*x", "xxx", true),
            ("*.prom", ".prom", true),
            ("*", ".hidden", true),
        ];
        for &(pattern, name, want) in cases {
            assert_eq!(matches(pattern, name), want, "{pattern:?} vs {name:?}");
        }
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [
            "[", "[^", "[]a]", "[-]", "[x-]", "[^bc", "a[", "ab\\", "[a-b-c]", "*x\\",
        ] {
            assert_eq!(Pattern::compile(bad), Err(BadPattern), "{bad:?}");
            assert_eq!(glob(bad), Err(BadPattern), "{bad:?}");
        }
    }

    #[test]
    fn clean_and_join_follow_go() {
        let cases = [
            ("", "."),
            ("abc", "abc"),
            ("abc/", "abc"),
            ("a//b", "a/b"),
            ("./a/./b/.", "a/b"),
            ("a/../b", "b"),
            ("a/b/../../..", ".."),
            ("../../a", "../../a"),
            ("/../a", "/a"),
            ("/", "/"),
            ("//", "/"),
            ("/a/b/../c/", "/a/c"),
        ];
        for (path, want) in cases {
            assert_eq!(clean(path), want, "{path:?}");
        }
        assert_eq!(
            join("tests/fixtures/textfile/", "a.prom"),
            "tests/fixtures/textfile/a.prom"
        );
        assert_eq!(join("./dir//", "a.prom"), "dir/a.prom");
        assert_eq!(join("/", "a.prom"), "/a.prom");
    }

    #[test]
    fn glob_walks_directories_in_name_order() {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().to_str().unwrap();
        for dir in ["b/textfiles", "a/textfiles", "a/other", "c/textfiles"] {
            fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        fs::write(root.path().join("c/textfiles/x"), "").unwrap();
        assert_eq!(
            glob(&format!("{base}/*/textfiles")).unwrap(),
            vec![
                format!("{base}/a/textfiles"),
                format!("{base}/b/textfiles"),
                format!("{base}/c/textfiles"),
            ]
        );
        assert_eq!(
            glob(&format!("{base}/[ab]/*")).unwrap(),
            vec![
                format!("{base}/a/other"),
                format!("{base}/a/textfiles"),
                format!("{base}/b/textfiles"),
            ]
        );
        assert_eq!(
            glob(&format!("{base}//*/textfiles/x")).unwrap(),
            vec![format!("{base}/c/textfiles/x")]
        );
        assert!(glob(&format!("{base}/*/nothing")).unwrap().is_empty());
        assert!(glob(&format!("{base}/missing/*")).unwrap().is_empty());
        assert_eq!(glob(base).unwrap(), vec![base.to_string()]);
        assert!(glob(&format!("{base}/missing")).unwrap().is_empty());
    }
}
