//! What several collectors share that is not a collector itself: device
//! filters and field selections made from flags, enumerating a sysfs device
//! class, the D-Bus client of the systemd and logind collectors, and the
//! harness of the collectors' unit tests.

pub mod device_filter;
pub mod field_selection;
pub mod sysfs_class;
pub mod system_bus;
#[cfg(test)]
pub mod testing;
