//! The agent's resource limits, read with `getrlimit(2)`.

use std::io;

/// A resource limit of the process, as `/proc/self/limits` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// "Max open files" (`RLIMIT_NOFILE`).
    OpenFiles,
    /// "Max address space" (`RLIMIT_AS`).
    AddressSpace,
}

/// The process's soft limit on `limit`, `None` when unlimited: what
/// `/proc/self/limits` lists, without having the kernel format the table
/// of all sixteen limits for one number.
pub fn soft_limit(limit: Limit) -> io::Result<Option<u64>> {
    let resource = match limit {
        Limit::OpenFiles => libc::RLIMIT_NOFILE,
        Limit::AddressSpace => libc::RLIMIT_AS,
    };
    let mut value = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(resource, &mut value) } != 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t's width differs by target.
    Ok((value.rlim_cur != libc::RLIM_INFINITY).then_some(value.rlim_cur as u64))
}

/// Raises the soft limit on open descriptors to the hard limit, as Go's
/// runtime does for node_exporter at start-up: the soft limit's usual 1024
/// is a guard for old `select(2)` users, and the agent needs room for
/// connections and kept files. Failing that, the limit stays as it was.
pub fn raise_descriptor_limit() {
    let mut value = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read or write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut value) == 0 && value.rlim_cur < value.rlim_max
        {
            value.rlim_cur = value.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &value);
        }
    }
}

/// The soft limit on open descriptors as a count: `usize::MAX` when
/// unlimited, 1024 (the usual default) when it cannot be read.
pub fn descriptor_limit() -> usize {
    match soft_limit(Limit::OpenFiles) {
        Ok(Some(limit)) => usize::try_from(limit).unwrap_or(usize::MAX),
        Ok(None) => usize::MAX,
        Err(_) => 1024,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_limits_are_those_proc_lists() {
        let listed = std::fs::read_to_string("/proc/self/limits").unwrap();
        for (limit, name) in [
            (Limit::OpenFiles, "Max open files"),
            (Limit::AddressSpace, "Max address space"),
        ] {
            let line = listed.lines().find(|l| l.starts_with(name)).unwrap();
            let soft = line[name.len()..].split_whitespace().next().unwrap();
            let expected = (soft != "unlimited").then(|| soft.parse::<u64>().unwrap());
            assert_eq!(soft_limit(limit).unwrap(), expected, "{name}");
        }
    }
}
