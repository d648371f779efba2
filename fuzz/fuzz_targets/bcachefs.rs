//! The parsers of bcachefs sysfs files (sizes, counters, compression, errors, btree writes, io_done, io_errors): no input may make them panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| {
    use hostwatch::collectors::bcachefs;
    (
        bcachefs::parse_size(text),
        bcachefs::parse_counter(text),
        bcachefs::parse_compression_stats(text),
        bcachefs::parse_errors(text),
        bcachefs::parse_btree_write_stats(text),
        bcachefs::parse_io_done(text),
        bcachefs::parse_io_errors(text),
    )
});
