//! A full scrape of the fixture host tree with every collector enabled:
//! collecting it, and encoding it in each exposition format (text,
//! OpenMetrics, protobuf) with and without the server's gzip (kept deflate
//! state, fastest level).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

use hostwatch::collectors::registry;
use hostwatch::collectors::BuildContext;
use hostwatch::exposition::Format;
use hostwatch::host::Host;
use hostwatch::http::gzip::GzipPool;
use hostwatch::scrape::Scraper;

/// A scraper over the fixture tree with every registered collector.
fn fixture_scraper() -> Scraper {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut args = vec![
        "hostwatch".to_string(),
        format!("--path.procfs={root}/tests/fixtures/proc"),
        format!("--path.sysfs={root}/tests/fixtures/sys"),
        format!("--path.rootfs={root}/tests/fixtures/root"),
        format!("--path.udev.data={root}/tests/fixtures/udev"),
        format!("--collector.textfile.directory={root}/tests/fixtures/textfile"),
    ];
    args.extend(
        registry::ALL
            .iter()
            .map(|s| format!("--collector.{}", s.name)),
    );
    let options = hostwatch::cli::parse(args).expect("benchmark flags");
    let cli = &options.cli;
    let host = Arc::new(Host::new(
        &cli.procfs,
        &cli.sysfs,
        &cli.rootfs,
        &cli.udev_data,
    ));
    let ctx = BuildContext::new(host, &options.matches, &options.enabled_collectors);
    Scraper::new(&ctx, Duration::from_secs(10), true).expect("fixture collectors build")
}

fn scrape(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let scraper = fixture_scraper();
    let all = scraper.select(&[], &[]).expect("every collector");
    let collect = || {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        runtime.block_on(scraper.scrape(&all, deadline))
    };

    c.bench_function("scrape/collect", |b| b.iter(collect));

    let scrape = collect();
    let gzip = GzipPool::new();
    for (name, format) in [
        ("text", Format::Text),
        ("openmetrics", Format::OpenMetrics1),
        ("protobuf", Format::Protobuf),
    ] {
        c.bench_function(&format!("scrape/encode/{name}"), |b| {
            b.iter(|| black_box(&scrape).encode(format))
        });
        c.bench_function(&format!("scrape/encode/{name}+gzip"), |b| {
            b.iter(|| gzip.compress(&black_box(&scrape).encode(format)))
        });
    }
}

criterion_group!(benches, scrape);
criterion_main!(benches);
