//! The parser of the Accept header: no input may make it panic, with
//! OpenMetrics offered or not.
#![no_main]

hostwatch_fuzz::parser_target!(|text| {
    let _ = hostwatch::http::negotiate::negotiate(Some(text), false);
    hostwatch::http::negotiate::negotiate(Some(text), true)
});
