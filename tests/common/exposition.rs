//! Reading sample lines of the text and OpenMetrics formats back, enough
//! for tests to compare series and look values up.

use std::collections::{BTreeMap, BTreeSet};

/// One sample line, borrowed from the exposition text.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    /// The metric name.
    pub name: &'a str,
    /// Label names and values, values still escaped as written.
    pub labels: Vec<(&'a str, &'a str)>,
    /// The series as written: name and label set.
    pub series: &'a str,
    /// Everything after the series: the value (and a timestamp, if any).
    pub value: &'a str,
}

impl Sample<'_> {
    /// Writes the sample back with `labels` and `value` replaced.
    pub fn render(&self, labels: &[(&str, &str)], value: &str) -> String {
        let mut line = self.name.to_string();
        if self.series.contains('{') {
            let pairs: Vec<String> = labels.iter().map(|(n, v)| format!("{n}=\"{v}\"")).collect();
            line.push('{');
            line.push_str(&pairs.join(","));
            line.push('}');
        }
        line.push(' ');
        line.push_str(value);
        line
    }
}

/// Parses a sample line; `None` for comments, blank lines and lines that do
/// not parse.
pub fn parse_sample(line: &str) -> Option<Sample<'_>> {
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let mut labels = Vec::new();
    let mut pos = name_end;
    if line[pos..].starts_with('{') {
        pos += 1;
        loop {
            if line[pos..].starts_with('}') {
                pos += 1;
                break;
            }
            let eq = pos + line[pos..].find("=\"")?;
            let label = &line[pos..eq];
            let value_start = eq + 2;
            let value_end = value_start + closing_quote(&line[value_start..])?;
            labels.push((label, &line[value_start..value_end]));
            pos = value_end + 1;
            if line[pos..].starts_with(',') {
                pos += 1;
            }
        }
    }
    let value = line[pos..].strip_prefix(' ')?;
    Some(Sample {
        name,
        labels,
        series: &line[..pos],
        value,
    })
}

/// The offset of the first unescaped `"` in `s`.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

/// Every sample line of `text`.
pub fn samples(text: &str) -> Vec<Sample<'_>> {
    text.lines().filter_map(parse_sample).collect()
}

/// The set of series (`name{labels}`) in `text`.
pub fn series(text: &str) -> BTreeSet<String> {
    samples(text)
        .into_iter()
        .map(|s| s.series.to_string())
        .collect()
}

/// The value of `series` (written exactly as in the exposition) in `text`.
pub fn value(text: &str, series: &str) -> Option<f64> {
    samples(text)
        .into_iter()
        .find(|s| s.series == series)
        .and_then(|s| s.value.split(' ').next()?.parse().ok())
}

/// `node_scrape_collector_success` of `collector` in `text`.
pub fn collector_success(text: &str, collector: &str) -> Option<f64> {
    value(
        text,
        &format!("node_scrape_collector_success{{collector=\"{collector}\"}}"),
    )
}

/// The collectors `text` reports a `node_scrape_collector_success` for.
pub fn scraped_collectors(text: &str) -> BTreeSet<String> {
    samples(text)
        .into_iter()
        .filter(|s| s.name == "node_scrape_collector_success")
        .filter_map(|s| {
            let (_, value) = s.labels.into_iter().find(|(n, _)| *n == "collector")?;
            Some(value.to_string())
        })
        .collect()
}

/// What a metric family is, without its samples: as a reference lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FamilyShape {
    /// The family name.
    pub name: String,
    /// The type, as `# TYPE` gives it (`untyped` when there is none).
    pub metric_type: String,
    /// The label names of its samples, without a summary's `quantile` or a
    /// histogram's `le`.
    pub labels: BTreeSet<String>,
    /// The help, as written (escapes kept).
    pub help: String,
}

/// The families of a text-format exposition, by name.
pub fn families(text: &str) -> BTreeMap<String, FamilyShape> {
    let mut shapes: BTreeMap<String, FamilyShape> = BTreeMap::new();
    fn shape<'a>(shapes: &'a mut BTreeMap<String, FamilyShape>, name: &str) -> &'a mut FamilyShape {
        shapes
            .entry(name.to_string())
            .or_insert_with(|| FamilyShape {
                name: name.to_string(),
                metric_type: "untyped".to_string(),
                labels: BTreeSet::new(),
                help: String::new(),
            })
    }
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            shape(&mut shapes, name).help = help.to_string();
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, metric_type) = rest.split_once(' ').unwrap_or((rest, ""));
            shape(&mut shapes, name).metric_type = metric_type.to_string();
        } else if let Some(sample) = parse_sample(line) {
            // A summary's or histogram's lines carry suffixes of its name.
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .filter_map(|suffix| sample.name.strip_suffix(suffix))
                .find(|base| shapes.contains_key(*base))
                .unwrap_or(sample.name);
            let labels = sample
                .labels
                .iter()
                .map(|(name, _)| name.to_string())
                .filter(|name| name != "le" && name != "quantile");
            shape(&mut shapes, family).labels.extend(labels);
        }
    }
    shapes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_lines() {
        let s = parse_sample(r#"node_x{a="1",b="q\"uo,te}"} 2.5"#).unwrap();
        assert_eq!(s.name, "node_x");
        assert_eq!(s.labels, vec![("a", "1"), ("b", r#"q\"uo,te}"#)]);
        assert_eq!(s.series, r#"node_x{a="1",b="q\"uo,te}"}"#);
        assert_eq!(s.value, "2.5");
        assert_eq!(s.render(&[("a", "<x>")], "<y>"), r#"node_x{a="<x>"} <y>"#);
        let bare = parse_sample("node_load1 0.5").unwrap();
        assert!(bare.labels.is_empty());
        assert_eq!(bare.render(&[], "1"), "node_load1 1");
        assert!(parse_sample("# HELP node_load1 x").is_none());
        assert!(parse_sample(r#"node_x{a="1} 2"#).is_none());
        assert_eq!(
            value("a 1\nb{c=\"d\"} +Inf\n", "b{c=\"d\"}"),
            Some(f64::INFINITY)
        );
    }

    #[test]
    fn families_of_a_scrape() {
        let text = "# HELP node_a A.\n# TYPE node_a gauge\nnode_a{x=\"1\"} 1\nnode_a{y=\"2\"} 1\n\
                    # HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\",z=\"3\"} 1\nh_sum{z=\"3\"} 1\n\
                    h_count{z=\"3\"} 1\nbare 2\n";
        let families = families(text);
        let shape = |name: &str| {
            let f = &families[name];
            let labels: Vec<&str> = f.labels.iter().map(String::as_str).collect();
            (f.metric_type.as_str(), labels, f.help.as_str())
        };
        assert_eq!(shape("node_a"), ("gauge", vec!["x", "y"], "A."));
        assert_eq!(shape("h"), ("histogram", vec!["z"], "H."));
        assert_eq!(shape("bare"), ("untyped", vec![], ""));
        assert_eq!(families.len(), 3);
    }
}
