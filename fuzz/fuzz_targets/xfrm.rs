//! The parser of /proc/net/xfrm_stat: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::xfrm::XfrmStat::parse(text));
