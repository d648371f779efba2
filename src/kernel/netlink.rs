//! The netlink message format (`include/uapi/linux/netlink.h`) and dumps:
//! building a request, splitting the kernel's datagrams into messages,
//! walking attributes (nested ones too), and [`dump`], which sends a dump
//! request over a [`crate::host::netlink`] socket and hands every reply
//! message to the caller until the kernel says it is done.
//!
//! Parsing is pure functions over byte slices in the host's byte order, as
//! the kernel writes them; a message or attribute whose length does not fit
//! is refused, never read past.
//!
//! Also the generic netlink header and the one controller request every
//! generic family needs: resolving a family's id from its name.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::host::netlink::{NetlinkSocket, Protocol};

/// The length of `struct nlmsghdr`.
pub const HEADER_LEN: usize = 16;
/// `NLMSG_ERROR`: an error, or an acknowledgement when its code is 0.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a dump.
pub const NLMSG_DONE: u16 = 3;
/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;
/// `NLM_F_DUMP_INTR`: the dump was cut by a concurrent change.
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// The length of `struct nlattr`.
const ATTRIBUTE_HEADER_LEN: usize = 4;
/// `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER`, set on the attribute type.
const ATTRIBUTE_FLAGS: u16 = 0xc000;

/// How long one receive may wait for the kernel.
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole dump may take, however steadily the kernel answers.
const DUMP_DEADLINE: Duration = Duration::from_secs(30);
/// The receive buffer: the kernel fills dump datagrams up to 32 KiB when
/// the reader's buffer allows it (`netlink_dump`), never more.
const RECEIVE_BUFFER: usize = 32 * 1024;

/// Rounds `length` up to netlink's 4-byte alignment.
pub const fn aligned(length: usize) -> usize {
    (length + 3) & !3
}

/// One netlink message: its header's fields and its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// `nlmsg_type`.
    pub message_type: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub sequence: u32,
    /// `nlmsg_pid`: the port id it is addressed to (from the kernel) or
    /// sent from.
    pub port_id: u32,
    /// What follows the header, within `nlmsg_len`.
    pub payload: &'a [u8],
}

/// The messages packed in one datagram, in order; a message whose length is
/// shorter than a header or runs past the datagram ends the walk with an
/// error.
pub fn messages(datagram: &[u8]) -> Messages<'_> {
    Messages { rest: datagram }
}

/// Iterator of [`messages`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let rest = self.rest;
        if rest.len() < HEADER_LEN {
            self.rest = &[];
            return Some(Err(format!(
                "{} trailing bytes, shorter than a message header",
                rest.len()
            )));
        }
        let length = u32_at(rest, 0) as usize;
        if length < HEADER_LEN || length > rest.len() {
            self.rest = &[];
            return Some(Err(format!(
                "message length {length} outside {HEADER_LEN}..={}",
                rest.len()
            )));
        }
        self.rest = rest.get(aligned(length)..).unwrap_or(&[]);
        Some(Ok(Message {
            message_type: u16_at(rest, 4),
            flags: u16_at(rest, 6),
            sequence: u32_at(rest, 8),
            port_id: u32_at(rest, 12),
            payload: &rest[HEADER_LEN..length],
        }))
    }
}

/// The code an `NLMSG_ERROR` (or a dump's `NLMSG_DONE`) payload starts with:
/// 0 for success, else a negated errno.
pub fn error_code(payload: &[u8]) -> Result<i32, String> {
    match payload.get(..4) {
        Some(bytes) => Ok(i32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        None => Err(format!(
            "an error message of {} bytes has no code",
            payload.len()
        )),
    }
}

/// One attribute (`struct nlattr` and its payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The type, without the nested and byte-order flags.
    pub kind: u16,
    /// The payload, without the padding that follows it.
    pub payload: &'a [u8],
}

impl<'a> Attribute<'a> {
    /// The payload as a u8; refused if shorter.
    pub fn u8(&self) -> Result<u8, String> {
        self.fixed::<1>().map(|b| b[0])
    }

    /// The payload as a host-order u16; refused if shorter.
    pub fn u16(&self) -> Result<u16, String> {
        self.fixed::<2>().map(u16::from_ne_bytes)
    }

    /// The payload as a host-order u32; refused if shorter.
    pub fn u32(&self) -> Result<u32, String> {
        self.fixed::<4>().map(u32::from_ne_bytes)
    }

    /// The payload as a host-order u64; refused if shorter.
    pub fn u64(&self) -> Result<u64, String> {
        self.fixed::<8>().map(u64::from_ne_bytes)
    }

