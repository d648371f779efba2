//! The scrape model: run the selected collectors concurrently on blocking
//! threads, each bounded by the scrape's deadline, and gather what finished.
//!
//! Two rules keep a hung or slow collector from hurting the agent:
//! - **Deadline.** A scrape waits for each collector only until its
//!   deadline; one that has not finished is reported with
//!   `node_scrape_collector_success 0` and the scrape answers without it.
//! - **Single flight.** A collector never runs twice at once. A scrape that
//!   finds it already running (a concurrent scrape, or a run still stuck
//!   from an earlier one) waits for that run's result instead of starting
//!   another, so a hung read costs one thread, not one per scrape, and HA
//!   Prometheus pairs scraping together share one collection.
//!
//! A scrape's runs share blocking threads rather than taking one each (see
//! [`RunQueue`]): most collectors take microseconds, less than a thread hop.
//!
//! May import: [`crate::collectors`], [`crate::process`] and the layers below
//! them; never the HTTP layer or the command line.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::collectors::registry;
use crate::collectors::{BuildContext, CollectError, Collector, ErrorKind, RunDeadline};
use crate::exposition::Format;
use crate::host::Host;
use crate::metrics::{Family, MetricSet, MetricType};
use crate::process::{self, version};
use crate::unpoisoned::lock;

/// What one collector run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The families, finished for encoding (possibly partial on error).
    pub families: Vec<Family>,
    /// Why the run failed, if it did.
    pub error: Option<CollectError>,
    /// How long the run took.
    pub duration: Duration,
}

/// The largest outcome whose buffers the collector's next run reuses. A
/// collector's families on a big host take a few hundred kilobytes; a
/// one-off huge textfile must not keep its buffers for good, so an outcome
/// larger than this is freed once the scrapes that read it are done.
const MAX_REUSED_BYTES: usize = 8 << 20;

type OutcomeReceiver = watch::Receiver<Option<Arc<Outcome>>>;

/// How long before its scrape's deadline a run is asked to be done (see
/// [`Collector::update_until`]): time for the run to hand over its outcome
/// and for the scrape to wake, on a loaded machine.
const RUN_MARGIN: Duration = Duration::from_millis(50);

/// A run in flight: where its outcome will come, and its deadline, which
/// scrapes joining it may bring forward.
struct InFlightRun {
    receiver: OutcomeReceiver,
    deadline: RunDeadline,
}

/// One enabled collector and its run state.
struct Slot {
    name: &'static str,
    collector: Arc<dyn Collector>,
    /// The run in progress, if any (single flight).
    in_flight: Mutex<Option<InFlightRun>>,
    /// The last failure message logged at warn, to warn once per problem.
    last_warning: Mutex<Option<String>>,
    /// The last run's outcome, whose family buffers the next run reuses
    /// once no scrape holds it any more.
    last_outcome: Mutex<Option<Arc<Outcome>>>,
}

/// Why a `collect[]`/`exclude[]` selection is refused (a 400 for the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionError(pub String);

/// The enabled collectors and how to scrape them.
pub struct Scraper {
    host: Arc<Host>,
    slots: Vec<Arc<Slot>>,
    default_timeout: Duration,
    exporter_metrics: bool,
    /// The last scrape's order of its families by name (see
    /// [`Scraper::family_order`]).
    last_order: Mutex<Vec<u32>>,
}

impl Scraper {
    /// Builds the collectors `ctx` enables, in registry order. An error names
    /// the collector and what stopped it, and should stop start-up.
    pub fn new(
        ctx: &BuildContext<'_>,
        default_timeout: Duration,
        exporter_metrics: bool,
    ) -> Result<Scraper, String> {
        let mut slots = Vec::new();
        for spec in registry::ALL.iter().filter(|s| ctx.is_enabled(s.name)) {
            let collector =
                (spec.build)(ctx).map_err(|e| format!("collector {}: {e}", spec.name))?;
            slots.push(Arc::new(Slot {
                name: spec.name,
                collector: Arc::from(collector),
                in_flight: Mutex::new(None),
                last_warning: Mutex::new(None),
                last_outcome: Mutex::new(None),
            }));
        }
        Ok(Scraper {
            host: Arc::clone(&ctx.host),
            slots,
            default_timeout,
            exporter_metrics,
            last_order: Mutex::default(),
        })
    }

