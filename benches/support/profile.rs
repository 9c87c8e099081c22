//! A profiling mode shared by the benches: `BENCH_PROFILE=<case>` makes a bench binary run one
//! case `BENCH_N` times (default 200,000) and exit, instead of timing with criterion. Under
//! `valgrind --tool=callgrind` two runs at different `BENCH_N` give a repeatable instruction
//! count per iteration; `benches/profile.sh` does exactly that. Each bench includes this file
//! with `#[path = "support/profile.rs"] mod profile;`.

// Each bench uses the part it needs.
#![allow(dead_code)]

/// The case asked for by `BENCH_PROFILE`, with the iteration count from `BENCH_N`.
pub fn requested() -> Option<(String, usize)> {
    let case = std::env::var("BENCH_PROFILE").ok()?;
    let n = std::env::var("BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    Some((case, n))
}

/// Runs `f` `n` times for a profiler, then exits the process.
pub fn run(n: usize, mut f: impl FnMut()) -> ! {
    for _ in 0..n {
        f();
    }
    std::process::exit(0)
}
