//! The socket tables of `/proc/net/{tcp,tcp6,udp,udp6}`: a header line, then
//! one line per socket, read by the `tcpstat` and `udp_queues` collectors.
//!
//! A table holds a line per socket, so on a busy host it runs to hundreds of
//! megabytes: it is streamed, never read whole.

use std::path::Path;

use crate::host::{for_each_table_line, LineError};

/// The columns of one socket line that the collectors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketLine {
    /// The `st` column: the kernel's TCP state number (`include/net/tcp_states.h`),
    /// which UDP sockets reuse (1 connected, 7 unconnected).
    pub state: u8,
    /// The `tx_queue` column: bytes waiting to be sent.
    pub tx_queue: u64,
    /// The `rx_queue` column: bytes received and not yet read.
    pub rx_queue: u64,
}

impl SocketLine {
    /// Parses one table line (header excluded), such as
    /// `0: 0100007F:0277 00000000:0000 0A 00000000:00000001 00:00000000 00000000 0 0 1234 1 ...`.
    ///
    /// The columns before the queues are checked as well, so that a line that
    /// is not a socket (garbage, a cut-off line) is refused rather than read
    /// as one; columns after `uid` differ between kernels and protocols and
    /// are not looked at.
    pub fn parse(line: &str) -> Result<SocketLine, String> {
        // The first eight columns, without allocating: tables run to
        // millions of lines.
        let mut fields = [""; 8];
        let mut count = 0;
        for (field, column) in fields.iter_mut().zip(line.split_whitespace()) {
            *field = column;
            count += 1;
        }
        if count < fields.len() {
            return Err(format!("{count} columns, expected at least 8"));
        }
        let slot = fields[0]
            .strip_suffix(':')
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if slot.is_none() {
            return Err(format!("invalid slot {:?}", fields[0]));
        }
        for address in &fields[1..3] {
            if !is_address(address) {
                return Err(format!("invalid address {address:?}"));
            }
        }
        let state = u8::from_str_radix(fields[3], 16)
            .map_err(|_| format!("invalid state {:?}", fields[3]))?;
        let (tx, rx) = fields[4]
            .split_once(':')
            .ok_or_else(|| format!("invalid queues {:?}", fields[4]))?;
        let hex = |text: &str| {
            u64::from_str_radix(text, 16).map_err(|_| format!("invalid queues {:?}", fields[4]))
        };
        Ok(SocketLine {
            state,
            tx_queue: hex(tx)?,
            rx_queue: hex(rx)?,
        })
    }
}

/// Whether `text` is a table address: 8 (IPv4) or 32 (IPv6) hex digits, a
/// colon and a hex port.
fn is_address(text: &str) -> bool {
    let Some((ip, port)) = text.split_once(':') else {
        return false;
    };
    let is_hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    (ip.len() == 8 || ip.len() == 32) && is_hex(ip) && is_hex(port) && port.len() <= 4
}

/// Longer than any socket line: the kernel pads IPv4 lines to 127 or 149
/// characters, and IPv6 lines run to about 180.
const LONGEST_LINE: usize = 256;

