//! Warm, in-process search latency over a saved index: the engine alone, without process
//! start-up, HTTP or the database. Used by scripts/bench-engine.sh.
//!
//! `cargo run --release --example search_latency -- INDEX_DIR RUNS [--regex] [-i] PATTERN`
//! prints `p50_ms p99_ms total candidates` for the pattern.

use kotadb::engine::search::{CompiledSearch, SearchRequest, MAX_LIMIT};
use kotadb::engine::snapshot::Snapshot;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, runs, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: search_latency INDEX_DIR RUNS [--regex] [-i] PATTERN");
    };
    let runs: usize = runs.parse()?;
    let regex = rest.iter().any(|a| a == "--regex");
    let insensitive = rest.iter().any(|a| a == "-i");
    let pattern = rest.last().ok_or_else(|| anyhow::anyhow!("no pattern"))?;
    let snapshot = Snapshot::load(std::path::Path::new(dir))?
        .ok_or_else(|| anyhow::anyhow!("no index in {dir}"))?;
    let request = SearchRequest {
        query: pattern.clone(),
        regex,
        case_sensitive: !insensitive,
        path: None,
        language: None,
        limit: MAX_LIMIT,
    };
    // KOTADB_TEXT_CACHE_MB=N measures with the service's decompressed-block cache.
    let cache = std::env::var("KOTADB_TEXT_CACHE_MB")
        .ok()
        .and_then(|mb| mb.parse::<u64>().ok())
        .map(|mb| kotadb::engine::segment::TextCache::new(mb << 20));
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs.max(1) + 2 {
        let started = Instant::now();
        let compiled = CompiledSearch::new(&request)?;
        let found = compiled.run(&snapshot, cache.as_ref())?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        last = Some((found.total, found.candidates));
    }
    let mut measured = times.split_off(2); // two warm-up runs
    measured.sort_by(f64::total_cmp);
    let at = |q: f64| measured[((measured.len() - 1) as f64 * q).round() as usize];
    let (total, candidates) = last.unwrap_or_default();
    println!("{:.3} {:.3} {total} {candidates}", at(0.5), at(0.99));
    Ok(())
}
