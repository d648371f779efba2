//! Kernel file formats that more than one collector (or the agent's own
//! start-up check) reads: each a pure parser from the kernel's text to typed
//! values, tested on kernel-format strings. A format only one collector
//! reads stays in that collector's file.
//!
//! May import: [`crate::host`] (to stream a table), [`crate::parse`] and the
//! lowest layer; never collectors or metrics.

pub mod cpu_list;
pub mod cpuinfo;
pub mod meminfo;
pub mod mountinfo;
pub mod net_dev;
pub mod netlink;
pub mod proc_stat;
pub mod psi;
pub mod rpc_stats;
pub mod socket_table;
pub mod sysfs_value;
