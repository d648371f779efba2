//! The table of open client connections, and which to close when clients
//! hold too many.
//!
//! The agent sits on the host network, where anyone who can reach the port
//! can open connections and send nothing. Connections are therefore bounded
//! (in all, and per peer), and a new connection over a bound closes the
//! connection that has been idle longest (no request in progress: waiting
//! for a request, or for the rest of a TLS handshake or request head)
//! rather than being refused. Idle connections cannot starve a scrape: a
//! scrape's connection gets in by pushing the oldest idle one out, and once
//! its request is in progress it is never chosen. Connections idle for
//! [`IDLE_TIMEOUT`] are closed anyway.
//!
//! Connections whose client has not sent a byte are closed before those
//! that have. A scraper sharing an address with a flood of silent
//! connections then keeps its connection once its request (or TLS hello)
//! has arrived; it can still lose a new connection pushed out before that,
//! which is why peers are bounded apart.
//!
//! Peers are told apart by IPv4 address or IPv6 /64 prefix, as one host
//! commonly holds a whole /64.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::logging::Throttle;
use crate::unpoisoned::lock;

/// The most connections kept open across all listeners. Each idle
/// connection costs some kilobytes of buffers (tens with TLS): this bounds
/// what idle clients can make the agent hold well inside its memory limit.
pub const MAX_CONNECTIONS: usize = 512;

/// The most connections kept open from one peer. Prometheus keeps one per
/// target; several servers, probes and a person with curl stay far below.
pub const MAX_CONNECTIONS_PER_PEER: usize = 64;

/// File descriptors left to collectors, textfiles and logging whatever the
/// clients do: the connection bound is lowered to fit under the process's
/// descriptor limit minus these.
pub const FDS_KEPT_FOR_COLLECTION: usize = 256;

/// The fewest connections allowed however low the descriptor limit.
const MIN_CONNECTIONS: usize = 16;

/// A connection with no request in progress for this long is closed: it
/// bounds slow request heads, stalled TLS handshakes and idle keep-alive
/// connections alike.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the agent says that connections were closed to make room.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The open connections and their bounds.
pub struct Connections {
    limit: usize,
    per_peer: usize,
    table: Mutex<Table>,
    pushed_out: Throttle,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    open: HashMap<u64, Open>,
    per_peer: HashMap<Peer, usize>,
}

struct Open {
    peer: Peer,
    /// Requests in progress on the connection (HTTP/2 runs several).
    requests: usize,
    /// Whether the client has sent anything yet.
    spoke: bool,
    /// When the connection last became idle (or was accepted).
    idle_since: Instant,
    /// Closes the connection when sent (or dropped).
    close: oneshot::Sender<()>,
}

/// Who a connection comes from: an IPv4 address or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Peer {
    V4(u32),
    V6Prefix(u64),
}

impl Peer {
    fn of(ip: IpAddr) -> Peer {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Peer::V4(u32::from(v4)),
            IpAddr::V6(v6) => Peer::V6Prefix((u128::from(v6) >> 64) as u64),
        }
    }
}

/// Why a connection could not be taken in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every connection of its peer has a request in progress.
    PeerBusy,
    /// Every connection has a request in progress.
    AllBusy,
}

/// A connection's place in the table, held while it is open; dropping it
/// frees the place.
pub struct Admitted {
    /// For marking the connection's requests.
    pub activity: Activity,
    /// Resolves when the connection must close to make room for another.
    pub pushed_out: oneshot::Receiver<()>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        lock(&self.activity.connections.table).remove(self.activity.id);
    }
}

/// Marks requests in progress on one connection.
#[derive(Clone)]
pub struct Activity {
    id: u64,
    connections: Arc<Connections>,
}

/// A request in progress; dropping it ends the request.
pub struct InProgress(Activity);

impl Connections {
    /// Bounds fitted to the process's descriptor limit `fd_limit`.
    pub fn for_fd_limit(fd_limit: usize) -> Arc<Connections> {
        let room = fd_limit.saturating_sub(FDS_KEPT_FOR_COLLECTION);
        let limit = room.clamp(MIN_CONNECTIONS, MAX_CONNECTIONS);
        Connections::new(limit, MAX_CONNECTIONS_PER_PEER.min(limit))
    }

