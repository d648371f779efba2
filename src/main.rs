//! The hostwatch binary: parse flags, build the collectors, bind the listen
//! addresses, serve until SIGTERM or SIGINT.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use hostwatch::cli::{self, Options};
use hostwatch::collectors::{BuildContext, ErrorKind};
use hostwatch::host::Host;
use hostwatch::http::connections::Connections;
use hostwatch::http::guard::Guard;
use hostwatch::http::kubernetes_auth::{self_signed, KubernetesAuth};
use hostwatch::http::listen::{self, ListenAddress};
use hostwatch::http::routes::{self, AppState};
use hostwatch::http::serve;
use hostwatch::http::watched_config::WatchedConfig;
use hostwatch::logging;
use hostwatch::process::{limits, selfcheck, version};
use hostwatch::scrape::Scraper;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Has glibc's malloc keep one arena for every thread. Its default of one
/// per thread that allocates (up to eight per CPU) keeps each blocking and
/// worker thread's freed memory apart, resident, for a process that rarely
/// has two threads allocating at once.
fn use_one_malloc_arena() {
    #[cfg(target_env = "gnu")]
    // SAFETY: called first thing in main, before any other thread exists;
    // mallopt only changes the allocator's tuning.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// How long in-flight requests get to finish after a shutdown signal: a
/// healthy scrape takes milliseconds, and a stopping agent should be gone
/// well within two seconds even when a request is stuck on a hung collector.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// How long the last log lines get to reach standard error at exit; a sink
/// nobody reads must not keep the agent from exiting.
const LOG_FLUSH_TIMEOUT: Duration = Duration::from_millis(500);

fn main() -> ExitCode {
    use_one_malloc_arena();
    let options = match cli::parse(std::env::args_os()) {
        Ok(options) if options.cli.help_long || options.cli.help_man => return print_help(),
        Ok(options) => options,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => return print_help(),
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayVersion => e.exit(),
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(START_UP_ERROR);
        }
    };
    logging::init(options.cli.log_level, options.cli.log_format);
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(panic = %info, "panic");
    }));
    for warning in &options.warnings {
        tracing::warn!("{warning}");
    }
    let cli = &options.cli;
    let host = Arc::new(Host::new(
        &cli.procfs,
        &cli.sysfs,
        &cli.rootfs,
        &cli.udev_data,
    ));
    selfcheck::run(&host);
    // Taken before the runtime's threads start: it changes the environment.
    let passed_sockets = if options.cli.systemd_socket {
        tracing::info!("Listening on systemd activated listeners instead of port listeners.");
        match listen::systemd_listeners() {
            Ok(sockets) => Some(sockets),
            Err(e) => {
                tracing::error!(err = %e, "--web.systemd-socket: cannot take the listeners");
                logging::flush(LOG_FLUSH_TIMEOUT);
                return ExitCode::from(START_UP_ERROR);
            }
        }
    } else {
        None
    };

    // The agent is a light, mostly idle process: collectors run on blocking
    // threads, so one worker serves HTTP for any host (one per CPU would be
    // hundreds of idle threads on big machines), and a second would cost a
    // thread stack, a malloc arena and cross-thread wake-ups for nothing.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(64)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(err = %e, "cannot start the async runtime");
            logging::flush(LOG_FLUSH_TIMEOUT);
            return ExitCode::from(START_UP_ERROR);
        }
    };
    let result = runtime.block_on(run(options, host, passed_sockets));
    // Dropping the runtime would wait for every blocking task, and a
    // collector stuck reading a wedged file never finishes: leave such
    // threads to the process exit, as requests already had their grace.
    runtime.shutdown_background();
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::from(START_UP_ERROR)
        }
    };
    logging::flush(LOG_FLUSH_TIMEOUT);
    code
}

/// The exit status of every start-up failure, bad flags included, as
/// node_exporter exits on a kingpin or configuration error.
const START_UP_ERROR: u8 = 1;

/// `--help` (and kingpin's `--help-long` and `--help-man`) on standard
/// output, as kingpin prints it.
fn print_help() -> ExitCode {
    print!("{}", cli::render_help());
    ExitCode::SUCCESS
}

