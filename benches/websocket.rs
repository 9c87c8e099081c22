//! The copying half of a WebSocket proxy: `upstream::copy_tunnel` (ours: counts bytes into a
//! `Tunnel`, optional idle timeout) against `tokio::io::copy_bidirectional` (the anchor), on the
//! same in-memory pipes in the same run.
//!
//! One iteration is one connection: the client sends `SIZE` bytes in 16 KiB writes, the
//! backend reads them all and sends `SIZE` bytes back, the client reads them, then the client
//! closes and both proxies see the end. Before timing, both sides must deliver the same bytes
//! and report the same counts. After the timings, allocations per connection are printed
//! (pipe construction included, identical for both sides).

#[path = "support/alloc.rs"]
mod alloc;

use std::hint::black_box;
use std::time::Duration;

use alloc::allocations;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::runtime::Runtime;
use tower_gateway::tunnel::{Tunnel, TunnelOutcome};
use tower_gateway::upstream::copy_tunnel;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

const SIZE: usize = 1 << 20;
const CHUNK: usize = 16 * 1024;
const PIPE: usize = 64 * 1024;

#[derive(Clone, Copy, Debug)]
enum Side {
    Ours { idle: bool },
    Tokio,
}

/// Runs one connection through the proxy of `side`; returns a digest of what the backend and
/// the client received, and the proxy's byte counts (in, out). The peers read into small
/// reused buffers: no per-connection megabyte allocation (whose page faults would dominate
/// the timings and depend on the allocator's mmap threshold).
async fn connection(side: Side, payload: &'static [u8], verify: bool) -> (u64, u64, (u64, u64)) {
    let (mut client, client_side) = tokio::io::duplex(PIPE);
    let (backend_side, mut backend) = tokio::io::duplex(PIPE);
    let proxy = tokio::spawn(proxy(side, client_side, backend_side));
    let backend_task = tokio::spawn(async move {
        let got = receive(&mut backend, payload.len(), verify).await;
        for chunk in payload.chunks(CHUNK) {
            backend.write_all(chunk).await.expect("backend writes");
        }
        // Wait for the client's end, passed on by the proxy.
        let mut end = [0; 1];
        assert_eq!(backend.read(&mut end).await.expect("backend end"), 0);
        got
    });
    for chunk in payload.chunks(CHUNK) {
        client.write_all(chunk).await.expect("client writes");
    }
    let back = receive(&mut client, payload.len(), verify).await;
    drop(client);
    let at_backend = backend_task.await.expect("backend task");
    let counts = proxy.await.expect("proxy task");
    (at_backend, back, counts)
}

/// Reads exactly `len` bytes and returns their FNV-1a digest (0 unless `verify`: the digest
/// is slower than the copy).
async fn receive(from: &mut DuplexStream, len: usize, verify: bool) -> u64 {
    let mut buf = vec![0; CHUNK];
    let mut left = len;
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    while left > 0 {
        let n = from.read(&mut buf[..CHUNK.min(left)]).await.expect("read");
        assert!(n > 0, "early end of stream");
        if verify {
            hash = buf[..n].iter().fold(hash, |h, &b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
        }
        left -= n;
    }
    hash
}

fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

async fn proxy(side: Side, client: DuplexStream, backend: DuplexStream) -> (u64, u64) {
    match side {
        Side::Ours { idle } => {
            let tunnel = Tunnel::new();
            let idle = idle.then_some(Duration::from_secs(60));
            let outcome = copy_tunnel(client, backend, &tunnel, idle).await;
            assert_eq!(outcome, TunnelOutcome::Normal);
            tunnel.close(outcome);
            (tunnel.bytes_in(), tunnel.bytes_out())
        }
        Side::Tokio => {
            let (mut client, mut backend) = (client, backend);
            tokio::io::copy_bidirectional(&mut client, &mut backend)
                .await
                .expect("tokio copy")
        }
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let payload: &'static [u8] = Vec::leak((0..SIZE).map(|i| (i * 31 % 251) as u8).collect());
    let expected = digest(payload);
    let sides = [
        ("tower-gateway copy_tunnel", Side::Ours { idle: false }),
        (
            "tower-gateway copy_tunnel + idle timeout",
            Side::Ours { idle: true },
        ),
        ("tokio copy_bidirectional", Side::Tokio),
    ];

    // Same answers before timing.
    for (name, side) in sides {
        let (at_backend, back, counts) = runtime.block_on(connection(side, payload, true));
        assert!(
            at_backend == expected && back == expected,
            "{name}: bytes changed"
        );
        assert_eq!(counts, (SIZE as u64, SIZE as u64), "{name}: counts");
    }

    // Warm the allocator up for every side (large buffers): otherwise whichever side runs
    // first pays for the heap growing, which measured 7x slower on this machine.
    for _ in 0..50 {
        for (_, side) in sides {
            run(&runtime, side, payload);
        }
    }

    let mut group = c.benchmark_group("one connection, 1 MiB each way");
    group.throughput(Throughput::Bytes(2 * SIZE as u64));
    for (name, side) in sides {
        group.bench_function(name, |b| b.iter(|| black_box(run(&runtime, side, payload))));
    }
    group.finish();

    const N: u64 = 20;
    println!("\nallocations per connection (pipes and driver tasks included, same for all):");
    for (name, side) in sides {
        let before = allocations();
        for _ in 0..N {
            run(&runtime, side, payload);
        }
        let per = (allocations() - before) as f64 / N as f64;
        println!("  {name:44} {per:.1}");
    }
}

fn run(runtime: &Runtime, side: Side, payload: &'static [u8]) -> (u64, u64) {
    runtime.block_on(connection(side, payload, false)).2
}

criterion_group!(benches, bench);
criterion_main!(benches);