    /// The payload as text up to its first NUL, invalid UTF-8 replaced.
    pub fn string(&self) -> String {
        let end = self
            .payload
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.payload.len());
        String::from_utf8_lossy(&self.payload[..end]).into_owned()
    }

    /// The attributes nested in this one's payload.
    pub fn nested(&self) -> Attributes<'a> {
        attributes(self.payload)
    }

    fn fixed<const N: usize>(&self) -> Result<[u8; N], String> {
        self.payload
            .get(..N)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                format!(
                    "attribute {} has {} bytes, expected {N}",
                    self.kind,
                    self.payload.len()
                )
            })
    }
}

/// The attributes packed in `bytes`, in order; one whose length is shorter
/// than its header or runs past `bytes` ends the walk with an error.
pub fn attributes(bytes: &[u8]) -> Attributes<'_> {
    Attributes { rest: bytes }
}

/// Iterator of [`attributes`].
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Result<Attribute<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest;
        // Fewer bytes than a header can only be padding.
        if rest.len() < ATTRIBUTE_HEADER_LEN {
            self.rest = &[];
            return None;
        }
        let length = u16_at(rest, 0) as usize;
        if length < ATTRIBUTE_HEADER_LEN || length > rest.len() {
            self.rest = &[];
            return Some(Err(format!(
                "attribute length {length} outside {ATTRIBUTE_HEADER_LEN}..={}",
                rest.len()
            )));
        }
        self.rest = rest.get(aligned(length)..).unwrap_or(&[]);
        Some(Ok(Attribute {
            kind: u16_at(rest, 2) & !ATTRIBUTE_FLAGS,
            payload: &rest[ATTRIBUTE_HEADER_LEN..length],
        }))
    }
}

