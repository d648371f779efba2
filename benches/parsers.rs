//! Parser cost on the fixture host tree's files: one benchmark per kernel
//! format the busiest collectors read every scrape.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};

use hostwatch::collectors::diskstats::DiskStatsLine;
use hostwatch::collectors::meminfo::Meminfo;
use hostwatch::collectors::netstat::ProtocolStats;
use hostwatch::kernel::mountinfo::MountInfo;
use hostwatch::kernel::net_dev::InterfaceCounters;
use hostwatch::kernel::proc_stat::ProcStat;

fn fixture(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parsers(c: &mut Criterion) {
    let stat = fixture("proc/stat");
    c.bench_function("procstat", |b| b.iter(|| ProcStat::parse(black_box(&stat))));

    let meminfo = fixture("proc/meminfo");
    c.bench_function("meminfo", |b| {
        b.iter(|| Meminfo::parse(black_box(&meminfo)))
    });

    let diskstats = fixture("proc/diskstats");
    c.bench_function("diskstats", |b| {
        b.iter(|| DiskStatsLine::parse_all(black_box(&diskstats)))
    });

    let netdev = fixture("proc/1/net/dev");
    c.bench_function("netdev", |b| {
        b.iter(|| InterfaceCounters::parse_all(black_box(&netdev)))
    });

    let mountinfo = fixture("proc/1/mountinfo");
    c.bench_function("mountinfo", |b| {
        b.iter(|| MountInfo::parse(black_box(&mountinfo)))
    });

    let netstat = fixture("proc/1/net/netstat");
    let snmp = fixture("proc/1/net/snmp");
    let snmp6 = fixture("proc/1/net/snmp6");
    c.bench_function("netstat", |b| {
        b.iter(|| {
            let mut stats = ProtocolStats::parse_paired(black_box(&netstat))?;
            stats.merge(ProtocolStats::parse_paired(black_box(&snmp))?);
            stats.merge(ProtocolStats::parse_snmp6(black_box(&snmp6))?);
            Ok::<_, String>(stats)
        })
    });

    let textfile = fixture("textfile/apt.prom")
        + &fixture("textfile/backup.prom")
        + &fixture("textfile/node_role.prom")
        + &fixture("textfile/ntp_probe.prom");
    c.bench_function("textformat", |b| {
        b.iter(|| hostwatch::collectors::textfile::text_format::parse(black_box(&textfile)))
    });
}

criterion_group!(benches, parsers);
criterion_main!(benches);
