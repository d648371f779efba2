//! The parser of /proc/sys/fs/file-nr: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::filefd::FileNr::parse(text));
