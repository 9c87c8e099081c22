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

/// Runs one connection through the proxy of `side`; returns what the backend and the client
/// received and the proxy's byte counts (in, out).
async fn connection(side: Side, payload: &[u8]) -> (Vec<u8>, Vec<u8>, (u64, u64)) {
    let (mut client, client_side) = tokio::io::duplex(PIPE);
    let (backend_side, mut backend) = tokio::io::duplex(PIPE);
    let proxy = tokio::spawn(proxy(side, client_side, backend_side));
    let backend_task = tokio::spawn({
        let reply = payload.to_vec();
        async move {
            let mut got = vec![0; reply.len()];
            backend.read_exact(&mut got).await.expect("backend reads");
            for chunk in reply.chunks(CHUNK) {
                backend.write_all(chunk).await.expect("backend writes");
            }
            // Wait for the client's end, passed on by the proxy.
            let mut rest = Vec::new();
            backend.read_to_end(&mut rest).await.expect("backend end");
            got
        }
    });
    for chunk in payload.chunks(CHUNK) {
        client.write_all(chunk).await.expect("client writes");
    }
    let mut back = vec![0; payload.len()];
    client.read_exact(&mut back).await.expect("client reads");
    drop(client);
    let at_backend = backend_task.await.expect("backend task");
    let counts = proxy.await.expect("proxy task");
    (at_backend, back, counts)
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
    let payload: Vec<u8> = (0..SIZE).map(|i| (i * 31 % 251) as u8).collect();
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
        let (at_backend, back, counts) = runtime.block_on(connection(side, &payload));
        assert!(
            at_backend == payload && back == payload,
            "{name}: bytes changed"
        );
        assert_eq!(counts, (SIZE as u64, SIZE as u64), "{name}: counts");
    }

    let mut group = c.benchmark_group("one connection, 1 MiB each way");
    group.throughput(Throughput::Bytes(2 * SIZE as u64));
    for (name, side) in sides {
        group.bench_function(name, |b| {
            b.iter(|| black_box(run(&runtime, side, &payload)))
        });
    }
    group.finish();

    const N: u64 = 20;
    println!("\nallocations per connection (pipes and driver tasks included, same for all):");
    for (name, side) in sides {
        let before = allocations();
        for _ in 0..N {
            run(&runtime, side, &payload);
        }
        let per = (allocations() - before) as f64 / N as f64;
        println!("  {name:44} {per:.1}");
    }
}

fn run(runtime: &Runtime, side: Side, payload: &[u8]) -> (u64, u64) {
    runtime.block_on(connection(side, payload)).2
}

criterion_group!(benches, bench);
criterion_main!(benches);
