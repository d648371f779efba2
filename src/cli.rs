//! Command-line flags, with node_exporter's names, defaults and kingpin
//! conventions: `--flag=value` or `--flag value`, booleans as `--flag`,
//! `--no-flag` or `--flag=false`, and the last occurrence wins.
//!
//! Collector toggles (`--collector.<name>` / `--no-collector.<name>`) are
//! generated from the registry, so every collector gets one, and each
//! collector adds its own flags (see [`crate::collectors::CollectorSpec`]).
//!
//! May import: everything but the HTTP layer (save the flags of its
//! Kubernetes access control); only the binary imports this.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::ValueRange;
use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches, Parser};

use crate::collectors::registry::{self as collectors, IgnoredFlagKind};
use crate::logging::{LogFormat, LogLevel};

/// The flags hostwatch takes.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "hostwatch",
    version = crate::process::version::VERSION_LINE,
    about = "A Linux node metrics agent serving node_exporter-compatible Prometheus metrics.",
    args_override_self = true,
    max_term_width = 100
)]
pub struct Cli {
    /// procfs mountpoint.
    #[arg(long = "path.procfs", value_name = "PATH", default_value = "/proc")]
    pub procfs: PathBuf,

    /// sysfs mountpoint.
    #[arg(long = "path.sysfs", value_name = "PATH", default_value = "/sys")]
    pub sysfs: PathBuf,

    /// rootfs mountpoint.
    #[arg(long = "path.rootfs", value_name = "PATH", default_value = "/")]
    pub rootfs: PathBuf,

    /// udev data path.
    #[arg(
        long = "path.udev.data",
        value_name = "PATH",
        default_value = "/run/udev/data"
    )]
    pub udev_data: PathBuf,

    /// Addresses on which to expose metrics and web interface. Repeatable to add multiple addresses.
    #[arg(long = "web.listen-address", value_name = "ADDR", default_value = ":9100", action = ArgAction::Append)]
    pub listen_addresses: Vec<String>,

    /// Path under which to expose metrics.
    #[arg(long = "web.telemetry-path", value_name = "PATH", default_value = "/metrics", value_parser = parse_telemetry_path)]
    pub telemetry_path: String,

    /// Maximum number of parallel scrape requests. Use 0 to disable.
    #[arg(long = "web.max-requests", value_name = "N", default_value_t = 40)]
    pub max_requests: usize,

    /// Path to a configuration file that can enable TLS, basic authentication, response headers and rate limiting (exporter-toolkit's web configuration format).
    #[arg(long = "web.config.file", value_name = "PATH", value_parser = parse_optional_path)]
    pub web_config_file: Option<PathBuf>,

    /// Use systemd socket activation listeners instead of port listeners (Linux only).
    #[arg(long = "web.systemd-socket")]
    pub systemd_socket: bool,

    #[command(flatten)]
    pub kubernetes_auth: crate::http::kubernetes_auth::Flags,

    /// Exclude metrics about the exporter itself (process_*).
    #[arg(long = "web.disable-exporter-metrics")]
    pub disable_exporter_metrics: bool,

    /// Answer in OpenMetrics when the Accept header prefers it. node_exporter does not; it changes some stored series (see the migration guide).
    #[arg(long = "web.enable-openmetrics")]
    pub enable_openmetrics: bool,

    /// Set all collectors to disabled by default.
    #[arg(long = "collector.disable-defaults")]
    pub disable_defaults: bool,

    /// Deadline for each collector in a scrape that carries no
    /// X-Prometheus-Scrape-Timeout-Seconds header (Go duration, e.g. 10s).
    #[arg(long = "scrape.timeout", value_name = "DURATION", default_value = "10s", value_parser = crate::parse::duration)]
    pub scrape_timeout: Duration,

    /// Only log messages with the given severity or above.
    #[arg(long = "log.level", value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    /// Output format of log messages.
    #[arg(long = "log.format", value_enum, default_value_t = LogFormat::Logfmt)]
    pub log_format: LogFormat,

    /// Accepted for compatibility with node_exporter; has no effect.
    #[arg(long = "runtime.gomaxprocs", value_name = "N", hide = true)]
    pub gomaxprocs: Option<String>,

    /// kingpin's long help: the same as --help.
    #[arg(long = "help-long", hide = true)]
    pub help_long: bool,

    /// kingpin's man page: hostwatch prints --help instead.
    #[arg(long = "help-man", hide = true)]
    pub help_man: bool,
}

