//! The parser of pressure files (/proc/pressure/*, cgroup *.pressure): no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::kernel::psi::PsiStats::parse(text));
