//! A parser for the Prometheus text exposition format 0.0.4, the format of
//! the textfile collector's `*.prom` files.
//!
//! It accepts what Prometheus' own parser (`expfmt.TextParser`) accepts and
//! groups samples the same way: `# HELP` and `# TYPE` lines, other comments
//! ignored, families in any order and even interleaved, summaries built from
//! `name{quantile=..}`, `name_sum` and `name_count` lines and histograms from
//! `name_bucket{le=..}`, `name_sum` and `name_count` lines of a family whose
//! TYPE came first, and samples without a TYPE untyped. Like it, it wants a
//! newline after the last line, so a file caught half-written is refused
//! rather than read short. It is more forgiving in two ways that cost
//! nothing: CRLF line ends and trailing blanks after a sample or type.

use std::collections::HashMap;
use std::fmt;

use crate::metrics::MetricType;

/// Label names and values, in the order written.
pub type Labels = Vec<(String, String)>;

/// A metric family read from text: every series of one metric name.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFamily {
    /// The metric name (without `_sum`/`_count`/`_bucket` for summaries and
    /// histograms).
    pub name: String,
    /// The `# HELP` text, unescaped, if the family had one.
    pub help: Option<String>,
    /// The `# TYPE`, or [`MetricType::Untyped`] when none was given.
    pub metric_type: MetricType,
    /// The series, in order of first appearance.
    pub series: Vec<ParsedSeries>,
}

/// One series of a family: a label set and its value(s).
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSeries {
    /// Label names and values in the order written, without the `quantile`
    /// of a summary or the `le` of a histogram.
    pub labels: Labels,
    /// The value, or the components of a summary or histogram.
    pub value: SeriesValue,
    /// A client-side timestamp in milliseconds, if any line of the series
    /// carried one.
    pub timestamp_ms: Option<i64>,
    /// The line the series first appeared on, for error messages.
    pub line: usize,
}

/// The value of a series, by family type.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesValue {
    /// A counter, gauge or untyped value.
    Single(f64),
    /// A summary's components.
    Summary(SummaryValue),
    /// A histogram's components.
    Histogram(HistogramValue),
}

/// The components of a summary series. Missing `_sum` or `_count` lines
/// leave zeros, as Prometheus' parser does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SummaryValue {
    /// `(quantile, value)` pairs in order of appearance; a repeated quantile
    /// replaces the earlier one.
    pub quantiles: Vec<(f64, f64)>,
    /// The `_sum` value.
    pub sum: f64,
    /// The `_count` value, truncated to an integer.
    pub count: u64,
}

/// The components of a histogram series. Missing `_sum` or `_count` lines
/// leave zeros, as Prometheus' parser does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramValue {
    /// `(upper bound, cumulative count)` pairs in order of appearance; a
    /// repeated bound replaces the earlier one.
    pub buckets: Vec<(f64, u64)>,
    /// The `_sum` value.
    pub sum: f64,
    /// The `_count` value, truncated to an integer.
    pub count: u64,
}

/// Why a text could not be parsed, and on which line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub kind: ParseErrorKind,
}