/// Streams the table at `path`, handing each socket to `each`.
///
/// A missing file is an I/O error of kind `NotFound` (the protocol family
/// is disabled on this kernel), so callers can tell it from a failure. A
/// line that does not parse fails the whole table, naming the line, since
/// partial sums would be silently wrong.
pub fn for_each_socket(path: &Path, mut each: impl FnMut(SocketLine)) -> Result<(), LineError> {
    let mut header = true;
    for_each_table_line(path, LONGEST_LINE, |line| {
        if std::mem::take(&mut header) || line.trim().is_empty() {
            return Ok(());
        }
        each(SocketLine::parse(line)?);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP_LISTEN: &str = "   0: 0100007F:4B75 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 47929 1 00000000bd1d8186 100 0 0 10 0";
    const TCP_TIME_WAIT: &str = "   3: 0100007F:8DEF 0100007F:91A0 06 00000000:00000000 03:0000017F 00000000     0        0 0 3 00000000baf4924d";
    const TCP6_ESTABLISHED: &str = "   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:D2A4 01 0000001C:000004D2 01:00000014 00000000  1000        0 98765 2 0000000012345678 20 4 30 10 -1";
    const UDP_DROPS: &str = " 1234: 00000000:14E9 00000000:0000 07 00000000:00000A00 00:00000000 00000000   104        0 17501 2 000000003a8bd35e 12";

    #[test]
    fn parses_kernel_lines_of_every_table() {
        assert_eq!(
            SocketLine::parse(TCP_LISTEN).unwrap(),
            SocketLine {
                state: 0x0A,
                tx_queue: 0,
                rx_queue: 0
            }
        );
        assert_eq!(SocketLine::parse(TCP_TIME_WAIT).unwrap().state, 6);
        assert_eq!(
            SocketLine::parse(TCP6_ESTABLISHED).unwrap(),
            SocketLine {
                state: 1,
                tx_queue: 0x1C,
                rx_queue: 0x4D2
            }
        );
        assert_eq!(SocketLine::parse(UDP_DROPS).unwrap().rx_queue, 0xA00);
    }

    #[test]
    fn queues_beyond_u32() {
        let line = "0: 0100007F:0050 00000000:0000 01 1FFFFFFFF:FFFFFFFFFFFFFFFF 00:00000000 00000000 0 0 1";
        let socket = SocketLine::parse(line).unwrap();
        assert_eq!(socket.tx_queue, 0x1_FFFF_FFFF);
        assert_eq!(socket.rx_queue, u64::MAX);
    }

    #[test]
    fn refuses_garbage_and_cut_lines() {
        for line in [
            "",
            "garbage",
            "   0: 0100007F:4B75 00000000:0000 0A 00000000:000",
            "   0: 0100007F:4B75 00000000:0000 0A",
            "x: 0100007F:4B75 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
            "0 0100007F:4B75 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
            "0: 0100007:4B75 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
            "0: 0100007F4B75 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
            "0: 0100007F:4B75 00000000:0000 ZZ 00000000:00000000 00:00000000 00000000 0 0 1",
            "0: 0100007F:4B75 00000000:0000 100 00000000:00000000 00:00000000 00000000 0 0 1",
            "0: 0100007F:4B75 00000000:0000 0A 0000000000000000 00:00000000 00000000 0 0 1",
            "0: 0100007F:4B75 00000000:0000 0A 00000000:-1 00:00000000 00000000 0 0 1",
            "0: 0100007F:4B75 00000000:0000 0A 0000000G:00000000 00:00000000 00000000 0 0 1",
        ] {
            assert!(SocketLine::parse(line).is_err(), "{line:?} parsed");
        }
    }

    fn sockets_of(text: &str) -> Result<Vec<SocketLine>, LineError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tcp");
        std::fs::write(&path, text).unwrap();
        let mut sockets = Vec::new();
        for_each_socket(&path, |s| sockets.push(s)).map(|()| sockets)
    }

    #[test]
    fn streams_every_socket_after_the_header() {
        let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
        let text = format!("{header}\n{TCP_LISTEN}\n\n{TCP_TIME_WAIT}\n");
        let states: Vec<u8> = sockets_of(&text).unwrap().iter().map(|s| s.state).collect();
        assert_eq!(states, vec![0x0A, 6]);
        assert!(sockets_of(header).unwrap().is_empty());
        assert!(sockets_of("").unwrap().is_empty());
    }

    #[test]
    fn tables_beyond_the_whole_file_read_cap_are_read_to_the_end() {
        let line = format!("{TCP_TIME_WAIT}\n");
        let lines = crate::host::MAX_FILE_BYTES as usize / line.len() + 1000;
        let text = format!("header\n{}", line.repeat(lines));
        assert!(text.len() as u64 > crate::host::MAX_FILE_BYTES);
        assert_eq!(sockets_of(&text).unwrap().len(), lines);
    }

    #[test]
    fn a_bad_line_fails_the_table_naming_it() {
        match sockets_of(&format!("header\n{TCP_LISTEN}\ngarbage\n")) {
            Err(LineError::Refused { line, .. }) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_missing_table_is_not_found() {
        match for_each_socket(Path::new("/nonexistent/tcp6"), |_| {}) {
            Err(LineError::Io(err)) => assert_eq!(err.kind(), std::io::ErrorKind::NotFound),
            other => panic!("{other:?}"),
        }
    }
}
