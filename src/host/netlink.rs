//! Netlink sockets: how the agent asks the kernel for tables it does not
//! publish as files (sockets by state, queueing disciplines, wireless
//! devices).
//!
//! Only the socket lives here: opening one of a netlink protocol, sending a
//! request and receiving datagrams into the caller's buffer, each receive
//! bounded by a timeout so that a kernel that never answers cannot hold a
//! scrape. The message format is [`crate::kernel::netlink`]'s.
//!
//! Netlink answers for the network namespace of the socket, that is the
//! agent's own: in a pod, the host's only with `hostNetwork: true`.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// The netlink protocols the agent speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `NETLINK_ROUTE`: links, addresses, queueing disciplines.
    Route,
    /// `NETLINK_SOCK_DIAG`: socket tables by family and protocol.
    SockDiag,
    /// `NETLINK_GENERIC`: families registered by name, such as nl80211.
    Generic,
}

impl Protocol {
    fn number(self) -> libc::c_int {
        match self {
            Protocol::Route => libc::NETLINK_ROUTE,
            Protocol::SockDiag => libc::NETLINK_SOCK_DIAG,
            Protocol::Generic => libc::NETLINK_GENERIC,
        }
    }
}

/// An open netlink socket, bound to a port id the kernel picked.
#[derive(Debug)]
pub struct NetlinkSocket {
    fd: OwnedFd,
    port_id: u32,
}

impl NetlinkSocket {
    /// Opens a socket of `protocol` whose every receive gives up after
    /// `receive_timeout`.
    pub fn open(protocol: Protocol, receive_timeout: Duration) -> io::Result<NetlinkSocket> {
        // SAFETY: plain syscall with constant arguments; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol.number(),
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor just returned to us and owned by no one else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let timeout = libc::timeval {
            tv_sec: receive_timeout.as_secs().min(i32::MAX as u64) as libc::time_t,
            tv_usec: receive_timeout.subsec_micros() as libc::suseconds_t,
        };
        // SAFETY: `timeout` is a valid timeval whose size is passed along.
        let set = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if set < 0 {
            return Err(io::Error::last_os_error());
        }
        // Port id 0: the kernel assigns a unique one.
        let mut address = kernel_address();
        // SAFETY: `address` is a valid sockaddr_nl whose size is passed along.
        let bound = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&address as *const libc::sockaddr_nl).cast(),
                mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if bound < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut length = mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: `address` has room for `length` bytes, which the call updates.
        let named = unsafe {
            libc::getsockname(
                fd.as_raw_fd(),
                (&mut address as *mut libc::sockaddr_nl).cast(),
                &mut length,
            )
        };
        if named < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(NetlinkSocket {
            fd,
            port_id: address.nl_pid,
        })
    }

    /// The port id the kernel addresses its replies to.
    pub fn port_id(&self) -> u32 {
        self.port_id
    }

    /// Sends one request (whole netlink messages) to the kernel.
    pub fn send(&self, request: &[u8]) -> io::Result<()> {
        let address = kernel_address();
        loop {
            // SAFETY: `request` and `address` are valid for the lengths passed.
            let sent = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    request.as_ptr().cast(),
                    request.len(),
                    0,
                    (&address as *const libc::sockaddr_nl).cast(),
                    mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            };
            if sent >= 0 {
                if sent as usize != request.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        format!("sent {sent} of {} bytes", request.len()),
                    ));
                }
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// Receives one datagram into `buffer`, returning its length. A datagram
    /// larger than `buffer` is an error rather than silently cut, and no
    /// datagram within the receive timeout is a `TimedOut` error.
    pub fn receive(&self, buffer: &mut [u8]) -> io::Result<usize> {
        loop {
            // SAFETY: `buffer` is valid for writes of its length. MSG_TRUNC
            // makes the call return the datagram's real length.
            let received = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buffer.as_mut_ptr().cast(),
                    buffer.len(),
                    libc::MSG_TRUNC,
                )
            };
            if received >= 0 {
                let received = received as usize;
                if received > buffer.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "a reply of {received} bytes exceeds the {}-byte buffer",
                            buffer.len()
                        ),
                    ));
                }
                return Ok(received);
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no reply from the kernel within the receive timeout",
                    ))
                }
                _ => return Err(err),
            }
        }
    }
}

/// The kernel's address: port id 0, no multicast groups.
fn kernel_address() -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is plain data for which all zeroes is valid.
    let mut address: libc::sockaddr_nl = unsafe { mem::zeroed() };
    address.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    address
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_gets_a_port_id_and_times_out_without_a_request() {
        let socket = NetlinkSocket::open(Protocol::Route, Duration::from_millis(50)).unwrap();
        assert_ne!(socket.port_id(), 0);
        let mut buffer = [0u8; 64];
        let err = socket.receive(&mut buffer).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn the_kernel_answers_a_request_and_an_oversized_reply_is_refused() {
        let socket = NetlinkSocket::open(Protocol::Route, Duration::from_secs(5)).unwrap();
        // RTM_GETLINK dump: a 16-byte header and a 16-byte ifinfomsg.
        let mut request = Vec::new();
        request.extend_from_slice(&32u32.to_ne_bytes());
        request.extend_from_slice(&18u16.to_ne_bytes());
        request.extend_from_slice(&0x301u16.to_ne_bytes());
        request.extend_from_slice(&1u32.to_ne_bytes());
        request.extend_from_slice(&0u32.to_ne_bytes());
        request.extend_from_slice(&[0u8; 16]);
        socket.send(&request).unwrap();
        // Every namespace has lo, so the first reply is a link message,
        // far larger than 16 bytes.
        let mut small = [0u8; 16];
        let err = socket.receive(&mut small).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    }
}
