//! `--web.listen-address`: Go's `host:port` forms, and binding them.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use tokio::net::{TcpListener, TcpSocket};

/// A parsed `--web.listen-address`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddress {
    /// `:port`: every interface, IPv6 and IPv4.
    AllInterfaces(u16),
    /// A literal IP and port, e.g. `127.0.0.1:9100` or `[::1]:9100`.
    Socket(SocketAddr),
    /// A host name and port, resolved when binding.
    Named(String, u16),
}

impl ListenAddress {
    /// Parses Go's `host:port` forms: `:9100`, `0.0.0.0:9100`,
    /// `[::1]:9100`, `localhost:9100`.
    pub fn parse(text: &str) -> Result<ListenAddress, String> {
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("{text:?}: missing port (expected host:port or :port)"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{text:?}: invalid port {port:?}"))?;
        if host.is_empty() {
            return Ok(ListenAddress::AllInterfaces(port));
        }
        // Go accepts any IP in brackets, and the prometheus-node-exporter
        // chart passes `[$(HOST_IP)]:9100`, which is an IPv4 address on most
        // clusters.
        let unbracketed = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            return Ok(ListenAddress::Socket(SocketAddr::new(ip, port)));
        }
        if host.starts_with('[') || host.contains(':') {
            return Err(format!("{text:?}: invalid IP address"));
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(format!("{text:?}: invalid host {host:?}"));
        }
        Ok(ListenAddress::Named(host.to_string(), port))
    }

    /// Binds a listener on this address.
    pub async fn bind(&self) -> std::io::Result<TcpListener> {
        match self {
            ListenAddress::AllInterfaces(port) => {
                match bind_socket(SocketAddr::from((Ipv6Addr::UNSPECIFIED, *port)), true) {
                    // Hosts with IPv6 disabled cannot open an IPv6 socket at all.
                    Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => {
                        bind_socket(SocketAddr::from(([0, 0, 0, 0], *port)), false)
                    }
                    other => other,
                }
            }
            ListenAddress::Socket(addr) => bind_socket(*addr, false),
            ListenAddress::Named(host, port) => {
                let mut last_error = None;
                for addr in tokio::net::lookup_host((host.as_str(), *port)).await? {
                    match bind_socket(addr, false) {
                        Ok(listener) => return Ok(listener),
                        Err(e) => last_error = Some(e),
                    }
                }
                Err(last_error.unwrap_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("{host} resolves to no address"),
                    )
                }))
            }
        }
    }
}

fn bind_socket(addr: SocketAddr, dual_stack: bool) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv6() {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    if dual_stack {
        use std::os::fd::AsRawFd;
        let off: libc::c_int = 0;
        // SAFETY: a valid socket fd and a correctly sized int option value.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_IPV6,
                libc::IPV6_V6ONLY,
                (&off as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!(
            ListenAddress::parse(":9100").unwrap(),
            ListenAddress::AllInterfaces(9100)
        );
        assert_eq!(
            ListenAddress::parse("127.0.0.1:9100").unwrap(),
            ListenAddress::Socket("127.0.0.1:9100".parse().unwrap())
        );
        assert_eq!(
            ListenAddress::parse("[::1]:9100").unwrap(),
            ListenAddress::Socket("[::1]:9100".parse().unwrap())
        );
        assert_eq!(
            ListenAddress::parse("[10.0.0.1]:9100").unwrap(),
            ListenAddress::Socket("10.0.0.1:9100".parse().unwrap())
        );
        assert_eq!(
            ListenAddress::parse("localhost:9100").unwrap(),
            ListenAddress::Named("localhost".into(), 9100)
        );
        for bad in [
            "9100",
            "host:",
            ":99999",
            "[::1:9100",
            "a b:1",
            "1.2.3.4.5:x",
        ] {
            assert!(ListenAddress::parse(bad).is_err(), "{bad}");
        }
    }
}
