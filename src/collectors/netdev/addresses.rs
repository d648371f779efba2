//! The IP addresses of the agent's network namespace, from getifaddrs(3),
//! and the scope names node_exporter gives them.

use std::ffi::CStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One address of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// Interface name.
    pub device: String,
    /// The address.
    pub address: IpAddr,
    /// Network prefix length, from the netmask.
    pub prefix_len: u32,
}

impl InterfaceAddress {
    /// node_exporter's scope label: `link-local` for loopback and link-local
    /// addresses, `interface-local` for interface-local multicast, `global`
    /// for other unicast addresses (private ranges included), else empty.
    pub fn scope(&self) -> &'static str {
        scope(self.address)
    }
}

fn scope(address: IpAddr) -> &'static str {
    match address {
        IpAddr::V4(v4) => scope_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => scope_v4(v4),
            None => scope_v6(v6),
        },
    }
}

fn scope_v4(v4: Ipv4Addr) -> &'static str {
    let link_local_multicast = v4.octets()[..3] == [224, 0, 0];
    if v4.is_loopback() || v4.is_link_local() || link_local_multicast {
        "link-local"
    } else if v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast() {
        ""
    } else {
        "global"
    }
}

fn scope_v6(v6: Ipv6Addr) -> &'static str {
    let segments = v6.segments();
    let link_local_unicast = segments[0] & 0xffc0 == 0xfe80;
    let multicast_scope = v6.is_multicast().then_some(segments[0] & 0x000f);
    if v6.is_loopback() || link_local_unicast || multicast_scope == Some(2) {
        "link-local"
    } else if multicast_scope == Some(1) {
        "interface-local"
    } else if v6.is_unspecified() || v6.is_multicast() {
        ""
    } else {
        "global"
    }
}

/// Every IPv4 and IPv6 address of every interface, in the order the kernel
/// lists them.
pub fn interface_addresses() -> io::Result<Vec<InterfaceAddress>> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list that we own until
    // freeifaddrs, which runs below on every path after success.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut addresses = Vec::new();
    let mut cursor = list;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a non-null node of the list getifaddrs built.
        let entry = unsafe { &*cursor };
        // SAFETY: the pointers of a node are null or valid for its lifetime.
        if let Some(address) = unsafe { to_interface_address(entry) } {
            addresses.push(address);
        }
        cursor = entry.ifa_next;
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    Ok(addresses)
}

/// Converts one getifaddrs node; `None` for non-IP families and nodes
/// without an address or netmask.
///
/// # Safety
/// The node's pointers must be null or valid, as getifaddrs leaves them.
unsafe fn to_interface_address(entry: &libc::ifaddrs) -> Option<InterfaceAddress> {
    if entry.ifa_name.is_null() || entry.ifa_addr.is_null() || entry.ifa_netmask.is_null() {
        return None;
    }
    let address = socket_ip(entry.ifa_addr)?;
    let netmask = socket_ip(entry.ifa_netmask).or_else(|| {
        // Some kernels leave the mask's family unset: take it as the address's.
        match address {
            IpAddr::V4(_) => raw_v4(entry.ifa_netmask),
            IpAddr::V6(_) => raw_v6(entry.ifa_netmask),
        }
    })?;
    Some(InterfaceAddress {
        device: CStr::from_ptr(entry.ifa_name)
            .to_string_lossy()
            .into_owned(),
        address,
        prefix_len: prefix_len(netmask),
    })
}

unsafe fn socket_ip(addr: *const libc::sockaddr) -> Option<IpAddr> {
    match i32::from((*addr).sa_family) {
        libc::AF_INET => raw_v4(addr),
        libc::AF_INET6 => raw_v6(addr),
        _ => None,
    }
}

unsafe fn raw_v4(addr: *const libc::sockaddr) -> Option<IpAddr> {
    let v4 = &*(addr as *const libc::sockaddr_in);
    Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr))))
}

unsafe fn raw_v6(addr: *const libc::sockaddr) -> Option<IpAddr> {
    let v6 = &*(addr as *const libc::sockaddr_in6);
    Some(IpAddr::V6(Ipv6Addr::from(v6.sin6_addr.s6_addr)))
}

/// The prefix length of a netmask: its leading one bits, or 0 for a mask
/// that is not a prefix (as Go's `IPMask.Size` reports).
fn prefix_len(netmask: IpAddr) -> u32 {
    let bits = match netmask {
        IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
        IpAddr::V6(v6) => u128::from(v6),
    };
    let ones = bits.leading_ones();
    if bits.checked_shl(ones).unwrap_or(0) == 0 {
        ones
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn scopes_match_node_exporter() {
        for (address, expected) in [
            ("127.0.0.1", "link-local"),
            ("169.254.1.1", "link-local"),
            ("224.0.0.251", "link-local"),
            ("192.0.2.2", "global"),
            ("10.1.2.3", "global"),
            ("239.1.1.1", ""),
            ("255.255.255.255", ""),
            ("0.0.0.0", ""),
            ("::1", "link-local"),
            ("fe80::fc:ff:fe00:1", "link-local"),
            ("ff02::1", "link-local"),
            ("ff01::1", "interface-local"),
            ("fd00::2", "global"),
            ("2001:db8::1", "global"),
            ("ff05::2", ""),
            ("::", ""),
            ("::ffff:127.0.0.1", "link-local"),
        ] {
            assert_eq!(scope(ip(address)), expected, "{address}");
        }
    }

    #[test]
    fn prefix_lengths() {
        assert_eq!(prefix_len(ip("255.255.255.0")), 24);
        assert_eq!(prefix_len(ip("255.0.0.0")), 8);
        assert_eq!(prefix_len(ip("255.255.255.255")), 32);
        assert_eq!(prefix_len(ip("0.0.0.0")), 0);
        assert_eq!(prefix_len(ip("255.0.255.0")), 0);
        assert_eq!(prefix_len(ip("ffff:ffff:ffff:ffff::")), 64);
        assert_eq!(
            prefix_len(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")),
            128
        );
    }

    #[test]
    fn lists_loopback() {
        let addresses = interface_addresses().unwrap();
        assert!(
            addresses
                .iter()
                .any(|a| a.address == ip("127.0.0.1") && a.prefix_len == 8),
            "{addresses:?}"
        );
    }
}
