//! The parser of /proc/net/arp, line by line: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| {
    let mut counts = hostwatch::collectors::arp::ArpCounts::default();
    text.lines()
        .filter_map(|line| counts.add_line(line).err())
        .count()
});