    /// A scraper over collectors built elsewhere (tests and benchmarks).
    pub fn from_collectors(
        host: Arc<Host>,
        collectors: Vec<(&'static str, Arc<dyn Collector>)>,
        default_timeout: Duration,
        exporter_metrics: bool,
    ) -> Scraper {
        let slots = collectors
            .into_iter()
            .map(|(name, collector)| {
                Arc::new(Slot {
                    name,
                    collector,
                    in_flight: Mutex::new(None),
                    last_warning: Mutex::new(None),
                    last_outcome: Mutex::new(None),
                })
            })
            .collect();
        Scraper {
            host,
            slots,
            default_timeout,
            exporter_metrics,
            last_order: Mutex::default(),
        }
    }

    /// The observed host.
    pub fn host(&self) -> Arc<Host> {
        Arc::clone(&self.host)
    }

    /// Names of the enabled collectors, in name order.
    pub fn enabled(&self) -> Vec<&'static str> {
        self.slots.iter().map(|s| s.name).collect()
    }

    /// The deadline a scrape gets when the client sets none.
    pub fn default_timeout(&self) -> Duration {
        self.default_timeout
    }

    /// Resolves node_exporter's `collect[]` / `exclude[]` parameters to the
    /// collectors to run: `collect[]` names must be enabled collectors;
    /// `exclude[]` removes from the enabled set (unknown names are ignored,
    /// as node_exporter does); both together are refused.
    pub fn select(
        &self,
        collect: &[String],
        exclude: &[String],
    ) -> Result<Vec<usize>, SelectionError> {
        if !collect.is_empty() && !exclude.is_empty() {
            return Err(SelectionError(
                "Combined collect and exclude queries are not allowed.".to_string(),
            ));
        }
        if collect.is_empty() {
            return Ok((0..self.slots.len())
                .filter(|&i| !exclude.iter().any(|e| e == self.slots[i].name))
                .collect());
        }
        let mut chosen = Vec::new();
        for name in collect {
            match self.slots.iter().position(|s| s.name == name) {
                Some(i) if !chosen.contains(&i) => chosen.push(i),
                Some(_) => {}
                None if registry::ALL.iter().any(|s| s.name == name) => {
                    return Err(SelectionError(format!("disabled collector: {name}")));
                }
                None => return Err(SelectionError(format!("missing collector: {name}"))),
            }
        }
        chosen.sort_unstable();
        Ok(chosen)
    }

    /// Runs the selected collectors (indices from [`Scraper::select`]) and
    /// waits for them until `deadline`.
    pub async fn scrape(&self, selection: &[usize], deadline: Instant) -> Scrape {
        self.scrape_logging(selection, deadline, Logging::EachFailure)
            .await
    }

    /// Runs every enabled collector once, as a scrape until `deadline`
    /// would, and returns those that failed, in name order, with why and
    /// whether it is only that the host lacks what the collector reads: for
    /// the start-up summary. Their failures are not logged one by one, here
    /// or when the next scrape meets them again.
    pub async fn survey(&self, deadline: Instant) -> Vec<(&'static str, String, ErrorKind)> {
        let all: Vec<usize> = (0..self.slots.len()).collect();
        let scrape = self.scrape_logging(&all, deadline, Logging::Summary).await;
        scrape
            .results
            .iter()
            .filter_map(|(name, result)| {
                failure(result).map(|(message, kind)| (*name, message, kind))
            })
            .collect()
    }

