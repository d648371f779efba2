//! The parsers of SELinux config, enforce and AVC statistics files: no input may make them panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| {
    use hostwatch::collectors::selinux;
    (
        selinux::parse_config_mode(text),
        selinux::parse_current_mode(text),
        selinux::AvcCacheStats::parse(text),
        selinux::AvcHashStats::parse(text),
    )
});