async fn run(
    options: Options,
    host: Arc<Host>,
    passed_sockets: Option<Vec<std::net::TcpListener>>,
) -> Result<(), String> {
    let cli = &options.cli;
    let mut signals = ShutdownSignals::watch()?;
    limits::raise_descriptor_limit();
    let descriptor_limit = limits::descriptor_limit();
    host.keep_files_open(descriptor_limit);
    for (flag, path) in [
        ("--path.procfs", host.procfs()),
        ("--path.sysfs", host.sysfs()),
        ("--path.rootfs", host.rootfs()),
    ] {
        if !path.is_dir() {
            tracing::warn!(
                path = %path.display(),
                "{flag} is not a directory: collectors reading it will fail"
            );
        }
    }

    // Checked before anything is built, so that a typo fails fast.
    let addresses = if passed_sockets.is_some() {
        Vec::new()
    } else {
        cli.listen_addresses
            .iter()
            .map(|a| {
                ListenAddress::parse(a).map_err(|e| format!("invalid --web.listen-address {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?
    };

    let kubernetes_auth =
        KubernetesAuth::from_flags(&cli.kubernetes_auth, &cli.telemetry_path)?.map(Arc::new);
    let generated_tls = match &kubernetes_auth {
        Some(_) => Some(self_signed::generate(&self_signed::local_names())?),
        None => None,
    };
    let web_config = Arc::new(WatchedConfig::load_with_fallback_tls(
        cli.web_config_file.as_deref(),
        generated_tls.as_ref().map(|g| g.settings.clone()),
    )?);
    if kubernetes_auth.is_some() && !web_config.current().config.basic_auth_users.is_empty() {
        return Err(
            "--web.auth.kubernetes and basic_auth_users in --web.config.file both use \
                    the Authorization header: configure one of them"
                .to_string(),
        );
    }
    let connections = Connections::for_fd_limit(descriptor_limit);

    let ctx = BuildContext::new(
        Arc::clone(&host),
        &options.matches,
        &options.enabled_collectors,
    );
    let scraper = Arc::new(Scraper::new(
        &ctx,
        cli.scrape_timeout,
        !cli.disable_exporter_metrics,
    )?);

    let mut listeners = Vec::new();
    for socket in passed_sockets.into_iter().flatten() {
        let listener = TcpListener::from_std(socket)
            .map_err(|e| format!("--web.systemd-socket: cannot use a passed socket: {e}"))?;
        listeners.push(listener);
    }
    for (text, address) in cli.listen_addresses.iter().zip(&addresses) {
        let listener = address
            .bind()
            .await
            .map_err(|e| format!("cannot listen on --web.listen-address {text:?}: {e}"))?;
        listeners.push(listener);
    }

    // The bound addresses, so that `:0` shows the port the kernel chose.
    let bound: Vec<String> = listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .map(|a| a.to_string())
        .collect();
    tracing::info!(
        version = version::VERSION_LINE,
        listen = %bound.join(","),
        procfs = %host.procfs().display(),
        sysfs = %host.sysfs().display(),
        rootfs = %host.rootfs().display(),
        udev = %host.udev_data().display(),
        collectors = %options.enabled_collectors.join(","),
        "Starting hostwatch"
    );

    tokio::spawn(log_collector_survey(
        Arc::clone(&scraper),
        cli.scrape_timeout,
    ));
    let state = Arc::new(
        AppState::new(scraper, cli.max_requests, &cli.telemetry_path)
            .with_openmetrics(cli.enable_openmetrics),
    );
    let applied = web_config.current();
    tracing::info!(
        tls = applied.tls.is_some(),
        http2 = applied.tls.is_some() && applied.config.http2,
        basic_auth = !applied.config.basic_auth_users.is_empty(),
        max_connections = connections.limit(),
        "web configuration"
    );
    // exporter-toolkit's lines, which log tooling written for node_exporter
    // looks for.
    for address in &bound {
        tracing::info!(address = %address, "Listening on");
        match &applied.tls {
            Some(_) => {
                tracing::info!(http2 = applied.config.http2, address = %address, "TLS is enabled.")
            }
            None => tracing::info!(http2 = false, address = %address, "TLS is disabled."),
        }
    }
    let mut app = routes::router(state);
    if let Some(auth) = kubernetes_auth {
        tracing::info!(
            api_server = %auth.api_server_url(),
            "Kubernetes access control: bearer tokens reviewed by the API server"
        );
        if let Some(generated) = generated_tls.filter(|_| applied.config.tls.is_none()) {
            tracing::info!(
                generated_certificate_sha256 = %generated.fingerprint,
                "serving TLS with a certificate generated at start-up"
            );
        }
        app = KubernetesAuth::protect(app, auth);
    }
    let guard_config = Arc::clone(&web_config);
    let app = Guard::protect(
        app,
        Arc::new(move || Arc::clone(&guard_config.current().guard)),
    );
    let (stop_sender, stop) = watch::channel(false);
    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        servers.spawn(serve::serve(
            listener,
            app.clone(),
            Arc::clone(&web_config),
            Arc::clone(&connections),
            stop.clone(),
        ));
    }

    let signal = signals.recv().await;
    tracing::info!(signal, "shutting down: finishing in-flight requests");
    let _ = stop_sender.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while servers.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("requests still running after the grace period; exiting anyway");
    }
    Ok(())
}

/// Runs every enabled collector once and logs one line naming those that
/// fail on this host, with why: a warning if any fails for another reason
/// than the host lacking what it reads, else at info. Without it, such
/// failures show only at debug or at the first scrape.
async fn log_collector_survey(scraper: Arc<Scraper>, timeout: Duration) {
    let failing = scraper.survey(tokio::time::Instant::now() + timeout).await;
    let enabled = scraper.enabled().len();
    if failing.is_empty() {
        tracing::info!(enabled, "every enabled collector works on this host");
        return;
    }
    let list = failing
        .iter()
        .map(|(name, why, _)| format!("{name}: {why}"))
        .collect::<Vec<_>>()
        .join("; ");
    let message = format!(
        "{} of {enabled} enabled collectors fail on this host",
        failing.len()
    );
    if failing
        .iter()
        .any(|(_, _, kind)| *kind == ErrorKind::Failed)
    {
        tracing::warn!(failing = %list, "{message}");
    } else {
        tracing::info!(failing = %list, "{message}");
    }
}

/// SIGTERM and SIGINT, watched from before the first connection is
/// accepted: a signal arriving earlier would otherwise kill the process with
/// the default action instead of a clean exit.
struct ShutdownSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn watch() -> Result<ShutdownSignals, String> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(ShutdownSignals {
            term: signal(SignalKind::terminate())
                .map_err(|e| format!("cannot watch SIGTERM: {e}"))?,
            int: signal(SignalKind::interrupt())
                .map_err(|e| format!("cannot watch SIGINT: {e}"))?,
        })
    }

    /// Waits for either signal and names the one that came.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