    async fn scrape_logging(
        &self,
        selection: &[usize],
        deadline: Instant,
        logging: Logging,
    ) -> Scrape {
        let started = Instant::now();
        let mut fresh = VecDeque::new();
        let runs: Vec<(&Arc<Slot>, OutcomeReceiver)> = selection
            .iter()
            .filter_map(|&i| self.slots.get(i))
            .map(|slot| (slot, start_or_join(slot, deadline, &mut fresh)))
            .collect();
        let queue = WatchedQueue(RunQueue::start(fresh, &self.host));

        // Waiting for the last run first: queued runs finish in order, so
        // by then the earlier ones are usually done, and this task wakes
        // once rather than once per collector. While the queue still holds
        // runs, the wait is cut every STALL to see whether it has moved.
        let mut taken = 0;
        let mut results = Vec::with_capacity(runs.len());
        for (slot, mut receiver) in runs.into_iter().rev() {
            let result = loop {
                let pending = queue.0.as_ref().filter(|q| !q.is_empty());
                let wake = match pending {
                    Some(_) => deadline.min(Instant::now() + STALL),
                    None => deadline,
                };
                match tokio::time::timeout_at(wake, receiver.wait_for(Option::is_some)).await {
                    Ok(Ok(outcome)) => {
                        break CollectorResult::Finished(outcome.clone().expect("waited for Some"))
                    }
                    Ok(Err(_)) => break CollectorResult::Lost,
                    Err(_) if Instant::now() >= deadline => {
                        break CollectorResult::TimedOut(
                            deadline.saturating_duration_since(started),
                        )
                    }
                    Err(_) => {
                        if let Some(queue) = pending {
                            queue.add_thread_if_stalled(&mut taken);
                        }
                    }
                }
            };
            log_result(slot, &result, logging);
            results.push((slot.name, result));
        }
        results.reverse();

        let mut meta = MetricSet::new();
        let duration = meta.family(
            "node_scrape_collector_duration_seconds",
            "node_exporter: Duration of a collector scrape.",
            MetricType::Gauge,
            &["collector"],
        );
        for (name, result) in &results {
            duration.push(&[name], result.duration().as_secs_f64());
        }
        let success = meta.family(
            "node_scrape_collector_success",
            "node_exporter: Whether a collector succeeded.",
            MetricType::Gauge,
            &["collector"],
        );
        for (name, result) in &results {
            success.push(&[name], if result.succeeded() { 1.0 } else { 0.0 });
        }
        version::build_info(&mut meta);
        if self.exporter_metrics {
            process::metrics::collect(&mut meta);
        }
        let mut scrape = Scrape {
            results,
            meta: meta.into_sorted(),
            order: Vec::new(),
        };
        scrape.order = self.family_order(&scrape.unordered_families());
        scrape
    }

    /// The order of `families` by name (then by position, as a stable sort
    /// leaves equal names): positions into `families`.
    ///
    /// Scrapes list the same families in the same order, scrape after
    /// scrape, so the last order is tried first: checking that it sorts
    /// takes one comparison per family, sorting afresh about nine for a
    /// scrape's 350 families.
    fn family_order(&self, families: &[&Family]) -> Vec<u32> {
        let by_name = |&a: &u32, &b: &u32| {
            let name = |i: u32| families[i as usize].name();
            name(a).cmp(name(b)).then(a.cmp(&b))
        };
        let mut last = lock(&self.last_order);
        if last.len() == families.len() && last.is_sorted_by(|a, b| by_name(a, b).is_lt()) {
            return last.clone();
        }
        let count = u32::try_from(families.len()).expect("fewer than 2^32 families");
        let mut order: Vec<u32> = (0..count).collect();
        order.sort_unstable_by(by_name);
        last.clone_from(&order);
        order
    }
}

/// Starts a run of the slot's collector, queued in `fresh`, or joins the
/// one in flight, bringing its deadline forward to this scrape's.
fn start_or_join(
    slot: &Arc<Slot>,
    deadline: Instant,
    fresh: &mut VecDeque<Run>,
) -> OutcomeReceiver {
    let run_deadline = deadline
        .into_std()
        .checked_sub(RUN_MARGIN)
        .unwrap_or_else(|| deadline.into_std());
    let mut in_flight = lock(&slot.in_flight);
    if let Some(run) = in_flight.as_ref() {
        run.deadline.bring_forward(run_deadline);
        return run.receiver.clone();
    }
    let (sender, receiver) = watch::channel(None);
    let deadline = RunDeadline::at(run_deadline);
    *in_flight = Some(InFlightRun {
        receiver: receiver.clone(),
        deadline: deadline.clone(),
    });
    fresh.push_back(Run {
        slot: Arc::clone(slot),
        sender,
        deadline,
    });
    receiver
}

