//! Keeps README.md's collector tables true to the registry: every collector
//! with its default and what it reads, and every node_exporter collector
//! hostwatch does not have. On a mismatch the test prints the rows to paste.

use hostwatch::collectors::registry::{ALL, NOT_IMPLEMENTED};

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

/// The lines of the section that starts with `heading`, up to the next
/// heading of the same or a higher level.
fn section<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| l.trim() != heading);
    assert!(
        lines.next().is_some(),
        "README.md has no {heading:?} section"
    );
    let level = heading.chars().take_while(|&c| c == '#').count();
    lines
        .take_while(|l| {
            let hashes = l.chars().take_while(|&c| c == '#').count();
            hashes == 0 || hashes > level
        })
        .collect()
}

#[test]
fn collectors_table_matches_the_registry() {
    let text = readme();
    let rows: Vec<String> = section(&text, "## Collectors")
        .into_iter()
        .filter(|l| l.starts_with("| `"))
        .map(str::to_string)
        .collect();
    let expected: Vec<String> = ALL
        .iter()
        .map(|spec| {
            format!(
                "| `{}` | {} | {} |",
                spec.name,
                if spec.default_enabled {
                    "enabled"
                } else {
                    "disabled"
                },
                spec.reads.replace('|', "\\|").replace('*', "\\*")
            )
        })
        .collect();
    assert_eq!(
        rows,
        expected,
        "README.md's collectors table is out of date; its rows should be:\n{}",
        expected.join("\n")
    );
}

#[test]
fn not_implemented_list_matches_the_registry() {
    let text = readme();
    let listed: Vec<&str> = section(&text, "### Not implemented yet")
        .into_iter()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let mut expected: Vec<&str> = NOT_IMPLEMENTED.to_vec();
    expected.sort_unstable();
    assert_eq!(
        listed,
        expected,
        "README.md's list of node_exporter collectors not implemented is out of date; it should be:\n{}",
        expected
            .iter()
            .map(|n| format!("- `{n}`"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
