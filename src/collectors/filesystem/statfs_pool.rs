//! A bounded pool of long-lived threads that run `statfs(2)`, so that a hung
//! mount (a dead NFS server, a stuck FUSE daemon) costs one blocked thread,
//! once, and never delays a scrape beyond the mount timeout.
//!
//! # A batch
//! [`StatfsPool::stat_all`] stats the mount points of one scrape. A path whose
//! stat from an earlier batch is still running is not queued again: it is
//! reported [`StatOutcome::Stuck`] at once, with no new stat and no new
//! thread. The other paths are queued for the workers, and the call waits
//! for their results until `timeout` after it began or the scrape's
//! deadline, whichever comes first (the scrape's deadline is read again
//! while waiting, as a scrape joining the run may bring it forward). At
//! that point:
//! - a stat still running is reported [`StatOutcome::TimedOut`]; its path
//!   stays in flight, so later batches report it `Stuck` until that very
//!   stat returns, after which the next batch stats it again normally;
//! - a path no worker has started (every worker was blocked) is withdrawn
//!   and reported [`StatOutcome::NotStarted`]; the next batch tries it again.
//!
//! # Threads
//! `workers` threads are started on first use and live as long as the pool,
//! so repeated scrapes create no threads (and statfs opens no descriptors).
//! A thread blocked past its batch's deadline is *lost*: the next batch
//! starts a replacement first, so that `workers` threads are free for the
//! healthy mounts, as long as the total stays within `workers` +
//! [`SPARE_THREADS`]. When a lost stat returns, its thread rejoins the pool,
//! or ends if the pool is over strength. The thread count therefore grows by
//! one per distinct hung mount, never per scrape, and is bounded. Once every
//! thread is lost and the bound is reached, a batch reports its paths
//! `NotStarted` at once instead of waiting for workers that cannot come.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::statfs::FsUsage;
use crate::collectors::RunDeadline;
use crate::unpoisoned::lock;

/// How many threads blocked on hung mounts the pool tolerates beyond its
/// workers, before it stops replacing them.
pub const SPARE_THREADS: usize = 32;

/// The longest timeout honoured; a larger one is cut to this.
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a batch's queue may go without a worker taking a job before
/// another worker is woken: far longer than a healthy statfs.
const STALL: Duration = Duration::from_millis(10);

/// A worker only calls `statfs`, which needs little stack.
const WORKER_STACK_BYTES: usize = 256 * 1024;

/// The stat function the workers call: [`super::statfs::statfs`], or a
/// stand-in in tests.
pub type StatFn = dyn Fn(&Path) -> io::Result<FsUsage> + Send + Sync;

/// How the stat of one path fared in one batch.
#[derive(Debug)]
pub enum StatOutcome {
    /// The stat returned, successfully or not, before the deadline.
    Done(io::Result<FsUsage>),
    /// The stat was still running at the deadline; the path is now stuck.
    TimedOut,
    /// A stat from an earlier batch has not returned yet; not statted again.
    Stuck,
    /// No worker was free to start the stat before the deadline.
    NotStarted,
}

/// The pool: see the module documentation.
pub struct StatfsPool {
    shared: Arc<Shared>,
    workers: usize,
    max_threads: usize,
    timeout: Duration,
    /// Serialises batches, so that one batch's deadline accounting never
    /// meets another's.
    batch_turn: Mutex<()>,
}

struct Shared {
    state: Mutex<State>,
    work_ready: Condvar,
    result_ready: Condvar,
    stat: Arc<StatFn>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Stats under way, by path; from earlier batches only lost ones.
    running: HashMap<PathBuf, Running>,
    /// The current batch's number, its results, and how many are awaited.
    batch: u64,
    results: Vec<Option<io::Result<FsUsage>>>,
    awaited: usize,
    /// Live worker threads, and how many of them are blocked past a deadline.
    threads: usize,
    lost: usize,
    shutdown: bool,
}

struct Job {
    batch: u64,
    index: usize,
    path: PathBuf,
}