/// How long a run queue may go without starting its next run before another
/// thread joins in: longer than the cheap collectors take, short enough that
/// one hung or slow collector barely delays the ones queued behind it.
const STALL: Duration = Duration::from_millis(20);

/// The queue a scrape started, which the scrape watches while it waits.
/// Should the scrape end with runs still queued (its deadline passed, or its
/// client went away), a task takes over the watching, so that the runs other
/// scrapes may have joined still get threads.
struct WatchedQueue(Option<Arc<RunQueue>>);

impl Drop for WatchedQueue {
    fn drop(&mut self) {
        let Some(queue) = self.0.take().filter(|q| !q.is_empty()) else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(queue.watch());
        }
    }
}

/// One collector run waiting for a thread.
struct Run {
    slot: Arc<Slot>,
    sender: watch::Sender<Option<Arc<Outcome>>>,
    deadline: RunDeadline,
}

/// The runs one scrape started, taken in order by blocking threads.
///
/// Most collectors finish in microseconds, so one thread running them one
/// after another costs far less than a thread hop each. The scrape adds a
/// thread whenever the queue stops moving, so a hung or slow collector holds
/// only its own thread and the rest still meet the deadline.
struct RunQueue {
    host: Arc<Host>,
    runs: Mutex<VecDeque<Run>>,
    /// How many runs have been taken from the queue, to notice a stall.
    taken: AtomicUsize,
}

impl RunQueue {
    /// Starts the runs on `host` on a blocking thread; `None` when there
    /// are none.
    fn start(runs: VecDeque<Run>, host: &Arc<Host>) -> Option<Arc<RunQueue>> {
        if runs.is_empty() {
            return None;
        }
        let queue = Arc::new(RunQueue {
            host: Arc::clone(host),
            runs: Mutex::new(runs),
            taken: AtomicUsize::new(0),
        });
        queue.add_thread();
        Some(queue)
    }

    fn add_thread(self: &Arc<Self>) {
        let queue = Arc::clone(self);
        tokio::task::spawn_blocking(move || queue.drain());
    }

    /// Adds a thread each time the queue has not moved for [`STALL`], until
    /// it is empty: for a queue whose scrape is gone.
    async fn watch(self: Arc<Self>) {
        let mut taken = self.taken.load(Ordering::Acquire);
        while !self.is_empty() {
            tokio::time::sleep(STALL).await;
            self.add_thread_if_stalled(&mut taken);
        }
    }

    /// Called every [`STALL`] while runs are queued: adds a thread when no
    /// run has been taken since the last call (`taken` keeps the count seen
    /// then), so it adds at most one thread per run.
    fn add_thread_if_stalled(self: &Arc<Self>, taken: &mut usize) {
        let now = self.taken.load(Ordering::Acquire);
        if now == *taken && !self.is_empty() {
            self.add_thread();
        }
        *taken = now;
    }

    fn is_empty(&self) -> bool {
        lock(&self.runs).is_empty()
    }

    fn drain(&self) {
        loop {
            let next = lock(&self.runs).pop_front();
            let Some(run) = next else { return };
            self.taken.fetch_add(1, Ordering::Release);
            run.execute(&self.host);
        }
    }
}

impl Run {
    /// Runs the collector on `host` and publishes its outcome.
    fn execute(self, host: &Host) {
        let Run {
            slot,
            sender,
            deadline,
        } = self;
        let started = std::time::Instant::now();
        let earlier = lock(&slot.last_outcome)
            .take()
            .and_then(|outcome| Arc::try_unwrap(outcome).ok())
            .map(|outcome| outcome.families)
            .unwrap_or_default();
        let mut set = MetricSet::reusing(earlier);
        let result = catch_unwind(AssertUnwindSafe(|| {
            slot.collector.update_until(host, &mut set, &deadline)
        }));
        let error = match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some(CollectError::failed("collector panicked")),
        };
        let families = set.into_finished();
        let heap_bytes: usize = families.iter().map(Family::heap_bytes).sum();
        let outcome = Arc::new(Outcome {
            families,
            error,
            duration: started.elapsed(),
        });
        *lock(&slot.last_outcome) = (heap_bytes <= MAX_REUSED_BYTES).then(|| Arc::clone(&outcome));
        // Clear the in-flight mark before publishing, so a scrape arriving
        // after this point starts a fresh run rather than reusing this one.
        *lock(&slot.in_flight) = None;
        let _ = sender.send(Some(outcome));
    }
}

