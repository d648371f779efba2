//! `--web.listen-address`: Go's `host:port` forms, and binding them; and
//! `--web.systemd-socket`: the listening sockets systemd passes instead.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::os::fd::{FromRawFd, RawFd};

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

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const FIRST_PASSED_FD: RawFd = 3;

/// The listening sockets passed by systemd socket activation, as
/// `sd_listen_fds(3)` defines it: `LISTEN_FDS` descriptors from 3 on, meant
/// for this process only if `LISTEN_PID` is its pid. Like exporter-toolkit,
/// descriptors meant for another process count as none, the variables are
/// removed so that children do not inherit them, and having none is an
/// error. Each must be a listening TCP socket: the connection table bounds
/// connections by peer address. Call before other threads start, as it
/// changes the environment; [`TcpListener::from_std`] turns each into a
/// listener of the runtime.
pub fn systemd_listeners() -> Result<Vec<std::net::TcpListener>, String> {
    let count = passed_fd_count(
        std::env::var("LISTEN_PID").ok().as_deref(),
        std::env::var("LISTEN_FDS").ok().as_deref(),
        std::process::id(),
    )?;
    for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(name);
    }
    if count == 0 {
        return Err("no socket activation file descriptors found".to_string());
    }
    (FIRST_PASSED_FD..FIRST_PASSED_FD + count)
        .map(|fd| {
            passed_listener(fd).map_err(|e| format!("socket activation descriptor {fd}: {e}"))
        })
        .collect()
}

/// How many descriptors systemd passed to the process `own_pid`, from the
/// values of `LISTEN_PID` and `LISTEN_FDS`.
fn passed_fd_count(pid: Option<&str>, fds: Option<&str>, own_pid: u32) -> Result<RawFd, String> {
    let (Some(pid), Some(fds)) = (pid, fds) else {
        return Ok(0);
    };
    if pid.trim().parse::<u32>().ok() != Some(own_pid) {
        return Ok(0);
    }
    match fds.trim().parse::<RawFd>() {
        // Far more than any socket unit lists; keeps the range from overflowing.
        Ok(count) if (0..=4096).contains(&count) => Ok(count),
        _ => Err(format!("LISTEN_FDS={fds:?} is not a count of descriptors")),
    }
}

/// Takes over descriptor `fd`, checking it is a listening TCP socket.
fn passed_listener(fd: RawFd) -> Result<std::net::TcpListener, String> {
    let int_option = |level, name| -> Result<libc::c_int, String> {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `value`; an fd
        // that is not a socket makes it fail with ENOTSOCK, not misbehave.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                level,
                name,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            Ok(value)
        } else {
            Err(std::io::Error::last_os_error().to_string())
        }
    };
    let domain = int_option(libc::SOL_SOCKET, libc::SO_DOMAIN)?;
    if domain != libc::AF_INET && domain != libc::AF_INET6 {
        return Err(
            "not a TCP socket (hostwatch serves TCP only: use ListenStream=[address:]port)"
                .to_string(),
        );
    }
    if int_option(libc::SOL_SOCKET, libc::SO_TYPE)? != libc::SOCK_STREAM {
        return Err("not a stream socket (use ListenStream=, not ListenDatagram=)".to_string());
    }
    if int_option(libc::SOL_SOCKET, libc::SO_ACCEPTCONN)? == 0 {
        return Err("not listening (the socket unit needs Accept=no)".to_string());
    }
    // SAFETY: the descriptor was passed to this process for it to own, and
    // nothing else here uses it.
    let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    // SAFETY: fcntl on an owned descriptor; close-on-exec keeps it from
    // leaking into anything the agent might start.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    Ok(listener)
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

    #[test]
    fn passed_descriptors_count_only_for_this_process() {
        assert_eq!(passed_fd_count(Some("42"), Some("2"), 42), Ok(2));
        assert_eq!(passed_fd_count(Some(" 42\n"), Some("1"), 42), Ok(1));
        assert_eq!(passed_fd_count(Some("41"), Some("2"), 42), Ok(0));
        assert_eq!(passed_fd_count(None, Some("2"), 42), Ok(0));
        assert_eq!(passed_fd_count(Some("42"), None, 42), Ok(0));
        assert_eq!(passed_fd_count(Some("x"), Some("1"), 42), Ok(0));
        for bad in ["", "-1", "two", "99999999999"] {
            assert!(
                passed_fd_count(Some("42"), Some(bad), 42).is_err(),
                "{bad:?}"
            );
        }
    }
}