    /// Bounds of `limit` connections, `per_peer` of them from one peer.
    pub fn new(limit: usize, per_peer: usize) -> Arc<Connections> {
        Arc::new(Connections {
            limit,
            per_peer,
            table: Mutex::new(Table::default()),
            pushed_out: Throttle::new(WARN_EVERY),
        })
    }

    /// The most connections kept open.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Takes in a connection from `ip`, closing the oldest idle connection
    /// (of the same peer if that peer is at its bound) to make room.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admitted, Refused> {
        let peer = Peer::of(ip);
        let mut table = lock(&self.table);
        let from_peer = table.per_peer.get(&peer).copied().unwrap_or(0);
        if from_peer >= self.per_peer {
            if !table.push_out_oldest_idle(|open| open.peer == peer) {
                return Err(Refused::PeerBusy);
            }
            self.note_pushed_out("its peer's connection bound");
        } else if table.open.len() >= self.limit {
            if !table.push_out_oldest_idle(|_| true) {
                return Err(Refused::AllBusy);
            }
            self.note_pushed_out("the connection bound");
        }
        let id = table.next_id;
        table.next_id += 1;
        let (close, pushed_out) = oneshot::channel();
        table.open.insert(
            id,
            Open {
                peer,
                requests: 0,
                spoke: false,
                idle_since: Instant::now(),
                close,
            },
        );
        *table.per_peer.entry(peer).or_insert(0) += 1;
        Ok(Admitted {
            activity: Activity {
                id,
                connections: Arc::clone(self),
            },
            pushed_out,
        })
    }

    /// Closes the connection idle longest, if any, to free its descriptor
    /// (accept failing for want of descriptors). Whether one was closed.
    pub fn shed_idle(&self) -> bool {
        let shed = lock(&self.table).push_out_oldest_idle(|_| true);
        if shed {
            self.note_pushed_out("the process's descriptor limit");
        }
        shed
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        lock(&self.table).open.len()
    }

    fn note_pushed_out(&self, bound: &str) {
        if let Some(count) = self.pushed_out.event() {
            tracing::warn!(
                closed = count,
                limit = self.limit,
                per_peer = self.per_peer,
                "closed the longest idle client connections to make room for new ones, at {bound}"
            );
        }
    }
}

impl Table {
    /// Closes the idle connection (no request in progress) that has been
    /// idle longest among those `eligible`, and frees its place. Connections
    /// whose client never sent a byte go first: a scraper's new connection
    /// has sent its request or TLS hello by the time it is looked at, while
    /// a flood of silent ones rotates among itself.
    fn push_out_oldest_idle(&mut self, eligible: impl Fn(&Open) -> bool) -> bool {
        let oldest = self
            .open
            .iter()
            .filter(|(_, open)| open.requests == 0 && eligible(open))
            .min_by_key(|(_, open)| (open.spoke, open.idle_since))
            .map(|(&id, _)| id);
        match oldest.and_then(|id| self.remove(id)) {
            Some(open) => {
                let _ = open.close.send(());
                true
            }
            None => false,
        }
    }

    fn remove(&mut self, id: u64) -> Option<Open> {
        let open = self.open.remove(&id)?;
        if let Some(count) = self.per_peer.get_mut(&open.peer) {
            *count -= 1;
            if *count == 0 {
                self.per_peer.remove(&open.peer);
            }
        }
        Some(open)
    }
}

impl Activity {
    /// Marks a request in progress until the returned value is dropped.
    pub fn request(&self) -> InProgress {
        if let Some(open) = lock(&self.connections.table).open.get_mut(&self.id) {
            open.requests += 1;
        }
        InProgress(self.clone())
    }

    /// Marks that the client has sent something.
    pub fn spoke(&self) {
        if let Some(open) = lock(&self.connections.table).open.get_mut(&self.id) {
            open.spoke = true;
        }
    }