/// The ways a text can be malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The last line has content but no newline: the text was cut short.
    UnexpectedEnd,
    /// A sample or comment names a metric with characters outside
    /// `[a-zA-Z0-9_:]` or starting with a digit; holds what was read.
    InvalidMetricName(String),
    /// A label name is empty or has characters outside `[a-zA-Z0-9_]`.
    InvalidLabelName(String),
    /// A label name starting with `__`, which Prometheus reserves.
    ReservedLabelName(String),
    /// The same label name twice in one sample.
    DuplicateLabelName(String),
    /// Something other than `=` after a label name; holds what was found.
    ExpectedEquals(String),
    /// A label value not starting with `"`; holds what was found.
    ExpectedQuote(String),
    /// A backslash followed by something other than `\`, `"` or `n`.
    InvalidEscape(String),
    /// A label value without its closing quote, or a label set without its
    /// closing brace.
    UnterminatedLabels,
    /// Something other than `,` or `}` after a label value.
    ExpectedCommaOrBrace(String),
    /// A sample value that is not a float.
    InvalidValue(String),
    /// A timestamp that is not an integer.
    InvalidTimestamp(String),
    /// More text after the timestamp.
    TrailingText(String),
    /// A summary's `quantile` label that is not a float.
    InvalidQuantile(String),
    /// A histogram's `le` label that is not a float.
    InvalidBucketBound(String),
    /// A second `# HELP` for one family.
    DuplicateHelp(String),
    /// A second `# TYPE` for one family, or one after its first sample.
    DuplicateType(String),
    /// A `# TYPE` other than counter, gauge, summary, histogram or untyped.
    UnknownType(String),
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ParseErrorKind::*;
        match self {
            UnexpectedEnd => write!(f, "unexpected end of input (no newline at the end)"),
            InvalidMetricName(n) => write!(f, "invalid metric name {n:?}"),
            InvalidLabelName(n) => write!(f, "invalid label name {n:?}"),
            ReservedLabelName(n) => write!(f, "label name {n:?} is reserved"),
            DuplicateLabelName(n) => write!(f, "duplicate label name {n:?}"),
            ExpectedEquals(s) => write!(f, "expected '=' after label name, found {s:?}"),
            ExpectedQuote(s) => write!(f, "expected '\"' at start of label value, found {s:?}"),
            InvalidEscape(s) => write!(f, "invalid escape sequence {s:?}"),
            UnterminatedLabels => write!(f, "label set not terminated on its line"),
            ExpectedCommaOrBrace(s) => {
                write!(f, "expected ',' or '}}' after label value, found {s:?}")
            }
            InvalidValue(s) => write!(f, "expected float as value, got {s:?}"),
            InvalidTimestamp(s) => write!(f, "expected integer as timestamp, got {s:?}"),
            TrailingText(s) => write!(f, "unexpected text after timestamp: {s:?}"),
            InvalidQuantile(s) => {
                write!(f, "expected float as value for 'quantile' label, got {s:?}")
            }
            InvalidBucketBound(s) => write!(f, "expected float as value for 'le' label, got {s:?}"),
            DuplicateHelp(n) => write!(f, "second HELP line for metric name {n:?}"),
            DuplicateType(n) => write!(
                f,
                "second TYPE line for metric name {n:?}, or TYPE reported after samples"
            ),
            UnknownType(t) => write!(f, "unknown metric type {t:?}"),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole text in format 0.0.4 into its families, in order of first
/// appearance; families that only had comments are left out.
pub fn parse(text: &str) -> Result<Vec<ParsedFamily>, ParseError> {
    let mut parser = Parser::default();
    for (index, piece) in text.split_inclusive('\n').enumerate() {
        let line = index + 1;
        let (content, terminated) = match piece.strip_suffix('\n') {
            Some(content) => (content.strip_suffix('\r').unwrap_or(content), true),
            None => (piece, false),
        };
        let content = content.trim_start_matches(is_blank);
        if content.is_empty() {
            continue;
        }
        let fail = |kind| ParseError { line, kind };
        if !terminated {
            return Err(fail(ParseErrorKind::UnexpectedEnd));
        }
        match content.strip_prefix('#') {
            Some(comment) => parser.comment(comment).map_err(fail)?,
            None => parser.sample(content, line).map_err(fail)?,
        }
    }
    Ok(parser.finish())
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A family while its lines are read.
struct FamilyBuilder {
    name: String,
    help: Option<String>,
    metric_type: Option<MetricType>,
    series: Vec<ParsedSeries>,
    /// Summary and histogram series by their sorted labels, so that their
    /// lines gather into one series.
    by_labels: HashMap<Labels, usize>,
}

/// Which line of a summary or histogram a sample name denotes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    Sum,
    Count,
    Bucket,
}

#[derive(Default)]
struct Parser {
    families: Vec<FamilyBuilder>,
    by_name: HashMap<String, usize>,
}

impl Parser {
    /// Finds the family a metric name belongs to, creating it if new: the
    /// family of that exact name, else a summary or histogram this is the
    /// `_sum`, `_count` (or `_bucket`) line of, else a new family.
    fn resolve(&mut self, name: &str) -> (usize, Role) {
        if let Some(&index) = self.by_name.get(name) {
            return (index, Role::Plain);
        }
        for (suffix, role) in [
            ("_sum", Role::Sum),
            ("_count", Role::Count),
            ("_bucket", Role::Bucket),
        ] {
            let Some(base) = name.strip_suffix(suffix).filter(|b| !b.is_empty()) else {
                continue;
            };
            let Some(&index) = self.by_name.get(base) else {
                continue;
            };
            match self.families[index].metric_type {
                Some(MetricType::Histogram) => return (index, role),
                Some(MetricType::Summary) if role != Role::Bucket => return (index, role),
                _ => {}
            }
        }
        self.by_name.insert(name.to_string(), self.families.len());
        self.families.push(FamilyBuilder {
            name: name.to_string(),
            help: None,
            metric_type: None,
            series: Vec::new(),
            by_labels: HashMap::new(),
        });
        (self.families.len() - 1, Role::Plain)
    }

    /// A line after its `#`: `HELP` or `TYPE`, or a comment to ignore.
    fn comment(&mut self, rest: &str) -> Result<(), ParseErrorKind> {
        let rest = rest.trim_start_matches(is_blank);
        let keyword_end = rest.find(is_blank).unwrap_or(rest.len());
        let (keyword, rest) = rest.split_at(keyword_end);
        if keyword != "HELP" && keyword != "TYPE" {
            return Ok(());
        }
        let rest = rest.trim_start_matches(is_blank);
        let (name, rest) = split_metric_name(rest);
        if rest.is_empty() {
            // A bare keyword, or a name with nothing after it, says nothing.
            return Ok(());
        }
        if !rest.starts_with(is_blank) {
            let bad = rest.split(is_blank).next().unwrap_or("");
            return Err(ParseErrorKind::InvalidMetricName(format!("{name}{bad}")));
        }
        let (index, _) = self.resolve(name);
        let text = rest.trim_start_matches(is_blank);
        if text.is_empty() {
            return Ok(());
        }
        let family = &mut self.families[index];
        if keyword == "HELP" {
            if family.help.is_some() {
                return Err(ParseErrorKind::DuplicateHelp(family.name.clone()));
            }
            family.help = Some(unescape_help(text)?);
        } else {
            if family.metric_type.is_some() {
                return Err(ParseErrorKind::DuplicateType(family.name.clone()));
            }
            let type_name = text.trim_end_matches(is_blank);
            family.metric_type = Some(match type_name.to_ascii_lowercase().as_str() {
                "counter" => MetricType::Counter,
                "gauge" => MetricType::Gauge,
                "untyped" => MetricType::Untyped,
                "summary" => MetricType::Summary,
                "histogram" => MetricType::Histogram,
                _ => return Err(ParseErrorKind::UnknownType(type_name.to_string())),
            });
        }
        Ok(())
    }

    /// A sample line: `name{labels} value [timestamp]`.
    fn sample(&mut self, text: &str, line: usize) -> Result<(), ParseErrorKind> {
        let (name, rest) = split_metric_name(text);
        let separated = rest.is_empty() || rest.starts_with(is_blank) || rest.starts_with('{');
        if name.is_empty() || !separated {
            let bad = text.split(is_blank).next().unwrap_or("");
            return Err(ParseErrorKind::InvalidMetricName(bad.to_string()));
        }
        let (index, role) = self.resolve(name);
        let metric_type = *self.families[index]
            .metric_type
            .get_or_insert(MetricType::Untyped);

        let rest = rest.trim_start_matches(is_blank);
        let (labels, rest) = match rest.strip_prefix('{') {
            Some(inside) => parse_labels(inside)?,
            None => (Vec::new(), rest),
        };
        let mut plain = Vec::with_capacity(labels.len());
        let mut bound = None;
        for (label, value) in labels {
            match (metric_type, label.as_str()) {
                (MetricType::Summary, "quantile") => {
                    let q = parse_float(&value).ok_or(ParseErrorKind::InvalidQuantile(value))?;
                    bound = Some(q);
                }
                (MetricType::Histogram, "le") => {
                    let le =
                        parse_float(&value).ok_or(ParseErrorKind::InvalidBucketBound(value))?;
                    bound = Some(le);
                }
                _ => plain.push((label, value)),
            }
        }

        let rest = rest.trim_start_matches(is_blank);
        let value_end = rest.find(is_blank).unwrap_or(rest.len());
        let (value_text, rest) = rest.split_at(value_end);
        let value =
            parse_float(value_text).ok_or(ParseErrorKind::InvalidValue(value_text.to_string()))?;
        let rest = rest.trim_start_matches(is_blank);
        let timestamp_ms = if rest.is_empty() {
            None
        } else {
            let ts_end = rest.find(is_blank).unwrap_or(rest.len());
            let (ts_text, rest) = rest.split_at(ts_end);
            let ts = ts_text
                .parse::<i64>()
                .map_err(|_| ParseErrorKind::InvalidTimestamp(ts_text.to_string()))?;
            let rest = rest.trim_matches(is_blank);
            if !rest.is_empty() {
                return Err(ParseErrorKind::TrailingText(rest.to_string()));
            }
            Some(ts)
        };

        let family = &mut self.families[index];
        let series = match metric_type {
            MetricType::Counter | MetricType::Gauge | MetricType::Untyped => {
                family.series.push(ParsedSeries {
                    labels: plain,
                    value: SeriesValue::Single(value),
                    timestamp_ms,
                    line,
                });
                return Ok(());
            }
            MetricType::Summary | MetricType::Histogram => family.series_for(plain, line),
        };
        if timestamp_ms.is_some() {
            series.timestamp_ms = timestamp_ms;
        }
        // Counts are integers in Prometheus' model; a fraction is truncated
        // and a negative or NaN count becomes 0.
        let count = value as u64;
        let bound = bound.filter(|b| !b.is_nan());
        match &mut series.value {
            SeriesValue::Summary(summary) => match (role, bound) {
                (Role::Sum, _) => summary.sum = value,
                (Role::Count, _) => summary.count = count,
                (_, Some(q)) => upsert(&mut summary.quantiles, q, value),
                (_, None) => {}
            },
            SeriesValue::Histogram(histogram) => match (role, bound) {
                (Role::Sum, _) => histogram.sum = value,
                (Role::Count, _) => histogram.count = count,
                (_, Some(le)) => upsert(&mut histogram.buckets, le, count),
                (_, None) => {}
            },
            SeriesValue::Single(_) => {}
        }
        Ok(())
    }

    fn finish(self) -> Vec<ParsedFamily> {
        self.families
            .into_iter()
            .filter(|f| !f.series.is_empty())
            .map(|f| ParsedFamily {
                name: f.name,
                help: f.help,
                metric_type: f.metric_type.unwrap_or(MetricType::Untyped),
                series: f.series,
            })
            .collect()
    }
}

impl FamilyBuilder {
    /// The summary or histogram series with these labels, created if new.
    fn series_for(&mut self, labels: Labels, line: usize) -> &mut ParsedSeries {
        let mut key = labels.clone();
        key.sort();
        let next = self.series.len();
        let index = *self.by_labels.entry(key).or_insert(next);
        if index == next {
            let value = match self.metric_type {
                Some(MetricType::Histogram) => SeriesValue::Histogram(HistogramValue::default()),
                _ => SeriesValue::Summary(SummaryValue::default()),
            };
            self.series.push(ParsedSeries {
                labels,
                value,
                timestamp_ms: None,
                line,
            });
        }
        &mut self.series[index]
    }
}

/// Sets the value for `bound`, replacing an earlier one for the same bound.
fn upsert<V>(pairs: &mut Vec<(f64, V)>, bound: f64, value: V) {
    match pairs.iter_mut().find(|(b, _)| *b == bound) {
        Some(pair) => pair.1 = value,
        None => pairs.push((bound, value)),
    }
}

fn is_metric_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

fn is_label_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Splits off a metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`, or nothing when
/// the text does not start like one.
fn split_metric_name(text: &str) -> (&str, &str) {
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        return ("", text);
    }
    split_name(text, is_metric_name_char)
}

/// Splits off the longest prefix of name characters.
fn split_name(text: &str, is_name_char: fn(char) -> bool) -> (&str, &str) {
    let end = text.find(|c| !is_name_char(c)).unwrap_or(text.len());
    text.split_at(end)
}

/// The first character of `text` (or "end of line"), for error messages.
fn found(text: &str) -> String {
    text.chars()
        .next()
        .map_or_else(|| "end of line".to_string(), String::from)
}

/// Parses the label pairs after a `{` up to the closing `}`; returns them and
/// the rest of the line.
fn parse_labels(mut rest: &str) -> Result<(Labels, &str), ParseErrorKind> {
    let mut labels = Labels::new();
    loop {
        rest = rest.trim_start_matches(is_blank);
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        if rest.is_empty() {
            return Err(ParseErrorKind::UnterminatedLabels);
        }
        let (name, after) = split_name(rest, is_label_name_char);
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            let bad = rest
                .split(|c: char| c == '=' || is_blank(c))
                .next()
                .unwrap_or("");
            return Err(ParseErrorKind::InvalidLabelName(bad.to_string()));
        }
        if name.starts_with("__") {
            return Err(ParseErrorKind::ReservedLabelName(name.to_string()));
        }
        if labels.iter().any(|(n, _)| n == name) {
            return Err(ParseErrorKind::DuplicateLabelName(name.to_string()));
        }
        let after = after.trim_start_matches(is_blank);
        let Some(after) = after.strip_prefix('=') else {
            return Err(ParseErrorKind::ExpectedEquals(found(after)));
        };
        let after = after.trim_start_matches(is_blank);
        let Some(after) = after.strip_prefix('"') else {
            return Err(ParseErrorKind::ExpectedQuote(found(after)));
        };
        let (value, after) = parse_label_value(after)?;
        labels.push((name.to_string(), value));
        let after = after.trim_start_matches(is_blank);
        rest = if let Some(after) = after.strip_prefix(',') {
            after
        } else if after.starts_with('}') {
            after
        } else if after.is_empty() {
            return Err(ParseErrorKind::UnterminatedLabels);
        } else {
            return Err(ParseErrorKind::ExpectedCommaOrBrace(found(after)));
        };
    }
}

/// Reads a label value after its opening quote, unescaping `\\`, `\"` and
/// `\n`; returns it and the text after the closing quote.
fn parse_label_value(text: &str) -> Result<(String, &str), ParseErrorKind> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                Some((_, other)) => {
                    return Err(ParseErrorKind::InvalidEscape(format!("\\{other}")))
                }
                None => return Err(ParseErrorKind::UnterminatedLabels),
            },
            _ => value.push(c),
        }
    }
    Err(ParseErrorKind::UnterminatedLabels)
}

