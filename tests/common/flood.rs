//! An attacker holding idle connections: it opens a number of TCP
//! connections to the agent from one source address, sends nothing, and
//! reopens each as soon as the agent closes it. Bounded in count, and in
//! time by whoever stops it.

use std::io::{ErrorKind, Read};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

/// How long one connection attempt may take (the agent's accept queue can
/// be full while it sheds connections).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);

/// A running flood of idle connections.
pub struct IdleFlood {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<FloodCount>>,
}

/// What a flood did.
#[derive(Debug, Default, Clone, Copy)]
pub struct FloodCount {
    /// Connections opened, first ones and reopened ones.
    pub opened: usize,
    /// Connections the agent closed.
    pub closed_by_agent: usize,
}

impl IdleFlood {
    /// Holds `count` idle connections from `source` to `port` on
    /// 127.0.0.1 until stopped, and returns once the first `count` are open
    /// (or could not all be).
    pub fn start(port: u16, source: IpAddr, count: usize) -> IdleFlood {
        raise_descriptor_limit();
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_sender, ready) = std::sync::mpsc::channel();
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || hold(port, source, count, &flag, ready_sender));
        let _ = ready.recv_timeout(Duration::from_secs(60));
        IdleFlood {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the flood and closes its connections.
    pub fn stop(mut self) -> FloodCount {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|thread| thread.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for IdleFlood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn hold(
    port: u16,
    source: IpAddr,
    count: usize,
    stop: &AtomicBool,
    ready: std::sync::mpsc::Sender<()>,
) -> FloodCount {
    let target = SocketAddr::from(([127, 0, 0, 1], port));
    let mut held: Vec<Option<TcpStream>> = (0..count).map(|_| None).collect();
    let mut tally = FloodCount::default();
    let mut announced = false;
    let mut byte = [0u8; 1];
    while !stop.load(Ordering::Relaxed) {
        for slot in held.iter_mut() {
            if let Some(stream) = slot {
                let closed = match stream.read(&mut byte) {
                    Ok(0) => true,
                    Ok(_) => false,
                    Err(e) => e.kind() != ErrorKind::WouldBlock,
                };
                if closed {
                    tally.closed_by_agent += 1;
                    *slot = None;
                }
            }
            if slot.is_none() {
                if let Some(stream) = connect(source, target) {
                    tally.opened += 1;
                    *slot = Some(stream);
                }
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
        if !announced {
            announced = true;
            let _ = ready.send(());
        }
        thread::sleep(Duration::from_millis(1));
    }
    tally
}

fn connect(source: IpAddr, target: SocketAddr) -> Option<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
    socket.bind(&SocketAddr::new(source, 0).into()).ok()?;
    socket
        .connect_timeout(&target.into(), CONNECT_TIMEOUT)
        .ok()?;
    socket.set_nonblocking(true).ok()?;
    Some(socket.into())
}

/// Lets the test process hold as many connections as its hard limit
/// allows.
fn raise_descriptor_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read or write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// How many connections a flood may hold here: `wanted`, or fewer when the
/// process's descriptor limit is low.
pub fn affordable(wanted: usize) -> usize {
    raise_descriptor_limit();
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct given.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    let room = usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX) / 2;
    wanted.min(room)
}
