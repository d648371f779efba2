//! Content negotiation: which exposition format, which escaping of names and
//! whether gzip, from the request's `Accept` and `Accept-Encoding` headers.

use crate::exposition::{Escaping, Format};

/// One coding from an `Accept-Encoding` header, with its q-value.
struct Preference<'a> {
    value: &'a str,
    q: f32,
}

/// Splits an `Accept-Encoding` header into preferences, highest q first
/// (ties keep header order). Malformed q-values count as 0: not acceptable.
fn preferences(header: &str) -> Vec<Preference<'_>> {
    let mut prefs: Vec<Preference<'_>> = header
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';').map(str::trim);
            let value = parts.next().filter(|v| !v.is_empty())?;
            let mut q = 1.0;
            for param in parts {
                let (k, v) = param.split_once('=').unwrap_or((param, ""));
                let (k, v) = (k.trim(), v.trim().trim_matches('"'));
                if k.eq_ignore_ascii_case("q") {
                    q = v
                        .parse::<f32>()
                        .ok()
                        .filter(|q| q.is_finite())
                        .unwrap_or(0.0);
                }
            }
            Some(Preference { value, q })
        })
        .collect();
    prefs.sort_by(|a, b| b.q.partial_cmp(&a.q).unwrap_or(std::cmp::Ordering::Equal));
    prefs
}

/// What a request is answered in: the exposition format, and how names
/// outside the legacy character set are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// The exposition format.
    pub format: Format,
    /// The escaping applied to names, also named in the Content-Type.
    pub escaping: Escaping,
}

impl Negotiated {
    /// The Content-Type of the response.
    pub fn content_type(self) -> &'static str {
        self.format.content_type(self.escaping)
    }
}

/// One clause of an `Accept` header, as goautoneg (which client_golang's
/// negotiation uses) reads it: type, subtype, parameters in header order,
/// and the q-value.
struct Clause<'a> {
    media_type: &'a str,
    subtype: &'a str,
    params: Vec<(&'a str, &'a str)>,
    q: f64,
}

impl<'a> Clause<'a> {
    /// A parameter's value; of a parameter given twice, the last.
    fn param(&self, key: &str) -> Option<&'a str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    /// Whether clause `self` goes before `other`: higher q first, then
    /// concrete types and subtypes before wildcards.
    fn precedes(&self, other: &Clause<'_>) -> bool {
        self.q > other.q
            || (self.media_type != "*" && other.media_type == "*")
            || (self.subtype != "*" && other.subtype == "*")
    }
}

/// Parses an `Accept` header as goautoneg does: comma-separated clauses,
/// spaces trimmed, a clause whose media range is not `type/subtype` (or
/// `*`) skipped, parameters without `=` skipped, a q-value that does not
/// parse taken as 0 (and still considered, after the others), names and
/// values compared as written (case matters). Clauses are then ordered as
/// Go's sort orders goautoneg's slice of a dozen or fewer: an insertion
/// sort, which keeps header order among equals.
fn parse_accept(header: &str) -> Vec<Clause<'_>> {
    let mut clauses: Vec<Clause<'_>> = Vec::new();
    for part in header.split(',') {
        let mut pieces = part.trim_matches(' ').split(';');
        let media_range = pieces.next().unwrap_or("");
        let mut range = media_range.split('/');
        let media_type = range.next().unwrap_or("").trim_matches(' ');
        let subtype = match (range.next(), range.next()) {
            (None, _) if media_type == "*" => "*",
            (Some(subtype), None) => subtype.trim_matches(' '),
            _ => continue,
        };
        let mut clause = Clause {
            media_type,
            subtype,
            params: Vec::new(),
            q: 1.0,
        };
        for param in pieces {
            let Some((key, value)) = param.split_once('=') else {
                continue;
            };
            let key = key.trim_matches(' ');
            if key == "q" {
                // Go's ParseFloat at 32 bits: the value as written, no
                // blanks allowed, 0 when it does not parse.
                clause.q = value.parse::<f32>().map_or(0.0, f64::from);
            } else {
                clause.params.push((key, value.trim_matches(' ')));
            }
        }
        clauses.push(clause);
    }
    for i in 1..clauses.len() {
        let mut j = i;
        while j > 0 && clauses[j].precedes(&clauses[j - 1]) {
            clauses.swap(j, j - 1);
            j -= 1;
        }
    }
    clauses
}

/// The formats offered, most preferred first, as client_golang offers
/// them: OpenMetrics only when enabled. Protobuf's `text` and
/// `compact-text` encodings are not offered.
fn offered(openmetrics: bool) -> &'static [Format] {
    if openmetrics {
        &[
            Format::OpenMetrics1,
            Format::OpenMetrics0,
            Format::Protobuf,
            Format::Text,
        ]
    } else {
        &[Format::Protobuf, Format::Text]
    }
}

