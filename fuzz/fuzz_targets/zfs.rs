//! The parsers of ZFS kstat files (rows, named values, pool io, pool state): no input may make them panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| {
    use hostwatch::collectors::zfs;
    (
        zfs::parse_kstat_rows(text).map(|rows| rows.len()),
        zfs::parse_named_values(text).map(|values| values.len()),
        zfs::parse_pool_io(text).map(|values| values.len()),
        zfs::parse_pool_state(text),
    )
});