/// The parsed command line: the flags, the collectors it enables, and the
/// warnings about flags accepted only for compatibility.
#[derive(Debug, Clone)]
pub struct Options {
    /// The agent's own flags.
    pub cli: Cli,
    /// Everything parsed, collectors' flags included, which each collector
    /// reads back when it is built.
    pub matches: ArgMatches,
    /// Names of the enabled collectors, in registry (name) order.
    pub enabled_collectors: Vec<&'static str>,
    /// One message per flag that was accepted but does nothing.
    pub warnings: Vec<String>,
}

#[cfg(test)]
impl Options {
    /// A collector's flags (its `Flags` type), as its build reads them.
    pub fn collector_flags<F: FromArgMatches>(&self) -> F {
        F::from_arg_matches(&self.matches).expect("the collector's flags are in the command")
    }
}

/// The full command: the agent's flags, each collector's flags and toggle,
/// and the accepted-but-ignored flags of collectors hostwatch lacks.
pub fn command() -> Command {
    let mut cmd = Cli::command();
    let about = cmd.get_about().cloned().unwrap_or_default();
    for add_flags in collectors::ALL.iter().filter_map(|spec| spec.flags) {
        cmd = add_flags(cmd);
    }
    // Each collector's `Flags` documentation would become the program's.
    cmd = cmd.about(about).long_about(None);
    for spec in collectors::ALL {
        let default = if spec.default_enabled {
            "enabled"
        } else {
            "disabled"
        };
        cmd = cmd.arg(bool_arg(
            format!("collector.{}", spec.name),
            format!("Enable the {} collector (default: {default}).", spec.name),
        ));
    }
    for name in collectors::NOT_IMPLEMENTED {
        cmd = cmd.arg(bool_arg(format!("collector.{name}"), String::new()).hide(true));
    }
    for &(flag, kind) in collectors::IGNORED_FLAGS {
        let arg = match kind {
            IgnoredFlagKind::Bool => bool_arg(flag.to_string(), String::new()),
            IgnoredFlagKind::Value => Arg::new(flag).long(flag).action(ArgAction::Append),
        };
        cmd = cmd.arg(arg.hide(true));
    }
    cmd.mut_args(|arg| {
        // A `bool` field's flag, which clap makes a switch: false unless
        // given a default.
        let arg = match arg.get_action() {
            ArgAction::SetTrue if arg.get_default_values().is_empty() => {
                kingpin_bool(arg.default_value("false"))
            }
            ArgAction::SetTrue => kingpin_bool(arg),
            _ => arg,
        };
        // One spelling for every boolean's optional value in --help.
        if is_bool(&arg) {
            arg.value_name("BOOL")
        } else {
            arg
        }
    })
}

/// Gives a boolean flag kingpin's forms: `--flag`, `--flag=true|false`,
/// and `--no-flag` (see [`rewrite_negations`]).
fn kingpin_bool(arg: Arg) -> Arg {
    arg.num_args(0..=1)
        .require_equals(true)
        .default_missing_value("true")
        .value_parser(clap::value_parser!(bool))
        .action(ArgAction::Set)
}

/// Booleans are the only flags whose value is optional.
fn is_bool(arg: &Arg) -> bool {
    arg.get_num_args() == Some(ValueRange::new(0..=1))
}

