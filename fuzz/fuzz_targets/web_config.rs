//! The parser of `--web.config.file`: no file content may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::http::web_config::WebConfig::parse(
    text,
    std::path::Path::new("/nonexistent")
));