/// Unescapes a HELP text: `\\`, `\n` and (as newer Prometheus parsers
/// allow) `\"`.
fn unescape_help(text: &str) -> Result<String, ParseErrorKind> {
    let mut help = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            help.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => help.push('\\'),
            Some('n') => help.push('\n'),
            Some('"') => help.push('"'),
            Some(other) => return Err(ParseErrorKind::InvalidEscape(format!("\\{other}"))),
            None => return Err(ParseErrorKind::InvalidEscape("\\".to_string())),
        }
    }
    Ok(help)
}

/// Parses a float as Go's `strconv.ParseFloat` does for Prometheus: decimal
/// and exponent forms, `Inf`/`Infinity` with an optional sign and `NaN` in
/// any case; not hex floats, underscores, or a value beyond the f64 range.
pub fn parse_float(text: &str) -> Option<f64> {
    if text.contains(['p', 'P', '_']) {
        return None;
    }
    let (signed, unsigned) = match text.strip_prefix(['+', '-']) {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity") {
        return Some(if text.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if unsigned.eq_ignore_ascii_case("nan") {
        return (!signed).then_some(f64::NAN);
    }
    if !unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(labels: &[(&str, &str)], value: f64, line: usize) -> ParsedSeries {
        ParsedSeries {
            labels: labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            value: SeriesValue::Single(value),
            timestamp_ms: None,
            line,
        }
    }

    fn error(text: &str) -> ParseError {
        match parse(text) {
            Ok(families) => panic!("{text:?} parsed: {families:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn parses_help_type_labels_and_values() {
        let text = "# HELP node_role_info Role of \\\"this\\\" node.\\nSecond line \\\\ done.\n\
                    # TYPE node_role_info gauge\n\
                    node_role_info{role=\"db\",rack=\"r\\\"1\\\\\\n\"} 1\n\
                    \n\
                    # a comment\n\
                    #\n\
                    node_role_info{ role = \"web\" , } +Inf\n";
        let families = parse(text).unwrap();
        assert_eq!(
            families,
            vec![ParsedFamily {
                name: "node_role_info".into(),
                help: Some("Role of \"this\" node.\nSecond line \\ done.".into()),
                metric_type: MetricType::Gauge,
                series: vec![
                    single(&[("role", "db"), ("rack", "r\"1\\\n")], 1.0, 3),
                    single(&[("role", "web")], f64::INFINITY, 7),
                ],
            }]
        );
    }

    #[test]
    fn untyped_without_type_and_all_value_forms() {
        let text =
            "a 1\nb -Inf\nc NaN\nd 1.5e-3\ne -2E+2\nf .5\ng 7.\nh +3\ni inf\nj -Infinity\nk 0x\n";
        let err = error(text);
        assert_eq!(err.line, 11);
        assert_eq!(err.kind, ParseErrorKind::InvalidValue("0x".into()));
        let families = parse(&text.replace("k 0x\n", "")).unwrap();
        let values: Vec<(String, MetricType, f64)> = families
            .iter()
            .map(|f| match f.series[0].value {
                SeriesValue::Single(v) => (f.name.clone(), f.metric_type, v),
                _ => panic!("not single"),
            })
            .collect();
        let want = [
            ("a", 1.0),
            ("b", f64::NEG_INFINITY),
            ("d", 0.0015),
            ("e", -200.0),
            ("f", 0.5),
            ("g", 7.0),
            ("h", 3.0),
            ("i", f64::INFINITY),
            ("j", f64::NEG_INFINITY),
        ];
        for (name, v) in want {
            let got = values.iter().find(|(n, _, _)| n == name).unwrap();
            assert_eq!((got.1, got.2), (MetricType::Untyped, v), "{name}");
        }
        let c = values.iter().find(|(n, _, _)| n == "c").unwrap();
        assert!(c.2.is_nan());
    }

    #[test]
    fn go_float_rules() {
        for bad in [
            "", "+", "-", "1_000", "0x1p3", "1p3", "+NaN", "-nan", "1e400", "-1e400", "abc", "1,5",
            "e5", "infinit", "Inf1",
        ] {
            assert_eq!(parse_float(bad), None, "{bad:?}");
        }
        assert_eq!(parse_float("1e-400"), Some(0.0));
        assert_eq!(parse_float("INFINITY"), Some(f64::INFINITY));
        assert_eq!(parse_float("-inf"), Some(f64::NEG_INFINITY));
        assert!(parse_float("nAn").unwrap().is_nan());
    }

    #[test]
    fn timestamps_are_kept_for_the_caller_to_judge() {
        let families = parse("a 1 1700000000000\nb{x=\"y\"} 2 -5\n").unwrap();
        assert_eq!(families[0].series[0].timestamp_ms, Some(1_700_000_000_000));
        assert_eq!(families[1].series[0].timestamp_ms, Some(-5));
    }

    #[test]
    fn crlf_blank_lines_and_trailing_blanks_are_accepted() {
        let text =
            "# HELP a Help.\r\n# TYPE a counter \r\n\r\n  \t\na{x=\"1\"} 1 \t\r\na 2 100  \n   ";
        let families = parse(text).unwrap();
        assert_eq!(families[0].help.as_deref(), Some("Help."));
        assert_eq!(families[0].metric_type, MetricType::Counter);
        assert_eq!(families[0].series.len(), 2);
        assert_eq!(families[0].series[1].timestamp_ms, Some(100));
    }

    #[test]
    fn help_keeps_trailing_blanks_and_types_are_case_insensitive() {
        let families =
            parse("# HELP a x  \n# TYPE a GAUGE\n#HELP b y\n#\tTYPE b Counter\na 1\nb 1\n")
                .unwrap();
        assert_eq!(families[0].help.as_deref(), Some("x  "));
        assert_eq!(families[0].metric_type, MetricType::Gauge);
        assert_eq!(families[1].help.as_deref(), Some("y"));
        assert_eq!(families[1].metric_type, MetricType::Counter);
    }

    #[test]
    fn families_with_only_comments_are_dropped_and_bare_keywords_ignored() {
        let text = "# HELP\n# TYPE\n# HELP a\n# HELP b \n# TYPE c gauge\n# HELPING hand\nd 1\n";
        let families = parse(text).unwrap();
        assert_eq!(families.len(), 1);
        assert_eq!(families[0].name, "d");
        assert!(parse("").unwrap().is_empty());
        assert!(parse("\n\n# only comments\n").unwrap().is_empty());
    }

    #[test]
    fn interleaved_samples_of_a_family_gather() {
        let families = parse("a{x=\"1\"} 1\nb 2\na{x=\"2\"} 3\n# HELP a Late help.\n").unwrap();
        assert_eq!(families[0].series.len(), 2);
        assert_eq!(families[0].help.as_deref(), Some("Late help."));
    }

    #[test]
    fn summaries_gather_quantiles_sum_and_count_per_label_set() {
        let text = "# TYPE rpc summary\n\
                    rpc{method=\"get\",quantile=\"0.5\"} 1\n\
                    rpc{quantile=\"0.9\",method=\"get\"} 2\n\
                    rpc{quantile=\"0.5\",method=\"put\"} 10\n\
                    rpc_sum{method=\"get\"} 30\n\
                    rpc_count{method=\"get\"} 12.9\n\
                    rpc{quantile=\"0.5\",method=\"get\"} 1.5\n\
                    rpc{method=\"del\"} 5\n\
                    rpc{method=\"del\",quantile=\"NaN\"} 5\n";
        let families = parse(text).unwrap();
        assert_eq!(families.len(), 1);
        let f = &families[0];
        assert_eq!(f.metric_type, MetricType::Summary);
        let values: Vec<_> = f.series.iter().map(|s| (s.line, s.value.clone())).collect();
        assert_eq!(
            values,
            vec![
                (
                    2,
                    SeriesValue::Summary(SummaryValue {
                        quantiles: vec![(0.5, 1.5), (0.9, 2.0)],
                        sum: 30.0,
                        count: 12,
                    })
                ),
                (
                    4,
                    SeriesValue::Summary(SummaryValue {
                        quantiles: vec![(0.5, 10.0)],
                        sum: 0.0,
                        count: 0,
                    })
                ),
                (8, SeriesValue::Summary(SummaryValue::default())),
            ]
        );
        assert_eq!(
            f.series[0].labels,
            vec![("method".to_string(), "get".to_string())]
        );
    }

    #[test]
    fn histograms_gather_buckets_sum_and_count() {
        let text = "# HELP lat Latency.\n# TYPE lat histogram\n\
                    lat_bucket{le=\"0.1\"} 1\n\
                    lat_bucket{le=\"+Inf\"} 4\n\
                    lat_bucket{le=\"1\"} 3\n\
                    lat_sum 2.5\n\
                    lat_count 4\n\
                    lat_bucket 9\n\
                    lat{le=\"2\"} 3\n";
        let families = parse(text).unwrap();
        assert_eq!(
            families[0].series[0].value,
            SeriesValue::Histogram(HistogramValue {
                buckets: vec![(0.1, 1), (f64::INFINITY, 4), (1.0, 3), (2.0, 3)],
                sum: 2.5,
                count: 4,
            })
        );
    }

    #[test]
    fn suffixed_names_stay_separate_without_a_summary_or_histogram_type() {
        let text = "x_sum 1\nx_count 2\n# TYPE s summary\ns_bucket 1\n# TYPE g gauge\ng_sum 1\n";
        let names: Vec<String> = parse(text).unwrap().into_iter().map(|f| f.name).collect();
        assert_eq!(names, vec!["x_sum", "x_count", "s_bucket", "g_sum"]);
    }

    #[test]
    fn each_error_kind_with_its_line() {
        use ParseErrorKind::*;
        let cases: &[(&str, usize, ParseErrorKind)] = &[
            ("a 1\nb 2", 2, UnexpectedEnd),
            ("a 1\n# comment", 2, UnexpectedEnd),
            ("1a 1\n", 1, InvalidMetricName("1a".into())),
            ("a-b 1\n", 1, InvalidMetricName("a-b".into())),
            ("{a=\"b\"} 1\n", 1, InvalidMetricName("{a=\"b\"}".into())),
            (
                "ok 1\n# HELP a.b help\n",
                2,
                InvalidMetricName("a.b".into()),
            ),
            ("# TYPE 9x gauge\n", 1, InvalidMetricName("9x".into())),
            ("a{1b=\"x\"} 1\n", 1, InvalidLabelName("1b".into())),
            ("a{b-c=\"x\"} 1\n", 1, ExpectedEquals("-".into())),
            ("a{=\"x\"} 1\n", 1, InvalidLabelName("".into())),
            (
                "a{__name__=\"x\"} 1\n",
                1,
                ReservedLabelName("__name__".into()),
            ),
            ("a{__x=\"x\"} 1\n", 1, ReservedLabelName("__x".into())),
            ("a{b=\"1\",b=\"2\"} 1\n", 1, DuplicateLabelName("b".into())),
            ("a{b \"1\"} 1\n", 1, ExpectedEquals("\"".into())),
            ("a{b=1} 1\n", 1, ExpectedQuote("1".into())),
            ("a{b=\"\\t\"} 1\n", 1, InvalidEscape("\\t".into())),
            ("a{b=\"x} 1\n", 1, UnterminatedLabels),
            ("a{b=\"x\"\n", 1, UnterminatedLabels),
            (
                "a{b=\"x\" c=\"y\"} 1\n",
                1,
                ExpectedCommaOrBrace("c".into()),
            ),
            ("a{b=\"x\"", 1, UnexpectedEnd),
            ("a\n", 1, InvalidValue("".into())),
            ("a{} \n", 1, InvalidValue("".into())),
            ("a one\n", 1, InvalidValue("one".into())),
            ("a 1 2.5\n", 1, InvalidTimestamp("2.5".into())),
            ("a 1 2 3\n", 1, TrailingText("3".into())),
            (
                "# TYPE s summary\ns{quantile=\"x\"} 1\n",
                2,
                InvalidQuantile("x".into()),
            ),
            (
                "# TYPE h histogram\nh_bucket{le=\"\"} 1\n",
                2,
                InvalidBucketBound("".into()),
            ),
            ("# HELP a x\n# HELP a y\n", 2, DuplicateHelp("a".into())),
            (
                "# TYPE a gauge\n# TYPE a gauge\n",
                2,
                DuplicateType("a".into()),
            ),
            ("a 1\n# TYPE a gauge\n", 2, DuplicateType("a".into())),
            (
                "# TYPE s summary\n# TYPE s_sum gauge\n",
                2,
                DuplicateType("s".into()),
            ),
            (
                "# TYPE a gauge_histogram\n",
                1,
                UnknownType("gauge_histogram".into()),
            ),
            ("# TYPE a info\n", 1, UnknownType("info".into())),
            ("# HELP a bad \\x escape\n", 1, InvalidEscape("\\x".into())),
            ("# HELP a trailing \\\n", 1, InvalidEscape("\\".into())),
        ];
        for (text, line, kind) in cases {
            let err = error(text);
            assert_eq!((err.line, &err.kind), (*line, kind), "{text:?}");
        }
    }

    #[test]
    fn error_messages_name_the_line() {
        let err = error("ok 1\nbad value\n");
        assert_eq!(
            err.to_string(),
            "line 2: expected float as value, got \"value\""
        );
    }

    #[test]
    fn non_ascii_label_values_and_help_survive() {
        let families = parse("# HELP t Température °C.\nt{lieu=\"salle 🌡\"} 21.5\n").unwrap();
        assert_eq!(families[0].help.as_deref(), Some("Température °C."));
        assert_eq!(families[0].series[0].labels[0].1, "salle 🌡");
    }

    /// A tiny deterministic generator, so the fuzz test needs no crates and
    /// fails the same way every run.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn random_bytes_mutations_and_truncations_never_panic() {
        let valid = "# HELP rpc RPC latency.\n# TYPE rpc summary\n\
                     rpc{method=\"get\",quantile=\"0.5\"} 1\nrpc_sum{method=\"get\"} 3\n\
                     rpc_count{method=\"get\"} 2\n# TYPE h histogram\n\
                     h_bucket{le=\"1\",a=\"x\\\"y\\\\z\\n\"} 1\nh_bucket{le=\"+Inf\",a=\"b\"} 2\n\
                     h_sum{a=\"b\"} 2\nh_count{a=\"b\"} 2\nplain{x=\"é\"} NaN 1700000000000\n";
        for end in 0..=valid.len() {
            if valid.is_char_boundary(end) {
                let _ = parse(&valid[..end]);
            }
        }
        let alphabet: &[u8] = b"# \t\n\r{}=\",\\abcHELPTYPE_:01.e+-InfNaNquantilele";
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..3000 {
            let mut bytes = valid.as_bytes().to_vec();
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(bytes.len());
                match rng.below(4) {
                    0 => bytes[at] = alphabet[rng.below(alphabet.len())],
                    1 => {
                        bytes.remove(at);
                    }
                    2 => bytes.insert(at, alphabet[rng.below(alphabet.len())]),
                    _ => bytes[at] = (rng.next() & 0xff) as u8,
                }
            }
            let _ = parse(&String::from_utf8_lossy(&bytes));
        }
        for _ in 0..500 {
            let len = rng.below(200);
            let bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            let _ = parse(&String::from_utf8_lossy(&bytes));
        }
    }
}
