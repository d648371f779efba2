//! The sanitiser of ethtool statistic names: no input may make it panic.
#![no_main]
static NAMING: std::sync::OnceLock<hostwatch::collectors::ethtool::stats::StatNaming> =
    std::sync::OnceLock::new();

hostwatch_fuzz::parser_target!(|text| {
    let naming = NAMING.get_or_init(hostwatch::collectors::ethtool::stats::StatNaming::new);
    naming.metric_name(&naming.sanitize(text))
});