/// A kingpin boolean without a default: a collector's toggle, whose
/// default is the collector's own.
fn bool_arg(name: String, help: String) -> Arg {
    kingpin_bool(Arg::new(name.clone()).long(name).help(help))
}

/// Parses the command line (including the program name in `args[0]`).
pub fn parse<I, T>(args: I) -> Result<Options, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let mut cmd = command();
    let args = rewrite_negations(&mut cmd, args.into_iter().map(Into::into).collect())?;
    let matches = cmd.try_get_matches_from_mut(args)?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))?;
    // An empty path is kingpin's default: no web configuration.
    if cli
        .web_config_file
        .as_ref()
        .is_some_and(|path| path.as_os_str().is_empty())
    {
        cli.web_config_file = None;
    }

    let enabled_collectors = collectors::ALL
        .iter()
        .filter(|spec| {
            toggle(&matches, spec.name).unwrap_or(spec.default_enabled && !cli.disable_defaults)
        })
        .map(|spec| spec.name)
        .collect();

    let mut warnings = Vec::new();
    for name in collectors::NOT_IMPLEMENTED {
        if toggle(&matches, name) == Some(true) {
            warnings.push(format!(
                "--collector.{name}: node_exporter's {name} collector is not implemented in hostwatch; ignored"
            ));
        }
    }
    for &(flag, _) in collectors::IGNORED_FLAGS {
        if matches.value_source(flag) == Some(clap::parser::ValueSource::CommandLine) {
            warnings.push(format!(
                "--{flag}: belongs to a collector hostwatch does not implement; ignored"
            ));
        }
    }
    if cli.gomaxprocs.is_some() {
        warnings.push("--runtime.gomaxprocs: has no meaning for hostwatch; ignored".to_string());
    }
    Ok(Options {
        cli,
        matches,
        enabled_collectors,
        warnings,
    })
}

fn toggle(matches: &ArgMatches, name: &str) -> Option<bool> {
    matches
        .get_one::<bool>(&format!("collector.{name}"))
        .copied()
}

/// Turns kingpin's `--no-<flag>` into `--<flag>=false` for every boolean
/// flag, so that clap's last-occurrence-wins applies across both spellings.
/// A `--no-` form of anything else is refused here, where the hint can keep
/// the `no-` that clap's own suggestion would drop.
fn rewrite_negations(cmd: &mut Command, args: Vec<OsString>) -> Result<Vec<OsString>, clap::Error> {
    let bool_flags: Vec<String> = cmd
        .get_arguments()
        .filter(|arg| is_bool(arg))
        .filter_map(|arg| arg.get_long().map(str::to_string))
        .collect();
    let mut rewritten = Vec::with_capacity(args.len());
    let mut after_separator = false;
    for (i, arg) in args.into_iter().enumerate() {
        if i == 0 || after_separator {
            rewritten.push(arg);
            continue;
        }
        if arg == "--" {
            after_separator = true;
            rewritten.push(arg);
            continue;
        }
        match arg.to_str().and_then(|a| a.strip_prefix("--no-")) {
            Some(name) if bool_flags.iter().any(|flag| flag == name) => {
                rewritten.push(format!("--{name}=false").into());
            }
            Some(name) => return Err(unknown_negation(cmd, name, &bool_flags)),
            None => rewritten.push(arg),
        }
    }
    Ok(rewritten)
}