struct Running {
    batch: u64,
    lost: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl StatfsPool {
    /// A pool of `workers` threads (at least one) whose stats get `timeout`
    /// per batch. No thread starts before the first batch.
    pub fn new(workers: usize, timeout: Duration, stat: Arc<StatFn>) -> StatfsPool {
        StatfsPool::with_spare(workers, SPARE_THREADS, timeout, stat)
    }

    fn with_spare(workers: usize, spare: usize, timeout: Duration, stat: Arc<StatFn>) -> Self {
        let workers = workers.max(1);
        StatfsPool {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                work_ready: Condvar::new(),
                result_ready: Condvar::new(),
                stat,
            }),
            workers,
            max_threads: workers + spare,
            timeout: timeout.min(MAX_TIMEOUT),
            batch_turn: Mutex::new(()),
        }
    }

    /// Stats each distinct path once, waiting at most the timeout and never
    /// past `scrape_deadline`, and says how each fared.
    pub fn stat_all(
        &self,
        paths: &[PathBuf],
        scrape_deadline: &RunDeadline,
    ) -> HashMap<PathBuf, StatOutcome> {
        let _turn = lock(&self.batch_turn);
        let started = Instant::now();
        let timeout_at = started + self.timeout;
        let mut seen = HashSet::new();
        let paths: Vec<&PathBuf> = paths.iter().filter(|p| seen.insert(*p)).collect();
        let mut outcomes = HashMap::with_capacity(paths.len());

        let mut state = self.shared.lock();
        self.start_missing_workers(&mut state);
        state.batch += 1;
        let batch = state.batch;
        state.results = paths.iter().map(|_| None).collect();
        state.awaited = 0;
        let free_workers = state.threads.saturating_sub(state.lost);
        for (index, path) in paths.iter().enumerate() {
            if state.running.contains_key(*path) {
                outcomes.insert((*path).clone(), StatOutcome::Stuck);
            } else if free_workers == 0 {
                outcomes.insert((*path).clone(), StatOutcome::NotStarted);
            } else {
                state.queue.push_back(Job {
                    batch,
                    index,
                    path: (*path).clone(),
                });
                state.awaited += 1;
            }
        }
        // One worker takes the queue: a healthy statfs takes microseconds,
        // less than waking a thread. Another joins whenever the queue has
        // not moved for STALL, so a hung mount holds up only its own worker.
        self.shared.work_ready.notify_one();
        let mut queued = state.queue.len();
        while state.awaited > 0 {
            let now = Instant::now();
            let deadline = timeout_at.min(scrape_deadline.instant());
            if now >= deadline {
                break;
            }
            state = self
                .shared
                .result_ready
                .wait_timeout(state, (deadline - now).min(STALL))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if !state.queue.is_empty() && state.queue.len() == queued {
                self.shared.work_ready.notify_one();
            }
            queued = state.queue.len();
        }

        for job in state.queue.drain(..) {
            outcomes.insert(job.path, StatOutcome::NotStarted);
        }
        let waited = started.elapsed();
        let State { running, lost, .. } = &mut *state;
        for (path, stat) in running.iter_mut() {
            if stat.batch == batch && !stat.lost {
                stat.lost = true;
                *lost += 1;
                tracing::warn!(
                    path = %path.display(),
                    waited = ?waited,
                    "statfs did not return in time: mount point marked stuck until it does"
                );
                outcomes.insert(path.clone(), StatOutcome::TimedOut);
            }
        }
        for (index, result) in std::mem::take(&mut state.results).into_iter().enumerate() {
            if let Some(result) = result {
                outcomes.insert(paths[index].clone(), StatOutcome::Done(result));
            }
        }
        outcomes
    }

    /// Live worker threads, including those blocked on hung mounts.
    pub fn thread_count(&self) -> usize {
        self.shared.lock().threads
    }

    /// Paths whose stat outlived its batch and has not returned yet.
    pub fn stuck_paths(&self) -> Vec<PathBuf> {
        let state = self.shared.lock();
        let mut paths: Vec<PathBuf> = state
            .running
            .iter()
            .filter(|(_, stat)| stat.lost)
            .map(|(path, _)| path.clone())
            .collect();
        paths.sort();
        paths
    }

    /// Tops the free workers up to `workers`, within `max_threads`.
    fn start_missing_workers(&self, state: &mut State) {
        while state.threads.saturating_sub(state.lost) < self.workers
            && state.threads < self.max_threads
        {
            let shared = Arc::clone(&self.shared);
            let workers = self.workers;
            let spawned = thread::Builder::new()
                .name("statfs".to_string())
                .stack_size(WORKER_STACK_BYTES)
                .spawn(move || work(&shared, workers));
            match spawned {
                Ok(_) => state.threads += 1,
                Err(e) => {
                    tracing::warn!(err = %e, "cannot start a statfs worker thread");
                    break;
                }
            }
        }
    }
}

