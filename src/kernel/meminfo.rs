//! The keys of `/proc/meminfo` and of the per-node
//! `/sys/devices/system/node/node<N>/meminfo` (`Active(anon)`,
//! `HugePages_Total`), and how node_exporter turns them into metric names.

use std::borrow::Cow;

/// node_exporter's key mangling: the text from the first `(` to the last `)`
/// is replaced by `_` and what the parentheses enclosed, so `Active(anon)`
/// becomes `Active_anon`.
pub fn mangle_key(key: &str) -> Cow<'_, str> {
    let Some(open) = key.find('(') else {
        return Cow::Borrowed(key);
    };
    match key[open..].rfind(')') {
        Some(close) => {
            let close = open + close;
            Cow::Owned(format!(
                "{}_{}{}",
                &key[..open],
                &key[open + 1..close],
                &key[close + 1..]
            ))
        }
        None => Cow::Borrowed(key),
    }
}
