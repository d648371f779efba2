//! The statistics files of the kernel's RPC layer, `/proc/net/rpc/nfs` and
//! `/proc/net/rpc/nfsd`: one line per group of counters, a label and then
//! base-10 counters (`net 0 0 0 0`, `proc3 22 0 13 ...`). The line format
//! and the procedure tables the client and server files share live here;
//! each file's own lines are parsed by its collector (`nfs`, `nfsd`) and by
//! `mountstats` for the per-mount RPC counters.

/// NFSv2 procedures in the kernel's order, as upstream names them.
pub const V2_PROCEDURES: &[&str] = &[
    "Null", "GetAttr", "SetAttr", "Root", "Lookup", "ReadLink", "Read", "WrCache", "Write",
    "Create", "Remove", "Rename", "Link", "SymLink", "MkDir", "RmDir", "ReadDir", "FsStat",
];

/// NFSv3 procedures in the kernel's order, as upstream names them.
pub const V3_PROCEDURES: &[&str] = &[
    "Null",
    "GetAttr",
    "SetAttr",
    "Lookup",
    "Access",
    "ReadLink",
    "Read",
    "Write",
    "Create",
    "MkDir",
    "SymLink",
    "MkNod",
    "Remove",
    "RmDir",
    "Rename",
    "Link",
    "ReadDir",
    "ReadDirPlus",
    "FsStat",
    "FsInfo",
    "PathConf",
    "Commit",
];

/// The NFSv2 and v3 procedures of the server's `/proc/net/rpc/nfsd`: the
/// client's without NULL.
pub const V2_SERVER_PROCEDURES: &[&str] = V2_PROCEDURES.split_at(1).1;

/// See [`V2_SERVER_PROCEDURES`].
pub const V3_SERVER_PROCEDURES: &[&str] = V3_PROCEDURES.split_at(1).1;

/// The `net` line: packets by transport and TCP connections accepted or made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Network {
    /// UDP packets.
    pub udp: u64,
    /// TCP packets.
    pub tcp: u64,
    /// TCP connections.
    pub tcp_connections: u64,
}

impl Network {
    /// Reads `net <packets> <udp> <tcp> <tcp connections>`.
    pub fn from_counters(values: &[&str]) -> Result<Network, String> {
        let [_, udp, tcp, tcp_connections] = exactly("net", values)?;
        Ok(Network {
            udp,
            tcp,
            tcp_connections,
        })
    }
}

/// Splits an RPC statistics line (`rpc 12 0 0`) into its label and the
/// fields after it; `None` for a blank line.
pub fn split_line(line: &str) -> Option<(&str, Vec<&str>)> {
    let mut fields = line.split_whitespace();
    let label = fields.next()?;
    Some((label, fields.collect()))
}

/// Parses the counters of the line `label` (base-10 unsigned integers).
pub fn counters(label: &str, fields: &[&str]) -> Result<Vec<u64>, String> {
    fields
        .iter()
        .map(|field| {
            field
                .parse::<u64>()
                .map_err(|_| format!("{label}: invalid counter {field:?}"))
        })
        .collect()
}

/// The counters of the line `label`, which must have exactly `N` of them.
pub fn exactly<const N: usize>(label: &str, fields: &[&str]) -> Result<[u64; N], String> {
    counters(label, fields)?
        .try_into()
        .map_err(|values: Vec<u64>| format!("{label}: {} counters, expected {N}", values.len()))
}

/// The per-procedure counts of a `procN <n> <count>...` line, which must
/// hold exactly the `n` counts it announces, and at least `minimum`.
pub fn procedure_counts(label: &str, fields: &[&str], minimum: usize) -> Result<Vec<u64>, String> {
    let mut values = counters(label, fields)?;
    if values.is_empty() {
        return Err(format!("{label}: no procedure count"));
    }
    let announced = values.remove(0);
    if announced != values.len() as u64 || values.len() < minimum {
        return Err(format!(
            "{label}: announces {announced} procedures, has {} (at least {minimum} expected)",
            values.len()
        ));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_into_label_and_fields() {
        assert_eq!(
            split_line("rpc 12 0 0"),
            Some(("rpc", vec!["12", "0", "0"]))
        );
        assert_eq!(split_line("   "), None);
    }

    #[test]
    fn counters_are_unsigned_decimals_of_the_expected_count() {
        assert_eq!(exactly::<3>("rpc", &["1", "2", "3"]), Ok([1, 2, 3]));
        assert!(exactly::<3>("rpc", &["1", "2"])
            .unwrap_err()
            .contains("2 counters"));
        assert!(counters("rpc", &["1", "-2"])
            .unwrap_err()
            .contains("\"-2\""));
        assert_eq!(
            Network::from_counters(&["9", "1", "2", "3"]),
            Ok(Network {
                udp: 1,
                tcp: 2,
                tcp_connections: 3
            })
        );
    }

    #[test]
    fn procedure_counts_hold_what_they_announce() {
        assert_eq!(
            procedure_counts("proc2", &["2", "5", "6"], 2),
            Ok(vec![5, 6])
        );
        assert!(procedure_counts("proc2", &["3", "5", "6"], 2).is_err());
        assert!(
            procedure_counts("proc2", &["1", "5"], 2).is_err(),
            "too few"
        );
        assert!(procedure_counts("proc2", &[], 0).is_err());
        assert_eq!(V2_SERVER_PROCEDURES[0], "GetAttr");
        assert_eq!(V3_SERVER_PROCEDURES.len(), V3_PROCEDURES.len() - 1);
    }
}
