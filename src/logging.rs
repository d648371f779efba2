//! Logging set-up: node_exporter's `--log.level` and `--log.format`
//! (logfmt or JSON), to standard error.
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
    /// `ts=… level=info msg="…" key=value`.
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
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(LogQueue::start())
        .with_ansi(false);
    match format {
        LogFormat::Logfmt => builder.event_format(Logfmt).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
    }
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

/// `ts=2026-01-02T03:04:05.678Z level=info msg="…" key=value`, the shape of
/// node_exporter's logfmt lines.
struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
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
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warn",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        write!(writer, "ts={} level={level}", rfc3339_now())?;
        let mut visitor = LogfmtFields {
            writer: &mut writer,
            result: Ok(()),
        };
        event.record(&mut visitor);
        visitor.result?;
        writeln!(writer)
    }
}

struct LogfmtFields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    result: fmt::Result,
}

impl LogfmtFields<'_, '_> {
    fn write_pair(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        let key = match field.name() {
            "message" => "msg",
            other => other,
        };
        let needs_quotes = value.is_empty()
            || value
                .chars()
                .any(|c| c.is_whitespace() || c == '=' || c == '"' || c.is_control());
        self.result = if needs_quotes {
            write!(self.writer, " {key}={value:?}")
        } else {
            write!(self.writer, " {key}={value}")
        };
    }
}

impl Visit for LogfmtFields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.write_pair(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write_pair(field, &format!("{value:?}"));
    }
}

/// The current UTC time as RFC 3339 with milliseconds.
fn rfc3339_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_rfc3339(now.as_secs(), now.subsec_millis())
}

fn format_rfc3339(unix_seconds: u64, millis: u32) -> String {
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
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::{format_rfc3339, Throttle};
    use std::time::{Duration, Instant};

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
}