/// How one collector fared in one scrape.
#[derive(Debug)]
pub enum CollectorResult {
    /// It finished (successfully or not) before the deadline.
    Finished(Arc<Outcome>),
    /// It was still running at the deadline; the duration is the time waited.
    TimedOut(Duration),
    /// Its run ended without a result (the worker thread died).
    Lost,
}

impl CollectorResult {
    fn succeeded(&self) -> bool {
        matches!(self, CollectorResult::Finished(o) if o.error.is_none())
    }

    fn duration(&self) -> Duration {
        match self {
            CollectorResult::Finished(o) => o.duration,
            CollectorResult::TimedOut(d) => *d,
            CollectorResult::Lost => Duration::ZERO,
        }
    }
}

/// How a scrape logs its collectors' failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logging {
    /// Each failure as [`log_result`] says.
    EachFailure,
    /// At debug only, and remembered as logged: the caller sums them up.
    Summary,
}

/// Why a result is a failure, and which kind; `None` for a success.
fn failure(result: &CollectorResult) -> Option<(String, ErrorKind)> {
    match result {
        CollectorResult::Finished(o) => o
            .error
            .as_ref()
            .map(|e| (e.message().to_string(), e.kind())),
        CollectorResult::TimedOut(waited) => Some((
            format!(
                "still running after {:.3}s, past the scrape deadline",
                waited.as_secs_f64()
            ),
            ErrorKind::Failed,
        )),
        CollectorResult::Lost => Some((
            "collector run ended without a result".to_string(),
            ErrorKind::Failed,
        )),
    }
}

/// Logs a collector's result: every failure at debug (node_exporter's level),
/// and additionally at warn the first time a given failure is seen, so a
/// missing file is reported once rather than every scrape; a recovery at info.
fn log_result(slot: &Slot, result: &CollectorResult, logging: Logging) {
    let Some((message, kind)) = failure(result) else {
        let mut last = lock(&slot.last_warning);
        if last.take().is_some() {
            tracing::info!(collector = slot.name, "collector recovered");
        }
        return;
    };
    tracing::debug!(collector = slot.name, err = %message, "collector failed");
    if kind == ErrorKind::NoData {
        return;
    }
    let mut last = lock(&slot.last_warning);
    if last.as_deref() != Some(message.as_str()) {
        if logging == Logging::EachFailure {
            tracing::warn!(collector = slot.name, err = %message, "collector failed");
        }
        *last = Some(message);
    }
}

/// The gathered result of one scrape, ready to encode.
#[derive(Debug)]
pub struct Scrape {
    /// Each selected collector's result, in name order.
    pub results: Vec<(&'static str, CollectorResult)>,
    /// The scrape's own families: per-collector duration and success, build
    /// info and (unless disabled) the agent's process metrics.
    pub meta: Vec<Family>,
    /// The order of [`Scrape::unordered_families`] by name.
    order: Vec<u32>,
}

impl Scrape {
    /// Every family of the scrape, sorted by name.
    pub fn families(&self) -> Vec<&Family> {
        let all = self.unordered_families();
        self.order.iter().map(|&i| all[i as usize]).collect()
    }

    /// Every family of the scrape that has samples, the scrape's own first,
    /// then each collector's in turn.
    fn unordered_families(&self) -> Vec<&Family> {
        let mut all: Vec<&Family> = self.meta.iter().collect();
        for (_, result) in &self.results {
            if let CollectorResult::Finished(outcome) = result {
                all.extend(outcome.families.iter().filter(|f| !f.is_empty()));
            }
        }
        all
    }

