//! Content negotiation: which exposition format and whether gzip, from the
//! request's `Accept` and `Accept-Encoding` headers.

use crate::exposition::Format;

/// One media range or coding from an `Accept*` header, with its q-value.
struct Preference<'a> {
    value: &'a str,
    params: Vec<(&'a str, &'a str)>,
    q: f32,
}

/// Splits an `Accept`-style header into preferences, highest q first (ties
/// keep header order). Malformed q-values count as 0: not acceptable.
fn preferences(header: &str) -> Vec<Preference<'_>> {
    let mut prefs: Vec<Preference<'_>> = header
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';').map(str::trim);
            let value = parts.next().filter(|v| !v.is_empty())?;
            let mut q = 1.0;
            let mut params = Vec::new();
            for param in parts {
                let (k, v) = param.split_once('=').unwrap_or((param, ""));
                let (k, v) = (k.trim(), v.trim().trim_matches('"'));
                if k.eq_ignore_ascii_case("q") {
                    q = v
                        .parse::<f32>()
                        .ok()
                        .filter(|q| q.is_finite())
                        .unwrap_or(0.0);
                } else {
                    params.push((k, v));
                }
            }
            Some(Preference { value, params, q })
        })
        .collect();
    prefs.sort_by(|a, b| b.q.partial_cmp(&a.q).unwrap_or(std::cmp::Ordering::Equal));
    prefs
}

/// Picks the exposition format for an `Accept` header, as client_golang's
/// negotiation does: the most preferred of OpenMetrics (1.0.0 or 0.0.1) and
/// text 0.0.4; text when nothing else matches or the header is absent.
pub fn negotiate_format(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::Text;
    };
    for pref in preferences(accept) {
        if pref.q <= 0.0 {
            continue;
        }
        let version = pref
            .params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("version"))
            .map(|(_, v)| *v);
        let media = pref.value.to_ascii_lowercase();
        match media.as_str() {
            "application/openmetrics-text" => match version {
                None | Some("1.0.0") => return Format::OpenMetrics1,
                Some("0.0.1") => return Format::OpenMetrics0,
                Some(_) => continue,
            },
            "text/plain" => match version {
                None | Some("0.0.4") => return Format::Text,
                Some(_) => continue,
            },
            _ => continue,
        }
    }
    Format::Text
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

    const PROMETHEUS_2: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    #[test]
    fn prometheus_gets_openmetrics() {
        assert_eq!(negotiate_format(Some(PROMETHEUS_2)), Format::OpenMetrics1);
    }

    #[test]
    fn absent_or_generic_accept_gets_text() {
        assert_eq!(negotiate_format(None), Format::Text);
        assert_eq!(negotiate_format(Some("*/*")), Format::Text);
        assert_eq!(negotiate_format(Some("text/html")), Format::Text);
        assert_eq!(negotiate_format(Some("")), Format::Text);
    }

    #[test]
    fn q_values_decide() {
        let accept = "application/openmetrics-text;q=0.2, text/plain;version=0.0.4;q=0.9";
        assert_eq!(negotiate_format(Some(accept)), Format::Text);
        let accept = "text/plain;version=0.0.4;q=0.3, application/openmetrics-text; version=0.0.1";
        assert_eq!(negotiate_format(Some(accept)), Format::OpenMetrics0);
        assert_eq!(
            negotiate_format(Some("application/openmetrics-text;q=0")),
            Format::Text
        );
    }

    #[test]
    fn unknown_versions_are_skipped() {
        let accept = "application/openmetrics-text;version=9.9.9, text/plain;q=0.5";
        assert_eq!(negotiate_format(Some(accept)), Format::Text);
    }

    #[test]
    fn garbage_accept_does_not_panic() {
        for junk in [
            ";;;",
            ",,",
            "a/b;q=abc",
            "\u{0}",
            "application/openmetrics-text;q=NaN",
        ] {
            let _ = negotiate_format(Some(junk));
        }
        assert_eq!(
            negotiate_format(Some("application/openmetrics-text;q=NaN")),
            Format::Text
        );
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