/// The error for `--no-<name>` where `<name>` is no boolean flag, with the
/// closest boolean's `--no-` form as the hint.
fn unknown_negation(cmd: &mut Command, name: &str, bool_flags: &[String]) -> clap::Error {
    let name = name.split_once('=').map_or(name, |(name, _)| name);
    let takes_value = cmd
        .get_arguments()
        .any(|arg| arg.get_long() == Some(name) && !is_bool(arg));
    let message = if takes_value {
        format!("--{name} takes a value and has no '--no-{name}' form")
    } else {
        let closest = bool_flags
            .iter()
            .map(|flag| (edit_distance(name, flag), flag))
            .filter(|&(distance, flag)| distance <= (flag.len() / 4).max(2))
            .min();
        match closest {
            Some((_, flag)) => format!(
                "unexpected argument '--no-{name}' found\n\n  tip: a similar argument exists: '--no-{flag}'"
            ),
            None => format!("unexpected argument '--no-{name}' found"),
        }
    };
    cmd.error(clap::error::ErrorKind::UnknownArgument, message)
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// The help text as kingpin shows it: each boolean flag as `--[no-]flag`,
/// a form clap cannot render itself (it shows `--flag[=<BOOL>]`).
pub fn render_help() -> String {
    const CLAP_FORM: &str = "[=<BOOL>]";
    let help = command().render_long_help().to_string();
    let mut out = String::with_capacity(help.len());
    for line in help.lines() {
        let rewritten = match (line.find("--"), line.find(CLAP_FORM)) {
            (Some(start), Some(end)) if start < end && !line[start..end].contains(' ') => {
                // The same width, so that help on the same line stays aligned.
                let padding = " ".repeat(CLAP_FORM.len() - "[no-]".len());
                format!(
                    "{}--[no-]{}{padding}{}",
                    &line[..start],
                    &line[start + 2..end],
                    &line[end + CLAP_FORM.len()..]
                )
            }
            _ => line.to_string(),
        };
        out.push_str(rewritten.trim_end());
        out.push('\n');
    }
    out
}

/// A path that may be empty (clap's own parser refuses an empty one).
fn parse_optional_path(text: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(text))
}