    /// Encodes the scrape in `format`.
    pub fn encode(&self, format: Format) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 * 1024);
        format.encode(&self.families(), &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host the test collectors do not read.
    fn no_host() -> Arc<Host> {
        Arc::new(Host::new(
            "/nonexistent",
            "/nonexistent",
            "/nonexistent",
            "/nonexistent",
        ))
    }

    struct Fixed(f64);
    impl Collector for Fixed {
        fn update(&self, _: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
            out.gauge("node_fixed", "A fixed value.", self.0);
            Ok(())
        }
    }

    struct Failing;
    impl Collector for Failing {
        fn update(&self, _: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
            out.gauge("node_partial", "Written before failing.", 1.0);
            Err(CollectError::failed("reading /nowhere: gone"))
        }
    }

    struct Panicking;
    impl Collector for Panicking {
        fn update(&self, _: &Host, _: &mut MetricSet) -> Result<(), CollectError> {
            panic!("bug");
        }
    }

    /// Blocks until released, counting how many runs were started.
    struct Hanging {
        runs: AtomicUsize,
        release: Mutex<bool>,
        wake: std::sync::Condvar,
    }
    impl Hanging {
        fn new() -> Arc<Hanging> {
            Arc::new(Hanging {
                runs: AtomicUsize::new(0),
                release: Mutex::new(false),
                wake: std::sync::Condvar::new(),
            })
        }

        /// Lets every run, current and future, finish.
        fn release(&self) {
            *self.release.lock().unwrap() = true;
            self.wake.notify_all();
        }
    }

    /// A scraper whose first collector hangs until released, followed by
    /// fixed ones.
    fn behind_a_hung_one(fixed: &[&'static str]) -> (Arc<Hanging>, Scraper) {
        let hanging = Hanging::new();
        let mut collectors = vec![("a_hanging", hanging.clone() as Arc<dyn Collector>)];
        for (n, name) in fixed.iter().enumerate() {
            collectors.push((*name, Arc::new(Fixed(n as f64 + 1.0)) as Arc<dyn Collector>));
        }
        let scraper =
            Scraper::from_collectors(no_host(), collectors, Duration::from_secs(5), false);
        (hanging, scraper)
    }

    impl Collector for Hanging {
        fn update(&self, _: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
            self.runs.fetch_add(1, Ordering::SeqCst);
            let mut released = self.release.lock().unwrap();
            while !*released {
                released = self.wake.wait(released).unwrap();
            }
            out.gauge("node_hanging", "Released.", 1.0);
            Ok(())
        }
    }

    fn text(scrape: &Scrape) -> String {
        String::from_utf8(scrape.encode(Format::Text)).unwrap()
    }

    fn deadline_in(ms: u64) -> Instant {
        Instant::now() + Duration::from_millis(ms)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failures_and_panics_are_success_zero_and_others_still_report() {
        let scraper = Scraper::from_collectors(
            no_host(),
            vec![
                ("a_fixed", Arc::new(Fixed(7.0)) as Arc<dyn Collector>),
                ("b_failing", Arc::new(Failing)),
                ("c_panicking", Arc::new(Panicking)),
            ],
            Duration::from_secs(5),
            false,
        );
        let all = scraper.select(&[], &[]).unwrap();
        let out = text(&scraper.scrape(&all, deadline_in(5000)).await);
        assert!(out.contains("node_fixed 7\n"), "{out}");
        assert!(out.contains("node_scrape_collector_success{collector=\"a_fixed\"} 1\n"));
        assert!(out.contains("node_scrape_collector_success{collector=\"b_failing\"} 0\n"));
        assert!(out.contains("node_scrape_collector_success{collector=\"c_panicking\"} 0\n"));
        assert!(
            out.contains("node_partial 1\n"),
            "partial data is kept, as node_exporter does"
        );
        assert!(out.contains("node_exporter_build_info{"));
        assert!(!out.contains("process_cpu_seconds_total"));
    }

    /// Writes a different set of families each run: run n has families
    /// `node_run_0` .. `node_run_{n % 3}`, the first with n + 1 samples.
    struct Changing(AtomicUsize);
    impl Collector for Changing {
        fn update(&self, _: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
            let run = self.0.fetch_add(1, Ordering::SeqCst);
            for family in 0..=run % 3 {
                let name = format!("node_run_{family}");
                let labels = ["zone", "device"];
                let f = out.family(name, "Changes.", MetricType::Gauge, &labels);
                for sample in 0..=run / (family + 1) {
                    f.push(&[format!("z{sample}"), format!("d{run}")], sample as f64);
                }
            }
            out.family("node_run_empty", "Never.", MetricType::Gauge, &["x"]);
            Ok(())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_run_reusing_the_last_runs_buffers_reports_only_its_own_series() {
        let collector = Arc::new(Changing(AtomicUsize::new(0)));
        let scraper = Scraper::from_collectors(
            no_host(),
            vec![("changing", collector.clone() as Arc<dyn Collector>)],
            Duration::from_secs(5),
            false,
        );
        let all = scraper.select(&[], &[]).unwrap();
        let expected = Changing(AtomicUsize::new(0));
        for _ in 0..7 {
            let scrape = scraper.scrape(&all, deadline_in(5000)).await;
            let reported = scrape
                .families()
                .into_iter()
                .filter(|f| f.name().starts_with("node_run"));
            let reported: Vec<Family> = reported.cloned().collect();
            let mut fresh = MetricSet::new();
            expected.update(&no_host(), &mut fresh).unwrap();
            assert_eq!(reported, fresh.into_sorted());
        }
    }

    #[test]
    fn family_order_is_by_name_then_position_whatever_came_last() {
        let scraper =
            Scraper::from_collectors(no_host(), Vec::new(), Duration::from_secs(1), false);
        let families = |names: &[&str]| -> Vec<Family> {
            let labels: [&str; 0] = [];
            names
                .iter()
                .map(|&name| Family::new(name.to_string(), "h", MetricType::Gauge, &labels))
                .collect()
        };
        let order =
            |names: &[&str]| scraper.family_order(&families(names).iter().collect::<Vec<_>>());
        assert_eq!(order(&["node_b", "node_a", "node_c"]), [1, 0, 2]);
        assert_eq!(order(&["node_b", "node_a", "node_c"]), [1, 0, 2]);
        // As many families as last time, in another order.
        assert_eq!(order(&["node_c", "node_a", "node_b"]), [1, 2, 0]);
        assert_eq!(order(&["node_x", "node_x", "node_a"]), [2, 0, 1]);
        assert_eq!(order(&["node_a"]), [0]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hung_collector_misses_the_deadline_and_is_never_started_twice() {
        let hanging = Hanging::new();
        let scraper = Scraper::from_collectors(
            no_host(),
            vec![
                ("fixed", Arc::new(Fixed(1.0)) as Arc<dyn Collector>),
                ("hanging", hanging.clone()),
            ],
            Duration::from_secs(5),
            true,
        );
        let all = scraper.select(&[], &[]).unwrap();
        for _ in 0..3 {
            let started = std::time::Instant::now();
            let out = text(&scraper.scrape(&all, deadline_in(100)).await);
            assert!(started.elapsed() < Duration::from_secs(2));
            assert!(out.contains("node_scrape_collector_success{collector=\"hanging\"} 0\n"));
            assert!(out.contains("node_fixed 1\n"));
            assert!(out.contains("process_cpu_seconds_total"));
        }
        assert_eq!(
            hanging.runs.load(Ordering::SeqCst),
            1,
            "joined the stuck run"
        );

        hanging.release();
        // Once the stuck run has finished, the next scrape starts a new run.
        let slot = &scraper.slots[1];
        for _ in 0..200 {
            if slot.in_flight.lock().unwrap().is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let out = text(&scraper.scrape(&all, deadline_in(2000)).await);
        assert!(
            out.contains("node_scrape_collector_success{collector=\"hanging\"} 1\n"),
            "{out}"
        );
        assert!(out.contains("node_hanging 1\n"));
        assert_eq!(hanging.runs.load(Ordering::SeqCst), 2);
    }

    /// Works until its run's deadline, then reports what it has.
    struct UntilTheDeadline;
    impl Collector for UntilTheDeadline {
        fn update(&self, _: &Host, _: &mut MetricSet) -> Result<(), CollectError> {
            unreachable!("the scrape passes its deadline")
        }

        fn update_until(
            &self,
            _: &Host,
            out: &mut MetricSet,
            deadline: &RunDeadline,
        ) -> Result<(), CollectError> {
            while !deadline.remaining().is_zero() {
                std::thread::sleep(Duration::from_millis(5));
            }
            out.gauge("node_answered", "Answered by the deadline.", 1.0);
            Ok(())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_run_gets_the_scrape_deadline_and_a_joining_scrape_brings_it_forward() {
        let scraper = Arc::new(Scraper::from_collectors(
            no_host(),
            vec![("patient", Arc::new(UntilTheDeadline) as Arc<dyn Collector>)],
            Duration::from_secs(30),
            false,
        ));
        let all = scraper.select(&[], &[]).unwrap();
        let out = text(&scraper.scrape(&all, deadline_in(300)).await);
        assert!(out.contains("node_answered 1\n"), "{out}");
        assert!(out.contains("node_scrape_collector_success{collector=\"patient\"} 1\n"));

        // A scrape with a long deadline starts the run; one with a short
        // deadline joins it: both get its result by the short deadline.
        let started = std::time::Instant::now();
        let long = {
            let scraper = Arc::clone(&scraper);
            let all = all.clone();
            tokio::spawn(async move { text(&scraper.scrape(&all, deadline_in(20_000)).await) })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let short = text(&scraper.scrape(&all, deadline_in(400)).await);
        let long = long.await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        for out in [short, long] {
            assert!(
                out.contains("node_scrape_collector_success{collector=\"patient\"} 1\n"),
                "{out}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn collectors_queued_behind_a_hung_one_still_report() {
        let (hanging, scraper) = behind_a_hung_one(&["b_fixed", "c_fixed"]);
        let all = scraper.select(&[], &[]).unwrap();
        let out = text(&scraper.scrape(&all, deadline_in(1000)).await);
        assert!(out.contains("node_scrape_collector_success{collector=\"a_hanging\"} 0\n"));
        assert!(out.contains("node_scrape_collector_success{collector=\"b_fixed\"} 1\n"));
        assert!(out.contains("node_scrape_collector_success{collector=\"c_fixed\"} 1\n"));
        hanging.release();
    }

    #[tokio::test]
    async fn runs_left_queued_by_a_finished_scrape_still_get_a_thread() {
        let (hanging, scraper) = behind_a_hung_one(&["b_fixed"]);
        let all = scraper.select(&[], &[]).unwrap();
        // Over before anyone could notice the queue stalled: b_fixed stays
        // queued behind the hung run when this scrape ends.
        let first = text(&scraper.scrape(&all, deadline_in(1)).await);
        assert!(first.contains("node_scrape_collector_success{collector=\"b_fixed\"} 0\n"));
        // The next scrape joins that queued run, which must still start.
        let second = text(&scraper.scrape(&all, deadline_in(1000)).await);
        hanging.release();
        assert!(second.contains("node_scrape_collector_success{collector=\"a_hanging\"} 0\n"));
        assert!(second.contains("node_scrape_collector_success{collector=\"b_fixed\"} 1\n"));
    }

    #[test]
    fn selection_follows_node_exporter() {
        let scraper = Scraper::from_collectors(
            no_host(),
            vec![
                ("loadavg", Arc::new(Fixed(1.0)) as Arc<dyn Collector>),
                ("zz", Arc::new(Fixed(2.0))),
            ],
            Duration::from_secs(1),
            false,
        );
        let names = |v: Vec<usize>| {
            v.into_iter()
                .map(|i| scraper.slots[i].name)
                .collect::<Vec<_>>()
        };
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(names(scraper.select(&s(&["zz"]), &[]).unwrap()), vec!["zz"]);
        assert_eq!(
            names(scraper.select(&[], &s(&["zz", "unknown"])).unwrap()),
            vec!["loadavg"]
        );
        assert_eq!(
            scraper.select(&s(&["nosuch"]), &[]).unwrap_err().0,
            "missing collector: nosuch"
        );
        assert!(scraper.select(&s(&["zz"]), &s(&["loadavg"])).is_err());
    }
}
