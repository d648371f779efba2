//! The netlink message and attribute walkers: no datagram may make them
//! panic, however its lengths lie.
#![no_main]

use hostwatch::kernel::netlink::{attributes, error_code, family_id_of, messages, Attribute};

fn walk(attribute: Attribute<'_>, depth: usize) -> usize {
    let _ = (attribute.u8(), attribute.u16(), attribute.u32(), attribute.u64());
    let _ = attribute.string();
    if depth == 0 {
        return 1;
    }
    attribute
        .nested()
        .filter_map(Result::ok)
        .map(|nested| walk(nested, depth - 1))
        .sum::<usize>()
        + 1
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for message in messages(data).filter_map(Result::ok) {
        let _ = error_code(message.payload);
        let _ = family_id_of(message.payload, "nl80211");
        for attribute in attributes(message.payload).filter_map(Result::ok) {
            walk(attribute, 4);
        }
    }
});