/// Appends one attribute with its padding to `out`.
pub fn push_attribute(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let length = ATTRIBUTE_HEADER_LEN + payload.len();
    out.extend_from_slice(&(length as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(out.len() + aligned(length) - length, 0);
}

/// One whole request message: a header with `NLM_F_REQUEST` and `flags`,
/// then `payload`.
pub fn request(message_type: u16, flags: u16, sequence: u32, payload: &[u8]) -> Vec<u8> {
    let length = HEADER_LEN + payload.len();
    let mut out = Vec::with_capacity(aligned(length));
    out.extend_from_slice(&(length as u32).to_ne_bytes());
    out.extend_from_slice(&message_type.to_ne_bytes());
    out.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
    out.extend_from_slice(&sequence.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(aligned(length), 0);
    out
}

/// Why a dump failed.
#[derive(Debug)]
pub enum DumpError {
    /// The socket could not be opened, or sending or receiving failed
    /// (including a receive timeout).
    Io(io::Error),
    /// The kernel answered the request with an error.
    Refused(io::Error),
    /// A reply that is not well-formed netlink, not addressed to this
    /// request, or whose payload the caller refused.
    Malformed(String),
}

impl DumpError {
    /// The errno the kernel refused the request with, if it did.
    pub fn refused_with(&self) -> Option<i32> {
        match self {
            DumpError::Refused(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DumpError::Io(e) => write!(f, "netlink: {e}"),
            DumpError::Refused(e) => write!(f, "the kernel refused the request: {e}"),
            DumpError::Malformed(why) => write!(f, "malformed netlink reply: {why}"),
        }
    }
}

impl std::error::Error for DumpError {}

/// Sequence numbers of requests, so that a reply can be told from one to
/// another request.
static SEQUENCE: AtomicU32 = AtomicU32::new(1);

/// Sends a dump request of `message_type` with `payload` over a new socket
/// of `protocol`, and calls `on_message` with every reply message until the
/// kernel's `NLMSG_DONE`. Each receive waits at most 5 s and the whole dump
/// 30 s; a reply to another request, an interrupted dump, an error message
/// or a malformed datagram ends it with an error.
pub fn dump(
    protocol: Protocol,
    message_type: u16,
    payload: &[u8],
    on_message: &mut dyn FnMut(&Message<'_>) -> Result<(), String>,
) -> Result<(), DumpError> {
    let socket = NetlinkSocket::open(protocol, RECEIVE_TIMEOUT).map_err(DumpError::Io)?;
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    socket
        .send(&request(message_type, NLM_F_DUMP, sequence, payload))
        .map_err(DumpError::Io)?;
    let started = Instant::now();
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    loop {
        if started.elapsed() > DUMP_DEADLINE {
            return Err(DumpError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("dump not done within {} s", DUMP_DEADLINE.as_secs()),
            )));
        }
        let length = socket.receive(&mut buffer).map_err(DumpError::Io)?;
        if length == 0 {
            return Err(DumpError::Malformed("an empty datagram".to_string()));
        }
        for message in messages(&buffer[..length]) {
            let message = message.map_err(DumpError::Malformed)?;
            match reply_step(&message, sequence, socket.port_id())? {
                Step::Done => return Ok(()),
                Step::Data => on_message(&message).map_err(DumpError::Malformed)?,
            }
        }
    }
}

/// What one reply message of a dump means.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// A message of the dump, for the caller.
    Data,
    /// The end of the dump.
    Done,
}

/// Checks one reply of the request `sequence` sent from `port_id`.
fn reply_step(message: &Message<'_>, sequence: u32, port_id: u32) -> Result<Step, DumpError> {
    if message.sequence != sequence || message.port_id != port_id {
        return Err(DumpError::Malformed(format!(
            "a reply to request {} of port {}, expected {sequence} of {port_id}",
            message.sequence, message.port_id
        )));
    }
    if message.flags & NLM_F_DUMP_INTR != 0 {
        return Err(DumpError::Malformed(
            "the dump was interrupted by a concurrent change".to_string(),
        ));
    }
    match message.message_type {
        NLMSG_ERROR | NLMSG_DONE => {
            // A dump's DONE carries a code too, which older kernels may omit.
            let code = match error_code(message.payload) {
                Ok(code) => code,
                Err(_) if message.message_type == NLMSG_DONE => 0,
                Err(why) => return Err(DumpError::Malformed(why)),
            };
            if code < 0 {
                return Err(DumpError::Refused(io::Error::from_raw_os_error(
                    code.saturating_neg(),
                )));
            }
            Ok(Step::Done)
        }
        _ => Ok(Step::Data),
    }
}

/// `GENL_ID_CTRL`: the generic netlink controller's fixed family id.
const GENL_ID_CTRL: u16 = 0x10;
/// `CTRL_CMD_GETFAMILY`.
const CTRL_CMD_GETFAMILY: u8 = 3;
/// `CTRL_ATTR_FAMILY_ID` (u16).
const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// `CTRL_ATTR_FAMILY_NAME` (string).
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// The length of `struct genlmsghdr`.
pub const GENL_HEADER_LEN: usize = 4;

/// A generic netlink payload: `struct genlmsghdr` (command, version) and
/// then `attributes`, already encoded.
pub fn generic_payload(command: u8, version: u8, attributes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(GENL_HEADER_LEN + attributes.len());
    out.extend_from_slice(&[command, version, 0, 0]);
    out.extend_from_slice(attributes);
    out
}

/// The command and attributes of a generic netlink message payload.
pub fn generic_message(payload: &[u8]) -> Result<(u8, Attributes<'_>), String> {
    if payload.len() < GENL_HEADER_LEN {
        return Err(format!(
            "a generic netlink message of {} bytes has no header",
            payload.len()
        ));
    }
    Ok((payload[0], attributes(&payload[GENL_HEADER_LEN..])))
}

/// The family id in a controller's reply naming `family`, if it is that
/// family's reply.
pub fn family_id_of(payload: &[u8], family: &str) -> Result<Option<u16>, String> {
    let (_, attributes) = generic_message(payload)?;
    let mut id = None;
    let mut name = None;
    for attribute in attributes {
        let attribute = attribute?;
        match attribute.kind {
            CTRL_ATTR_FAMILY_ID => id = Some(attribute.u16()?),
            CTRL_ATTR_FAMILY_NAME => name = Some(attribute.string()),
            _ => {}
        }
    }
    Ok(id.filter(|_| name.as_deref() == Some(family)))
}

/// Resolves a generic netlink family's id by its name, as registered by its
/// kernel module; `Ok(None)` when no such family is registered.
pub fn resolve_family(family: &str) -> Result<Option<u16>, DumpError> {
    let mut name = Vec::new();
    let mut encoded = family.as_bytes().to_vec();
    encoded.push(0);
    push_attribute(&mut name, CTRL_ATTR_FAMILY_NAME, &encoded);
    let socket = NetlinkSocket::open(Protocol::Generic, RECEIVE_TIMEOUT).map_err(DumpError::Io)?;
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let payload = generic_payload(CTRL_CMD_GETFAMILY, 1, &name);
    socket
        .send(&request(GENL_ID_CTRL, 0, sequence, &payload))
        .map_err(DumpError::Io)?;
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    let length = socket.receive(&mut buffer).map_err(DumpError::Io)?;
    for message in messages(&buffer[..length]) {
        let message = message.map_err(DumpError::Malformed)?;
        match reply_step(&message, sequence, socket.port_id()) {
            Err(e) if e.refused_with() == Some(libc::ENOENT) => return Ok(None),
            Err(e) => return Err(e),
            Ok(Step::Done) => return Ok(None),
            Ok(Step::Data) => {
                if let Some(id) =
                    family_id_of(message.payload, family).map_err(DumpError::Malformed)?
                {
                    return Ok(Some(id));
                }
            }
        }
    }
    Ok(None)
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// The datagrams of a capture under `tests/netlink/`: hex text, a blank line
/// between datagrams, `#` lines describing it.
#[cfg(test)]
pub(crate) fn captured_datagrams(text: &str) -> Vec<Vec<u8>> {
    let hex: String = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            if line.trim().is_empty() {
                "|"
            } else {
                line.trim()
            }
        })
        .collect();
    hex.split('|')
        .filter(|datagram| !datagram.is_empty())
        .map(|datagram| {
            (0..datagram.len())
                .step_by(2)
                .map(|at| u8::from_str_radix(&datagram[at..at + 2], 16).unwrap())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const QDISC: &str = include_str!("../../tests/netlink/rtm_qdisc.hex");
    const TCP4: &str = include_str!("../../tests/netlink/inet_diag_tcp4.hex");

    #[test]
    fn splits_a_captured_dump_into_messages_with_their_headers() {
        let datagrams = captured_datagrams(QDISC);
        assert_eq!(datagrams.len(), 2);
        let replies: Vec<Message<'_>> = messages(&datagrams[0]).map(Result::unwrap).collect();
        assert_eq!(replies.len(), 3);
        for reply in &replies {
            // RTM_NEWQDISC, NLM_F_MULTI, the request's sequence and port.
            assert_eq!(reply.message_type, 36);
            assert_eq!(reply.flags, 0x2);
            assert_eq!((reply.sequence, reply.port_id), (9, 0x4975));
            assert_eq!(reply_step(reply, 9, 0x4975).unwrap(), Step::Data);
        }
        assert_eq!(replies[2].payload.len(), 0xbc - HEADER_LEN);
        let done: Vec<Message<'_>> = messages(&datagrams[1]).map(Result::unwrap).collect();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].message_type, NLMSG_DONE);
        assert_eq!(error_code(done[0].payload), Ok(0));
        assert_eq!(reply_step(&done[0], 9, 0x4975).unwrap(), Step::Done);
    }

    #[test]
    fn walks_attributes_and_nested_attributes() {
        let datagrams = captured_datagrams(QDISC);
        let tbf = messages(&datagrams[0]).nth(2).unwrap().unwrap();
        // struct tcmsg is 20 bytes; attributes follow.
        let kinds: Vec<(u16, usize)> = attributes(&tbf.payload[20..])
            .map(|a| a.map(|a| (a.kind, a.payload.len())).unwrap())
            .collect();
        // TCA_KIND "tbf\0", TCA_OPTIONS (nested), TCA_HW_OFFLOAD (u8),
        // TCA_STATS2 (nested), TCA_STATS (struct tc_stats, 36 bytes padded
        // by the kernel to 40).
        assert_eq!(kinds, vec![(1, 4), (2, 40), (12, 1), (7, 44), (3, 40)]);
        let kind = attributes(&tbf.payload[20..]).next().unwrap().unwrap();
        assert_eq!(kind.string(), "tbf");
        let stats2 = attributes(&tbf.payload[20..]).nth(3).unwrap().unwrap();
        let nested: Vec<Attribute<'_>> = stats2.nested().map(Result::unwrap).collect();
        assert_eq!(nested.len(), 2);
        assert_eq!(nested[0].kind, 1);
        assert_eq!(nested[0].u64(), Ok(340));
        assert_eq!(nested[1].kind, 3);
        let offload = attributes(&tbf.payload[20..]).nth(2).unwrap().unwrap();
        assert_eq!(offload.u8(), Ok(0));
        assert!(offload.u32().is_err());
    }

    #[test]
    fn refuses_lengths_that_do_not_fit() {
        let datagrams = captured_datagrams(TCP4);
        let whole = &datagrams[0];
        // Cut inside the last message: the first two still parse.
        let cut = &whole[..whole.len() - 10];
        let parsed: Vec<_> = messages(cut).collect();
        assert_eq!(parsed.len(), 3);
        assert!(parsed[0].is_ok() && parsed[1].is_ok());
        assert!(parsed[2].as_ref().unwrap_err().contains("message length"));
        // A header claiming less than itself.
        let mut short = whole.clone();
        short[..4].copy_from_slice(&8u32.to_ne_bytes());
        assert!(messages(&short).next().unwrap().is_err());
        // Fewer bytes than a header.
        assert!(messages(&whole[..7]).next().unwrap().is_err());
        // An attribute running past its message.
        let mut attribute = Vec::new();
        push_attribute(&mut attribute, 5, &[1, 2, 3, 4]);
        attribute[0] = 200;
        assert!(attributes(&attribute).next().unwrap().is_err());
        // Padding shorter than a header ends the walk quietly.
        assert_eq!(attributes(&[0, 0]).count(), 0);
    }

    #[test]
    fn builds_requests_and_attributes_aligned() {
        let message = request(20, NLM_F_DUMP, 7, &[1, 2, 3, 4, 5]);
        assert_eq!(message.len(), 24);
        let parsed = messages(&message).next().unwrap().unwrap();
        assert_eq!(parsed.message_type, 20);
        assert_eq!(parsed.flags, NLM_F_REQUEST | NLM_F_DUMP);
        assert_eq!(parsed.sequence, 7);
        assert_eq!(parsed.payload, &[1, 2, 3, 4, 5]);
        let mut out = Vec::new();
        push_attribute(&mut out, 4, b"wlan0\0");
        push_attribute(&mut out, 3, &7u32.to_ne_bytes());
        assert_eq!(out.len(), 12 + 8);
        let walked: Vec<Attribute<'_>> = attributes(&out).map(Result::unwrap).collect();
        assert_eq!(walked[0].string(), "wlan0");
        assert_eq!(walked[1].u32(), Ok(7));
    }

    #[test]
    fn checks_sequence_port_interruption_and_errors() {
        let mut datagram = request(36, 0, 5, &[]);
        let reply = |bytes: &[u8]| -> Result<Step, DumpError> {
            let message = messages(bytes).next().unwrap().unwrap();
            reply_step(&message, 5, 0)
        };
        assert_eq!(reply(&datagram).unwrap(), Step::Data);
        datagram[8] = 6;
        assert!(reply(&datagram)
            .unwrap_err()
            .to_string()
            .contains("request 6"));
        datagram[8] = 5;
        datagram[6..8].copy_from_slice(&NLM_F_DUMP_INTR.to_ne_bytes());
        assert!(reply(&datagram)
            .unwrap_err()
            .to_string()
            .contains("interrupted"));
        let error = request(NLMSG_ERROR, 0, 5, &(-libc::EPERM).to_ne_bytes());
        let mut error = error;
        error[6..8].copy_from_slice(&0u16.to_ne_bytes());
        assert_eq!(reply(&error).unwrap_err().refused_with(), Some(libc::EPERM));
        let mut ack = request(NLMSG_ERROR, 0, 5, &0i32.to_ne_bytes());
        ack[6..8].copy_from_slice(&0u16.to_ne_bytes());
        assert_eq!(reply(&ack).unwrap(), Step::Done);
        let mut bare_error = request(NLMSG_ERROR, 0, 5, &[]);
        bare_error[6..8].copy_from_slice(&0u16.to_ne_bytes());
        assert!(matches!(reply(&bare_error), Err(DumpError::Malformed(_))));
    }

    #[test]
    fn dumps_this_namespaces_links_and_finds_the_controller_family() {
        // RTM_GETLINK with an empty ifinfomsg: every namespace has lo.
        let mut links = 0;
        dump(Protocol::Route, 18, &[0u8; 16], &mut |message| {
            assert_eq!(message.message_type, 16);
            links += 1;
            Ok(())
        })
        .unwrap();
        assert!(links >= 1);
        // The controller registers itself as "nlctrl", with id 0x10.
        assert_eq!(resolve_family("nlctrl").unwrap(), Some(GENL_ID_CTRL));
        assert_eq!(resolve_family("nosuchfamily").unwrap(), None);
    }

    #[test]
    fn a_callback_refusal_ends_the_dump() {
        let err = dump(Protocol::Route, 18, &[0u8; 16], &mut |_| {
            Err("no".to_string())
        })
        .unwrap_err();
        assert!(matches!(err, DumpError::Malformed(ref why) if why == "no"));
    }
}