/// Whether an `Accept` clause admits `format`: type and subtype equal or
/// `*`, and each parameter of the format's media type (its charset aside)
/// given with the same value. A clause without a version asks for text
/// 0.0.4 or OpenMetrics 0.0.1.
fn admits(clause: &Clause<'_>, format: Format) -> bool {
    let (media_type, subtype, params): (&str, &str, &[(&str, &str)]) = match format {
        Format::Text => ("text", "plain", &[("version", "0.0.4")]),
        Format::OpenMetrics1 => ("application", "openmetrics-text", &[("version", "1.0.0")]),
        Format::OpenMetrics0 => ("application", "openmetrics-text", &[("version", "0.0.1")]),
        Format::Protobuf => (
            "application",
            "vnd.google.protobuf",
            &[
                ("proto", "io.prometheus.client.MetricFamily"),
                ("encoding", "delimited"),
            ],
        ),
    };
    if (clause.media_type != "*" && clause.media_type != media_type)
        || (clause.subtype != "*" && clause.subtype != subtype)
    {
        return false;
    }
    let version = clause.param("version").filter(|v| !v.is_empty()).or(
        match (clause.media_type, clause.subtype) {
            ("application", "openmetrics-text") => Some("0.0.1"),
            ("text", "plain") => Some("0.0.4"),
            _ => None,
        },
    );
    params.iter().all(|&(key, want)| {
        let given = if key == "version" {
            version
        } else {
            clause.param(key)
        };
        given.unwrap_or("") == want
    })
}

/// Picks the format and name escaping for an `Accept` header as
/// client_golang's handler does (prometheus/common's negotiation): the
/// clauses in order, each `escaping` parameter naming a known scheme
/// replacing the escaping so far (`underscores` to begin with), the first
/// clause that admits an offered format deciding; text 0.0.4 when none
/// does or the header is absent.
pub fn negotiate(accept: Option<&str>, openmetrics: bool) -> Negotiated {
    let mut escaping = Escaping::Underscores;
    for clause in parse_accept(accept.unwrap_or("")) {
        if let Some(scheme) = clause.param("escaping").and_then(Escaping::from_param) {
            escaping = scheme;
        }
        if let Some(&format) = offered(openmetrics)
            .iter()
            .find(|&&format| admits(&clause, format))
        {
            return Negotiated { format, escaping };
        }
    }
    Negotiated {
        format: Format::Text,
        escaping,
    }
}