impl Drop for StatfsPool {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.work_ready.notify_all();
    }
}

/// A worker's life: take a job, stat without the lock, deliver the result
/// if its batch still waits; end on shutdown or when over strength.
fn work(shared: &Shared, workers: usize) {
    let mut state = shared.lock();
    loop {
        if state.shutdown || state.threads - state.lost > workers {
            state.threads -= 1;
            return;
        }
        let Some(job) = state.queue.pop_front() else {
            state = shared
                .work_ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            continue;
        };
        state.running.insert(
            job.path.clone(),
            Running {
                batch: job.batch,
                lost: false,
            },
        );
        drop(state);
        let result = catch_unwind(AssertUnwindSafe(|| (shared.stat)(&job.path)))
            .unwrap_or_else(|_| Err(io::Error::other("statfs panicked")));
        state = shared.lock();
        let lost = state.running.remove(&job.path).is_some_and(|s| s.lost);
        if lost {
            state.lost -= 1;
            tracing::info!(path = %job.path.display(), "statfs returned: mount point no longer stuck");
        } else if state.batch == job.batch {
            if let Some(slot) = state.results.get_mut(job.index) {
                *slot = Some(result);
                state.awaited -= 1;
                if state.awaited == 0 {
                    shared.result_ready.notify_all();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for statfs: paths under `/hung` block until released;
    /// every call is counted.
    #[derive(Default)]
    struct FakeFs {
        released: Mutex<HashSet<PathBuf>>,
        wake: Condvar,
        calls: Mutex<HashMap<PathBuf, usize>>,
    }

    impl FakeFs {
        fn stat(&self, path: &Path) -> io::Result<FsUsage> {
            *self
                .calls
                .lock()
                .unwrap()
                .entry(path.to_path_buf())
                .or_default() += 1;
            if path.starts_with("/hung") {
                let mut released = self.released.lock().unwrap();
                while !released.contains(path) {
                    released = self.wake.wait(released).unwrap();
                }
                return Err(io::Error::from_raw_os_error(libc::ENOTCONN));
            }
            if path.starts_with("/missing") {
                return Err(io::Error::from_raw_os_error(libc::ENOENT));
            }
            Ok(FsUsage {
                size_bytes: 100.0,
                free_bytes: 50.0,
                avail_bytes: 40.0,
                files: 10.0,
                files_free: 5.0,
            })
        }

        fn release(&self, path: &str) {
            self.released.lock().unwrap().insert(PathBuf::from(path));
            self.wake.notify_all();
        }

        fn calls(&self, path: &str) -> usize {
            self.calls
                .lock()
                .unwrap()
                .get(Path::new(path))
                .copied()
                .unwrap_or(0)
        }
    }

    /// Long enough that a healthy stand-in stat never misses it, even on a
    /// loaded machine; only batches with a hung path wait this long.
    const TIMEOUT: Duration = Duration::from_millis(1500);

    fn pool(workers: usize, spare: usize) -> (Arc<FakeFs>, StatfsPool) {
        let fs = Arc::new(FakeFs::default());
        let stat_fs = Arc::clone(&fs);
        let pool = StatfsPool::with_spare(
            workers,
            spare,
            TIMEOUT,
            Arc::new(move |p: &Path| stat_fs.stat(p)),
        );
        (fs, pool)
    }

    /// A scrape deadline far beyond the pool's timeout.
    fn no_deadline() -> RunDeadline {
        RunDeadline::after(Duration::from_secs(3600))
    }

    fn paths(list: &[&str]) -> Vec<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    /// Each path's outcome as a short word, for compact assertions.
    fn summary(outcomes: &HashMap<PathBuf, StatOutcome>, list: &[&str]) -> Vec<&'static str> {
        list.iter()
            .map(|p| match outcomes.get(Path::new(p)) {
                Some(StatOutcome::Done(Ok(_))) => "ok",
                Some(StatOutcome::Done(Err(_))) => "error",
                Some(StatOutcome::TimedOut) => "timed out",
                Some(StatOutcome::Stuck) => "stuck",
                Some(StatOutcome::NotStarted) => "not started",
                None => "missing",
            })
            .collect()
    }

    /// Waits (bounded) until `done` holds.
    fn eventually(what: &str, done: impl Fn() -> bool) {
        for _ in 0..500 {
            if done() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        panic!("timed out waiting until {what}");
    }

    #[test]
    fn healthy_paths_are_statted_once_each_and_threads_start_lazily() {
        let (fs, pool) = pool(2, 4);
        assert_eq!(pool.thread_count(), 0);
        let list = ["/a", "/b", "/missing", "/a"];
        let outcomes = pool.stat_all(&paths(&list), &no_deadline());
        assert_eq!(outcomes.len(), 3);
        assert_eq!(summary(&outcomes, &list), ["ok", "ok", "error", "ok"]);
        match &outcomes[Path::new("/a")] {
            StatOutcome::Done(Ok(usage)) => assert_eq!(usage.size_bytes, 100.0),
            other => panic!("{other:?}"),
        }
        assert_eq!(fs.calls("/a"), 1);
        assert_eq!(pool.thread_count(), 2);
        for _ in 0..10 {
            pool.stat_all(&paths(&list), &no_deadline());
        }
        assert_eq!(pool.thread_count(), 2, "threads are reused");
        assert!(pool.stat_all(&[], &no_deadline()).is_empty());
    }

    #[test]
    fn a_hung_path_times_out_then_is_skipped_until_its_stat_returns() {
        let (fs, pool) = pool(2, 4);
        let list = ["/a", "/hung/nfs", "/b"];
        let first = pool.stat_all(&paths(&list), &no_deadline());
        assert_eq!(summary(&first, &list), ["ok", "timed out", "ok"]);
        assert_eq!(pool.stuck_paths(), paths(&["/hung/nfs"]));
        let threads = pool.thread_count();
        assert_eq!(threads, 2);

        for _ in 0..5 {
            let later = pool.stat_all(&paths(&list), &no_deadline());
            assert_eq!(summary(&later, &list), ["ok", "stuck", "ok"]);
        }
        assert_eq!(fs.calls("/hung/nfs"), 1, "no new stat while stuck");
        assert_eq!(
            pool.thread_count(),
            threads + 1,
            "one replacement for the blocked worker, started once"
        );

        fs.release("/hung/nfs");
        eventually("the stuck stat has returned", || {
            pool.stuck_paths().is_empty()
        });
        let after = pool.stat_all(&paths(&list), &no_deadline());
        assert_eq!(summary(&after, &list), ["ok", "error", "ok"]);
        assert_eq!(fs.calls("/hung/nfs"), 2, "statted again once it returned");
        assert_eq!(pool.thread_count(), 2, "the surplus thread ended");
    }

    #[test]
    fn when_every_worker_hangs_the_rest_are_not_started_and_then_get_replacements() {
        let (fs, pool) = pool(2, 4);
        let list = ["/hung/1", "/hung/2", "/a"];
        let first = pool.stat_all(&paths(&list), &no_deadline());
        assert_eq!(
            summary(&first, &list),
            ["timed out", "timed out", "not started"]
        );
        assert_eq!(fs.calls("/a"), 0, "withdrawn from the queue");

        let second = pool.stat_all(&paths(&list), &no_deadline());
        assert_eq!(summary(&second, &list), ["stuck", "stuck", "ok"]);
        assert_eq!(pool.thread_count(), 4);

        fs.release("/hung/1");
        fs.release("/hung/2");
        eventually("the surplus threads have ended", || {
            pool.thread_count() == 2
        });
        assert!(pool.stuck_paths().is_empty());
    }

    #[test]
    fn spare_threads_are_bounded_and_a_pool_without_free_workers_does_not_wait() {
        let (fs, pool) = pool(1, 1);
        let first = pool.stat_all(&paths(&["/hung/1", "/a"]), &no_deadline());
        assert_eq!(
            summary(&first, &["/hung/1", "/a"]),
            ["timed out", "not started"]
        );
        let list = ["/hung/1", "/hung/2", "/a"];
        let second = pool.stat_all(&paths(&list), &no_deadline());
        assert_eq!(
            summary(&second, &list),
            ["stuck", "timed out", "not started"]
        );
        assert_eq!(pool.thread_count(), 2);

        // Both threads are blocked and no more may start: nothing is queued,
        // so the batch answers without waiting for the timeout.
        let third = pool.stat_all(&paths(&list), &no_deadline());
        assert_eq!(summary(&third, &list), ["stuck", "stuck", "not started"]);
        assert_eq!(pool.thread_count(), 2);
        assert_eq!(fs.calls("/a"), 0);

        fs.release("/hung/2");
        eventually("the second hung stat has returned", || {
            pool.stuck_paths() == paths(&["/hung/1"])
        });
        let fourth = pool.stat_all(&paths(&list), &no_deadline());
        assert_eq!(summary(&fourth, &list), ["stuck", "error", "ok"]);
        fs.release("/hung/1");
        eventually("the pool is back to one thread", || {
            pool.thread_count() == 1
        });
    }

    #[test]
    fn the_scrape_deadline_cuts_the_wait_and_a_stat_left_running_is_never_awaited_again() {
        let (fs, pool) = pool(2, 4);
        let list = ["/a", "/hung/fuse", "/b"];
        let started = Instant::now();
        let first = pool.stat_all(
            &paths(&list),
            &RunDeadline::after(Duration::from_millis(200)),
        );
        let waited = started.elapsed();
        assert_eq!(summary(&first, &list), ["ok", "timed out", "ok"]);
        assert!(
            waited < TIMEOUT,
            "waited {waited:?}: the scrape's deadline, not the mount timeout"
        );

        // The next batch has the whole mount timeout, yet does not wait: the
        // hung stat is still running and is reported stuck at once.
        let started = Instant::now();
        let second = pool.stat_all(&paths(&list), &no_deadline());
        assert!(started.elapsed() < TIMEOUT, "{:?}", started.elapsed());
        assert_eq!(summary(&second, &list), ["ok", "stuck", "ok"]);
        assert_eq!(fs.calls("/hung/fuse"), 1);
        fs.release("/hung/fuse");
    }

    #[test]
    fn a_deadline_brought_forward_while_waiting_ends_the_wait() {
        let (fs, pool) = pool(1, 1);
        let deadline = no_deadline();
        let forward = deadline.clone();
        let bring_forward = thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            forward.bring_forward(Instant::now());
        });
        let started = Instant::now();
        let list = ["/hung/1"];
        let outcomes = pool.stat_all(&paths(&list), &deadline);
        assert!(started.elapsed() < TIMEOUT, "{:?}", started.elapsed());
        assert_eq!(summary(&outcomes, &list), ["timed out"]);
        bring_forward.join().unwrap();
        fs.release("/hung/1");
    }

    #[test]
    fn a_panicking_stat_is_an_error_and_the_worker_survives() {
        let pool = StatfsPool::with_spare(
            1,
            0,
            TIMEOUT,
            Arc::new(|p: &Path| {
                if p == Path::new("/panic") {
                    panic!("bug");
                }
                Err(io::Error::from_raw_os_error(libc::EACCES))
            }),
        );
        let list = ["/panic", "/denied"];
        let outcomes = pool.stat_all(&paths(&list), &no_deadline());
        assert_eq!(summary(&outcomes, &list), ["error", "error"]);
        assert_eq!(pool.thread_count(), 1);
    }

    #[test]
    fn dropping_the_pool_ends_idle_workers() {
        let (fs, pool) = pool(3, 0);
        pool.stat_all(&paths(&["/a"]), &no_deadline());
        let shared = Arc::clone(&pool.shared);
        drop(pool);
        eventually("every worker has ended", || shared.lock().threads == 0);
        assert_eq!(fs.calls("/a"), 1);
    }
}