fn parse_telemetry_path(text: &str) -> Result<String, String> {
    if text.starts_with('/') {
        Ok(text.to_string())
    } else {
        Err(format!("{text:?} must start with '/'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(args: &[&str]) -> Options {
        let mut full = vec!["hostwatch"];
        full.extend_from_slice(args);
        parse(full).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    #[test]
    fn command_is_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn collectors_flags_keep_the_programs_about() {
        let help = command().render_help().to_string();
        assert!(help.starts_with("A Linux node metrics agent"), "{help}");
    }

    #[test]
    fn defaults_match_node_exporter() {
        let o = parse_ok(&[]);
        assert_eq!(o.cli.procfs, PathBuf::from("/proc"));
        assert_eq!(o.cli.sysfs, PathBuf::from("/sys"));
        assert_eq!(o.cli.rootfs, PathBuf::from("/"));
        assert_eq!(o.cli.udev_data, PathBuf::from("/run/udev/data"));
        assert_eq!(o.cli.listen_addresses, vec![":9100"]);
        assert_eq!(o.cli.telemetry_path, "/metrics");
        assert_eq!(o.cli.max_requests, 40);
        assert!(!o.cli.disable_exporter_metrics);
        assert_eq!(o.cli.log_level, LogLevel::Info);
        assert_eq!(o.cli.log_format, LogFormat::Logfmt);
        for spec in collectors::ALL {
            assert_eq!(
                o.enabled_collectors.contains(&spec.name),
                spec.default_enabled,
                "{}",
                spec.name
            );
        }
    }

    #[test]
    fn collector_toggles_last_one_wins() {
        assert!(!parse_ok(&["--no-collector.loadavg"])
            .enabled_collectors
            .contains(&"loadavg"));
        assert!(parse_ok(&["--no-collector.loadavg", "--collector.loadavg"])
            .enabled_collectors
            .contains(&"loadavg"));
        assert!(
            !parse_ok(&["--collector.loadavg", "--collector.loadavg=false"])
                .enabled_collectors
                .contains(&"loadavg")
        );
    }

    #[test]
    fn disable_defaults_keeps_explicit_enables() {
        let o = parse_ok(&["--collector.disable-defaults", "--collector.loadavg"]);
        assert_eq!(o.enabled_collectors, vec!["loadavg"]);
        assert!(parse_ok(&["--collector.disable-defaults"])
            .enabled_collectors
            .is_empty());
    }

    #[test]
    fn repeated_listen_addresses_and_space_separated_values() {
        let o = parse_ok(&[
            "--web.listen-address=127.0.0.1:9100",
            "--web.listen-address",
            "[::1]:9101",
        ]);
        assert_eq!(o.cli.listen_addresses, vec!["127.0.0.1:9100", "[::1]:9101"]);
    }

    #[test]
    fn node_exporter_daemonset_args_are_accepted() {
        // kube-prometheus and the prometheus-node-exporter chart pass these.
        let o = parse_ok(&[
            "--web.listen-address=127.0.0.1:9100",
            "--path.procfs=/host/proc",
            "--path.sysfs=/host/sys",
            "--path.rootfs=/host/root",
            "--path.udev.data=/host/root/run/udev/data",
            "--no-collector.wifi",
            "--no-collector.hwmon",
            "--no-collector.btrfs",
            "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run/k3s/containerd/.+|var/lib/docker/.+|var/lib/kubelet/pods/.+)($|/)",
            "--collector.netclass.ignored-devices=^(veth.*|[a-f0-9]{15})$",
            "--collector.netdev.device-exclude=^(veth.*|[a-f0-9]{15})$",
        ]);
        assert_eq!(o.cli.procfs, PathBuf::from("/host/proc"));
        // Only flags of collectors not implemented yet warn.
        let ignored = ["filesystem", "netclass", "netdev"]
            .iter()
            .filter(|name| collectors::NOT_IMPLEMENTED.contains(name))
            .count();
        assert_eq!(o.warnings.len(), ignored, "{:?}", o.warnings);
    }

    #[test]
    fn enabling_an_unimplemented_collector_warns() {
        let o = parse_ok(&["--collector.perf"]);
        assert_eq!(o.warnings.len(), 1);
        assert!(o.warnings[0].contains("perf"));
    }

    #[test]
    fn an_empty_web_config_file_means_none() {
        assert_eq!(parse_ok(&["--web.config.file="]).cli.web_config_file, None);
        assert_eq!(
            parse_ok(&["--web.config.file=/etc/web.yml"])
                .cli
                .web_config_file,
            Some(PathBuf::from("/etc/web.yml"))
        );
    }

    #[test]
    fn a_mistyped_negation_is_hinted_with_its_no() {
        let err = parse(["hostwatch", "--no-collector.loadavgg"])
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("'--no-collector.loadavg'"), "{err}");
        let err = parse(["hostwatch", "--no-web.max-requests"])
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("takes a value"), "{err}");
        let err = parse(["hostwatch", "--no-zzzzzzzz"])
            .expect_err("must fail")
            .to_string();
        assert!(!err.contains("tip:"), "{err}");
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("loadavg", "loadavgg"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
    }

    #[test]
    fn help_renders_booleans_as_kingpin_does() {
        let help = render_help();
        assert!(
            help.lines().any(|l| l.trim() == "--[no-]collector.loadavg"),
            "{help}"
        );
        assert!(!help.contains("[=<BOOL>]"), "{help}");
        assert!(help.lines().all(|l| l == l.trim_end()), "{help}");
    }

    #[test]
    fn bad_input_names_the_flag() {
        for (args, needle) in [
            (vec!["--collector.nosuch"], "collector.nosuch"),
            (vec!["--no-collector.nosuch"], "no-collector.nosuch"),
            (vec!["--web.max-requests=lots"], "web.max-requests"),
            (vec!["--log.level=loud"], "log.level"),
            (vec!["--web.telemetry-path=metrics"], "web.telemetry-path"),
            (vec!["--scrape.timeout=soon"], "scrape.timeout"),
            (vec!["--collector.loadavg=maybe"], "collector.loadavg"),
        ] {
            let mut full = vec!["hostwatch"];
            full.extend(args.iter());
            let err = parse(full).expect_err("must fail").to_string();
            assert!(err.contains(needle), "{err}");
        }
    }
}
