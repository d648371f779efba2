//! What every fuzz target shares: turning libFuzzer's bytes into the text a
//! parser sees.

/// Defines the fuzz target of one parser: `|text| expression` is called with
/// the input as lossy UTF-8 (as `host::read_text` hands host files to
/// parsers); its result is dropped, as only a panic is a finding.
#[macro_export]
macro_rules! parser_target {
    (|$text:ident| $parse:expr) => {
        libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            let input = String::from_utf8_lossy(data);
            let $text: &str = &input;
            let _ = $parse;
        });
    };
}
