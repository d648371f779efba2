//! Logging set-up: node_exporter's `--log.level` and `--log.format`
//! (logfmt or JSON), to standard error, in the line format of node_exporter
//! 1.9 and later (promslog over Go's `log/slog`).
//!
//! Lines are written by a thread of their own, through a bounded queue: a
//! standard error nobody reads (a full pipe, a stopped terminal) must never
//! hold the server, a scrape or shutdown. When the queue is full, lines are
//! dropped and counted, and the count is logged once the sink drains.
//!
//! May import: the standard library and the logging crates only.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::ValueEnum;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// Log severities, as node_exporter's `--log.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Everything, including each collector failure.
    Debug,
    /// Start-up and state changes.
    Info,
    /// Problems that need an operator.
    Warn,
    /// Failures only.
    Error,
}

/// Log line formats, as node_exporter's `--log.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `time=… level=INFO source=… msg="…" key=value`.
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber. Call once, before anything logs.
pub fn init(level: LogLevel, format: LogFormat) {
    let level = match level {
        LogLevel::Debug => Level::DEBUG,
        LogLevel::Info => Level::INFO,
        LogLevel::Warn => Level::WARN,
        LogLevel::Error => Level::ERROR,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(LogQueue::start())
        .with_ansi(false)
        .event_format(SlogLine { format })
        .init();
}

/// Counts events that each deserve a warning, but not one a time when
/// they come in floods (a client sending oversized requests, connections
/// pushed out by a flood of others): the first is reported at once, later
/// ones at most once per period, with how many there were.
pub struct Throttle {
    every: Duration,
    state: Mutex<ThrottleState>,
}

struct ThrottleState {
    last_report: Option<Instant>,
    unreported: u64,
}

impl Throttle {
    /// Reports at most once per `every`.
    pub const fn new(every: Duration) -> Throttle {
        Throttle {
            every,
            state: Mutex::new(ThrottleState {
                last_report: None,
                unreported: 0,
            }),
        }
    }

    /// Counts one event. When it is time to report, the number of events
    /// to report (this one included).
    pub fn event(&self) -> Option<u64> {
        self.event_at(Instant::now())
    }

    fn event_at(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.unreported += 1;
        if state
            .last_report
            .is_some_and(|last| now.duration_since(last) < self.every)
        {
            return None;
        }
        state.last_report = Some(now);
        Some(std::mem::take(&mut state.unreported))
    }
}

/// Lines queued for the writer thread at most: some 200 KiB of typical
/// lines, many seconds of the busiest debug logging.
const QUEUE_LINES: usize = 1024;

/// The longest line queued; the rest of a longer one is cut.
const MAX_LINE_BYTES: usize = 16 * 1024;

/// What the writer thread is handed.
enum Message {
    /// One formatted line.
    Line(Vec<u8>),
    /// A request to say when every line before it is written.
    Flush(SyncSender<()>),
}

/// The sending end of the writer thread's queue.
struct LogQueue {
    sender: SyncSender<Message>,
}

/// Lines dropped because the queue was full, not yet reported.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// The queue of the installed subscriber, for [`flush`].
static QUEUE: OnceLock<SyncSender<Message>> = OnceLock::new();

impl LogQueue {
    /// Starts the writer thread on standard error.
    fn start() -> LogQueue {
        let (sender, receiver) = mpsc::sync_channel(QUEUE_LINES);
        let _ = QUEUE.set(sender.clone());
        // Without the thread, lines are dropped and counted: the agent
        // still serves.
        let _ = std::thread::Builder::new()
            .name("log".to_string())
            .spawn(move || write_lines(receiver, io::stderr()));
        LogQueue { sender }
    }
}

/// Writes queued lines to `sink` until the queue closes; after a line, it
/// logs how many were dropped while the queue was full.
fn write_lines(receiver: Receiver<Message>, mut sink: impl Write) {
    for message in receiver {
        match message {
            Message::Line(line) => {
                let _ = sink.write_all(&line);
                let dropped = DROPPED.swap(0, Ordering::Relaxed);
                if dropped > 0 {
                    tracing::warn!(
                        dropped,
                        "log lines dropped: standard error was not being read"
                    );
                }
            }
            Message::Flush(done) => {
                let _ = sink.flush();
                let _ = done.send(());
            }
        }
    }
}

/// Waits up to `timeout` for the lines logged so far to be written: at
/// exit, so that the last lines are not lost, without hanging on a sink
/// nobody reads.
pub fn flush(timeout: Duration) {
    let Some(queue) = QUEUE.get() else {
        return;
    };
    let (done, written) = mpsc::sync_channel(1);
    let deadline = std::time::Instant::now() + timeout;
    let mut message = Message::Flush(done);
    loop {
        match queue.try_send(message) {
            Ok(()) => break,
            Err(TrySendError::Full(back)) if std::time::Instant::now() < deadline => {
                message = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return,
        }
    }
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    let _ = written.recv_timeout(left);
}

/// One event's line, handed to the queue when the formatter is done with it.
struct QueuedLine<'a> {
    sender: &'a SyncSender<Message>,
    line: Vec<u8>,
}

impl Write for QueuedLine<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let room = MAX_LINE_BYTES.saturating_sub(self.line.len());
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for QueuedLine<'_> {
    fn drop(&mut self) {
        if self.line.is_empty() {
            return;
        }
        if self.line.len() == MAX_LINE_BYTES && self.line.last() != Some(&b'\n') {
            self.line.push(b'\n');
        }
        let line = std::mem::take(&mut self.line);
        if self.sender.try_send(Message::Line(line)).is_err() {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl<'a> MakeWriter<'a> for LogQueue {
    type Writer = QueuedLine<'a>;

    fn make_writer(&'a self) -> QueuedLine<'a> {
        QueuedLine {
            sender: &self.sender,
            line: Vec::new(),
        }
    }
}

/// One line in node_exporter's format (promslog over Go's `log/slog`):
/// `time`, `level`, `source` and `msg`, then the event's fields, in order.
///
/// logfmt: `time=2026-01-02T03:04:05.678Z level=INFO source=main.rs:216
/// msg="Starting hostwatch" version=…`, values quoted as Go's text handler
/// quotes them. JSON: `{"time":"2026-01-02T03:04:05.678901234Z",
/// "level":"INFO","source":"main.rs:216","msg":"…",…}`, the time with
/// nanoseconds as Go's JSON handler writes it, numbers and booleans
/// unquoted. `source` is the file under `src/` and the line that logged.
struct SlogLine {
    format: LogFormat,
}

/// A field's value, typed as far as JSON cares.
enum FieldValue {
    Text(String),
    Number(String),
    Bool(bool),
}

impl<S, N> FormatEvent<S, N> for SlogLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        let level = match *metadata.level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARN",
            Level::INFO => "INFO",
            Level::DEBUG | Level::TRACE => "DEBUG",
        };
        let mut fields = FieldCollector::default();
        event.record(&mut fields);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let source = source_of(metadata.file(), metadata.line());
        let line = match self.format {
            LogFormat::Logfmt => logfmt_line(now, level, &source, &fields),
            LogFormat::Json => json_line(now, level, &source, &fields),
        };
        writer.write_str(&line)
    }
}

/// The event's message and other fields, in the order they were given.
#[derive(Default)]
struct FieldCollector {
    message: String,
    fields: Vec<(&'static str, FieldValue)>,
}

impl FieldCollector {
    fn push(&mut self, field: &Field, value: FieldValue) {
        match (field.name(), value) {
            ("message", FieldValue::Text(text)) => self.message = text,
            (name, value) => self.fields.push((name, value)),
        }
    }
}

impl Visit for FieldCollector {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, FieldValue::Text(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, FieldValue::Text(format!("{value:?}")));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, FieldValue::Number(value.to_string()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, FieldValue::Number(value.to_string()));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        let value = if value.is_finite() {
            FieldValue::Number(value.to_string())
        } else {
            FieldValue::Text(value.to_string())
        };
        self.push(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, FieldValue::Bool(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, FieldValue::Text(value.to_string()));
    }
}

/// `file:line` of the code that logged: the path under `src/` for the
/// agent's own files, the file name for a dependency's.
fn source_of(file: Option<&str>, line: Option<u32>) -> String {
    let file = file.unwrap_or("unknown");
    let file = file
        .strip_prefix("src/")
        .unwrap_or_else(|| file.rsplit('/').next().unwrap_or(file));
    format!("{file}:{}", line.unwrap_or(0))
}

fn logfmt_line(now: Duration, level: &str, source: &str, fields: &FieldCollector) -> String {
    let mut line = format!(
        "time={} level={level} source={}",
        format_rfc3339(now.as_secs(), now.subsec_millis()),
        logfmt_value(source)
    );
    line.push_str(" msg=");
    line.push_str(&logfmt_value(&fields.message));
    for (key, value) in &fields.fields {
        line.push(' ');
        line.push_str(&logfmt_value(key));
        line.push('=');
        match value {
            FieldValue::Text(text) => line.push_str(&logfmt_value(text)),
            FieldValue::Number(number) => line.push_str(number),
            FieldValue::Bool(flag) => line.push_str(if *flag { "true" } else { "false" }),
        }
    }
    line.push('\n');
    line
}

fn json_line(now: Duration, level: &str, source: &str, fields: &FieldCollector) -> String {
    let mut line = String::from("{\"time\":");
    json_string(
        &mut line,
        &format_rfc3339_nanos(now.as_secs(), now.subsec_nanos()),
    );
    line.push_str(",\"level\":");
    json_string(&mut line, level);
    line.push_str(",\"source\":");
    json_string(&mut line, source);
    line.push_str(",\"msg\":");
    json_string(&mut line, &fields.message);
    for (key, value) in &fields.fields {
        line.push(',');
        json_string(&mut line, key);
        line.push(':');
        match value {
            FieldValue::Text(text) => json_string(&mut line, text),
            FieldValue::Number(number) => line.push_str(number),
            FieldValue::Bool(flag) => line.push_str(if *flag { "true" } else { "false" }),
        }
    }
    line.push_str("}\n");
    line
}

/// A logfmt key or value as Go's `slog.TextHandler` writes it: bare unless
/// it is empty or holds a space, `=`, `"`, or a control or non-printing
/// character, then quoted as Go's `strconv.Quote` quotes.
fn logfmt_value(text: &str) -> String {
    let needs_quotes = text.is_empty()
        || text.chars().any(|c| {
            c == ' '
                || c == '='
                || c == '"'
                || c.is_control()
                || (!c.is_ascii() && c.is_whitespace())
        });
    if !needs_quotes {
        return text.to_string();
    }
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\u{7}' => quoted.push_str("\\a"),
            '\u{8}' => quoted.push_str("\\b"),
            '\u{c}' => quoted.push_str("\\f"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '\u{b}' => quoted.push_str("\\v"),
            c if c.is_ascii_control() => quoted.push_str(&format!("\\x{:02x}", u32::from(c))),
            // Go prints neither controls nor spaces other than ASCII's.
            c if c.is_control() || (c != ' ' && c.is_whitespace()) => {
                quoted.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Appends `text` as a JSON string, escaped as Go's `slog.JSONHandler`
/// escapes (`<`, `>` and `&` left as they are).
fn json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// UTC time as RFC 3339 with milliseconds, as Go's text handler writes it.
fn format_rfc3339(unix_seconds: u64, millis: u32) -> String {
    format!("{}.{millis:03}Z", civil_time(unix_seconds))
}

/// UTC time as RFC 3339 with nanoseconds, trailing zeros dropped (Go's
/// `time.RFC3339Nano`), as Go's JSON handler writes it.
fn format_rfc3339_nanos(unix_seconds: u64, nanos: u32) -> String {
    let fraction = format!("{nanos:09}");
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{}Z", civil_time(unix_seconds))
    } else {
        format!("{}.{fraction}Z", civil_time(unix_seconds))
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix time, in UTC.
fn civil_time(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs_of_day = unix_seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttle_reports_the_first_event_then_counts() {
        let minute = Duration::from_secs(60);
        let throttle = Throttle::new(minute);
        let start = Instant::now();
        assert_eq!(throttle.event_at(start), Some(1));
        assert_eq!(throttle.event_at(start + minute / 2), None);
        assert_eq!(throttle.event_at(start + minute / 2), None);
        assert_eq!(throttle.event_at(start + minute), Some(3));
        assert_eq!(throttle.event_at(start + minute * 3), Some(1));
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(format_rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(
            format_rfc3339(1_795_600_000, 123),
            "2026-11-25T09:46:40.123Z"
        );
    }

    #[test]
    fn rfc3339_nanos_drop_trailing_zeros_as_go_does() {
        assert_eq!(format_rfc3339_nanos(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339_nanos(1_795_600_000, 123_000_000),
            "2026-11-25T09:46:40.123Z"
        );
        assert_eq!(
            format_rfc3339_nanos(1_795_600_000, 5),
            "2026-11-25T09:46:40.000000005Z"
        );
    }

    fn fields(message: &str, fields: Vec<(&'static str, FieldValue)>) -> FieldCollector {
        FieldCollector {
            message: message.to_string(),
            fields,
        }
    }

    const AT: Duration = Duration::new(1_735_787_045, 678_900_000);

    #[test]
    fn logfmt_lines_have_slogs_keys_in_order() {
        let line = logfmt_line(
            AT,
            "INFO",
            "main.rs:216",
            &fields(
                "Starting hostwatch",
                vec![
                    ("version", FieldValue::Text("1.0 (rustc 1.87)".into())),
                    ("port", FieldValue::Number("9100".into())),
                    ("tls", FieldValue::Bool(false)),
                    ("path", FieldValue::Text("/proc".into())),
                ],
            ),
        );
        assert_eq!(
            line,
            "time=2025-01-02T03:04:05.678Z level=INFO source=main.rs:216 msg=\"Starting hostwatch\" \
             version=\"1.0 (rustc 1.87)\" port=9100 tls=false path=/proc\n"
        );
    }

    #[test]
    fn logfmt_quotes_as_gos_text_handler() {
        for (text, written) in [
            ("plain", "plain"),
            ("", "\"\""),
            ("a b", "\"a b\""),
            ("k=v", "\"k=v\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("C:\\dir", "C:\\dir"),
            ("two\nlines", "\"two\\nlines\""),
            ("nul\0", "\"nul\\x00\""),
            ("tab\tbell\u{7}", "\"tab\\tbell\\a\""),
            ("esc\u{1b}", "\"esc\\x1b\""),
            ("c1\u{85}", "\"c1\\u0085\""),
            ("nbsp\u{a0}x", "\"nbsp\\u00a0x\""),
            ("héllo", "héllo"),
        ] {
            assert_eq!(logfmt_value(text), written, "{text:?}");
        }
    }

    #[test]
    fn json_lines_have_slogs_keys_and_types() {
        let line = json_line(
            AT,
            "WARN",
            "collectors/cpu.rs:42",
            &fields(
                "collector failed",
                vec![
                    ("collector", FieldValue::Text("cpu".into())),
                    (
                        "err",
                        FieldValue::Text("bad \"x\"\n<a&b>\u{1}\u{2028}".into()),
                    ),
                    ("count", FieldValue::Number("-3".into())),
                    ("tls", FieldValue::Bool(true)),
                ],
            ),
        );
        assert_eq!(
            line,
            "{\"time\":\"2025-01-02T03:04:05.6789Z\",\"level\":\"WARN\",\
             \"source\":\"collectors/cpu.rs:42\",\"msg\":\"collector failed\",\
             \"collector\":\"cpu\",\"err\":\"bad \\\"x\\\"\\n<a&b>\\u0001\\u2028\",\
             \"count\":-3,\"tls\":true}\n"
        );
    }

    #[test]
    fn source_is_the_file_under_src_and_the_line() {
        assert_eq!(source_of(Some("src/main.rs"), Some(7)), "main.rs:7");
        assert_eq!(
            source_of(Some("src/http/serve.rs"), Some(120)),
            "http/serve.rs:120"
        );
        assert_eq!(
            source_of(
                Some("/root/.cargo/registry/src/index/hyper-1.0.0/src/proto/h1/role.rs"),
                Some(3)
            ),
            "role.rs:3"
        );
        assert_eq!(source_of(None, None), "unknown:0");
    }
}
