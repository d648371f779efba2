//! The tcpstat collector's two sources over the sockets of the bench's own
//! network namespace: the kernel's `sock_diag` dump against streaming
//! `/proc/self/net/tcp{,6}`. Meaningful with many sockets:
//! `scripts/bench-tcpstat` runs it in a namespace holding 10,000 loopback
//! connections.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

use hostwatch::collectors::tcpstat::TcpStates;
use hostwatch::host::Host;

fn tcpstat(c: &mut Criterion) {
    // `/proc/self` as the procfs root: its `net/` is this namespace's.
    let own = Host::new("/proc/self", "/sys", "/", "/run/udev/data");
    let netlink = TcpStates::from_sock_diag().expect("sock_diag");
    let procfs = TcpStates::from_procfs(&own).expect("procfs tables");
    let sockets = |states: &TcpStates| -> f64 {
        states
            .values
            .iter()
            .filter(|(state, _)| !state.ends_with("_bytes"))
            .map(|(_, count)| count)
            .sum()
    };
    println!(
        "sockets: {} by sock_diag, {} in the procfs tables",
        sockets(&netlink),
        sockets(&procfs)
    );
    let mut group = c.benchmark_group("tcpstat");
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("sock_diag", |b| {
        b.iter(|| TcpStates::from_sock_diag().map(black_box))
    });
    group.bench_function("procfs", |b| {
        b.iter(|| TcpStates::from_procfs(black_box(&own)).map(black_box))
    });
    group.finish();
}

criterion_group!(benches, tcpstat);
criterion_main!(benches);
