//! The parser of the Accept header: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(
    |text| hostwatch::http::negotiate::negotiate_format(Some(text))
);