    /// When the connection has been idle for [`IDLE_TIMEOUT`] (`None`
    /// while a request is in progress or once it left the table).
    pub fn idle_deadline(&self) -> Option<Instant> {
        let table = lock(&self.connections.table);
        let open = table.open.get(&self.id)?;
        (open.requests == 0).then(|| open.idle_since + IDLE_TIMEOUT)
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        let mut table = lock(&self.0.connections.table);
        if let Some(open) = table.open.get_mut(&self.0.id) {
            open.requests = open.requests.saturating_sub(1);
            if open.requests == 0 {
                open.idle_since = Instant::now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot::error::TryRecvError;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_oldest_idle_connection_makes_room() {
        let connections = Connections::new(3, 3);
        let mut first = connections.admit(ip("10.0.0.1")).unwrap();
        let mut second = connections.admit(ip("10.0.0.2")).unwrap();
        let busy = second.activity.request();
        let mut third = connections.admit(ip("10.0.0.3")).unwrap();
        let _fourth = connections.admit(ip("10.0.0.4")).unwrap();
        assert_eq!(first.pushed_out.try_recv(), Ok(()));
        assert_eq!(second.pushed_out.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(third.pushed_out.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(connections.open(), 3);
        // The busy one is never chosen, the next idle one is.
        let _fifth = connections.admit(ip("10.0.0.5")).unwrap();
        assert_eq!(third.pushed_out.try_recv(), Ok(()));
        assert_eq!(second.pushed_out.try_recv(), Err(TryRecvError::Empty));
        drop(busy);
        assert!(second.activity.idle_deadline().is_some());
    }

    #[test]
    fn silent_connections_go_before_those_that_spoke() {
        let connections = Connections::new(2, 2);
        let mut older = connections.admit(ip("10.0.0.1")).unwrap();
        older.activity.spoke();
        let mut silent = connections.admit(ip("10.0.0.1")).unwrap();
        let _new = connections.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(silent.pushed_out.try_recv(), Ok(()));
        assert_eq!(older.pushed_out.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn a_peer_at_its_bound_pushes_out_its_own_connections() {
        let connections = Connections::new(10, 2);
        let mut other = connections.admit(ip("192.0.2.9")).unwrap();
        let mut a = connections.admit(ip("192.0.2.1")).unwrap();
        let mut b = connections.admit(ip("192.0.2.1")).unwrap();
        let _c = connections.admit(ip("::ffff:192.0.2.1")).unwrap();
        assert_eq!(a.pushed_out.try_recv(), Ok(()));
        assert_eq!(b.pushed_out.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(other.pushed_out.try_recv(), Err(TryRecvError::Empty));
        let _busy = b.activity.request();
        let _d = connections.admit(ip("192.0.2.1")).unwrap();
        let _busy_too = _d.activity.request();
        assert_eq!(
            connections.admit(ip("192.0.2.1")).err(),
            Some(Refused::PeerBusy)
        );
        assert_eq!(other.pushed_out.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn one_ipv6_slash_64_is_one_peer() {
        assert_eq!(
            Peer::of(ip("2001:db8::1")),
            Peer::of(ip("2001:db8::ffff:2"))
        );
        assert_ne!(Peer::of(ip("2001:db8::1")), Peer::of(ip("2001:db8:0:1::1")));
        assert_ne!(Peer::of(ip("10.0.0.1")), Peer::of(ip("10.0.0.2")));
        assert_ne!(Peer::of(ip("::")), Peer::of(ip("0.0.0.0")));
    }

    #[test]
    fn all_busy_refuses() {
        let connections = Connections::new(1, 1);
        let a = connections.admit(ip("10.0.0.1")).unwrap();
        let _busy = a.activity.request();
        assert_eq!(
            connections.admit(ip("10.0.0.2")).err(),
            Some(Refused::AllBusy)
        );
        assert!(!connections.shed_idle());
    }

    #[test]
    fn closing_frees_the_place_and_idle_time_counts_from_the_last_request() {
        let connections = Connections::new(2, 2);
        let a = connections.admit(ip("10.0.0.1")).unwrap();
        let accepted = a.activity.idle_deadline().unwrap();
        let busy = a.activity.request();
        assert_eq!(a.activity.idle_deadline(), None);
        drop(busy);
        assert!(a.activity.idle_deadline().unwrap() >= accepted);
        let activity = a.activity.clone();
        drop(a);
        assert_eq!(connections.open(), 0);
        assert_eq!(activity.idle_deadline(), None);
    }

    #[test]
    fn the_bound_fits_under_the_descriptor_limit() {
        assert_eq!(Connections::for_fd_limit(1024).limit(), 512);
        assert_eq!(Connections::for_fd_limit(512).limit(), 256);
        assert_eq!(Connections::for_fd_limit(100).limit(), MIN_CONNECTIONS);
        assert_eq!(
            Connections::for_fd_limit(usize::MAX).limit(),
            MAX_CONNECTIONS
        );
    }
}