/// Whether an `Accept-Encoding` header admits gzip (`gzip` or `*` with a
/// non-zero q, and gzip not refused by name).
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let Some(header) = accept_encoding else {
        return false;
    };
    let prefs = preferences(header);
    if let Some(gzip) = prefs.iter().find(|p| p.value.eq_ignore_ascii_case("gzip")) {
        return gzip.q > 0.0;
    }
    prefs.iter().any(|p| p.value == "*" && p.q > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prometheus 2.x's default `Accept`.
    const PROMETHEUS_2: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    /// Prometheus 2.x with native histograms: protobuf first.
    const PROMETHEUS_2_PROTOBUF: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    /// Prometheus 3.x's default `Accept` (UTF-8 names allowed).
    const PROMETHEUS_3: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
    /// Prometheus 3.x with `scrape_protocols: [PrometheusProto, ...]`.
    const PROMETHEUS_3_PROTOBUF: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

    fn format(accept: &str, openmetrics: bool) -> Format {
        negotiate(Some(accept), openmetrics).format
    }

    #[test]
    fn prometheus_gets_text_unless_openmetrics_is_enabled() {
        for accept in [PROMETHEUS_2, PROMETHEUS_3] {
            assert_eq!(format(accept, false), Format::Text, "{accept}");
            assert_eq!(format(accept, true), Format::OpenMetrics1, "{accept}");
        }
    }

    #[test]
    fn prometheus_asking_protobuf_first_gets_it() {
        for accept in [PROMETHEUS_2_PROTOBUF, PROMETHEUS_3_PROTOBUF] {
            assert_eq!(format(accept, false), Format::Protobuf, "{accept}");
            assert_eq!(format(accept, true), Format::Protobuf, "{accept}");
        }
    }

    #[test]
    fn content_types_are_client_golangs() {
        let text = negotiate(None, false);
        assert_eq!(
            text.content_type(),
            "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
        );
        assert_eq!(
            negotiate(Some(PROMETHEUS_3_PROTOBUF), false).content_type(),
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=allow-utf-8"
        );
        assert_eq!(
            negotiate(Some(PROMETHEUS_3), true).content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
        );
        assert_eq!(
            negotiate(Some("application/openmetrics-text"), true).content_type(),
            "application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=underscores"
        );
    }

    #[test]
    fn escaping_of_an_unmatched_clause_carries_over() {
        // Prometheus 3 without OpenMetrics: its first clauses name
        // allow-utf-8 and match nothing; text 0.0.4 matches later.
        let n = negotiate(Some(PROMETHEUS_3), false);
        assert_eq!((n.format, n.escaping), (Format::Text, Escaping::AllowUtf8));
        let n = negotiate(Some("text/plain;version=0.0.4;escaping=dots"), false);
        assert_eq!(n.escaping, Escaping::Dots);
        let n = negotiate(Some("text/plain;escaping=values"), false);
        assert_eq!((n.format, n.escaping), (Format::Text, Escaping::Values));
        // Unknown schemes are ignored, and so are names in another case.
        let n = negotiate(Some("text/plain;escaping=bogus"), false);
        assert_eq!(n.escaping, Escaping::Underscores);
        let n = negotiate(Some("text/plain;Escaping=dots"), false);
        assert_eq!(n.escaping, Escaping::Underscores);
        // An escaping met after the deciding clause does not count.
        let n = negotiate(Some("text/plain, text/html;escaping=dots;q=0.1"), false);
        assert_eq!(n.escaping, Escaping::Underscores);
        // Nothing matches: text, with the last escaping seen.
        let n = negotiate(Some("text/html;escaping=allow-utf-8"), false);
        assert_eq!((n.format, n.escaping), (Format::Text, Escaping::AllowUtf8));
    }

    #[test]
    fn absent_generic_or_foreign_accept_gets_text() {
        assert_eq!(negotiate(None, true).format, Format::Text);
        for accept in ["*/*", "text/html", "", "*", "text/*", "application/json"] {
            assert_eq!(format(accept, true), Format::Text, "{accept:?}");
        }
    }

    #[test]
    fn q_values_and_wildcards_order_the_clauses() {
        let accept = "application/openmetrics-text;q=0.2, text/plain;version=0.0.4;q=0.9";
        assert_eq!(format(accept, true), Format::Text);
        let accept = "text/plain;version=0.0.4;q=0.3, application/openmetrics-text; version=0.0.1";
        assert_eq!(format(accept, true), Format::OpenMetrics0);
        // A q that does not parse is 0, and the clause still counts (last).
        assert_eq!(
            format("text/html, application/openmetrics-text;q=x", true),
            Format::OpenMetrics0
        );
        assert_eq!(
            format("application/openmetrics-text;q=0", true),
            Format::OpenMetrics0
        );
        assert_eq!(
            format("application/openmetrics-text;q= 1", true),
            Format::OpenMetrics0
        );
        // Equal q: header order, wildcard types after concrete ones.
        let accept = "*/*;version=0.0.4;proto=io.prometheus.client.MetricFamily;encoding=delimited, text/plain";
        assert_eq!(format(accept, false), Format::Text);
        assert_eq!(format("*/*;version=0.0.4", false), Format::Text);
    }

    #[test]
    fn versions_and_parameters_must_match() {
        assert_eq!(
            format(
                "application/openmetrics-text;version=9.9.9, text/plain;q=0.5",
                true
            ),
            Format::Text
        );
        assert_eq!(format("text/plain;version=1.0.0", false), Format::Text);
        assert_eq!(format("text/plain;version=1.0.0, application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.1", false), Format::Protobuf);
        for not_delimited in [
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=compact-text",
            "application/vnd.google.protobuf;encoding=delimited",
            "application/vnd.google.protobuf",
            "Application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
        ] {
            assert_eq!(format(not_delimited, false), Format::Text, "{not_delimited}");
        }
        let spaced = "application/vnd.google.protobuf ; proto = io.prometheus.client.MetricFamily ; encoding = delimited";
        assert_eq!(format(spaced, false), Format::Protobuf);
    }

    #[test]
    fn garbage_accept_does_not_panic() {
        for junk in [
            ";;;",
            ",,",
            "a/b;q=abc",
            "\u{0}",
            "a/b/c",
            "/",
            "=;=",
            "text/plain;q=NaN",
            "text/plain;q=1e999",
            "application/openmetrics-text;q=NaN",
        ] {
            let _ = negotiate(Some(junk), true);
        }
        assert_eq!(format("a/b/c;q=1, text/plain", true), Format::Text);
    }

    #[test]
    fn gzip_acceptance() {
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("deflate, gzip;q=0.5")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("*, gzip;q=0")));
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(None));
    }
}
