//! Authentication plus rate limiting per request, on a cache hit: the request path's
//! access control without HTTP.
//!
//! ```sh
//! cargo run --release --example access_latency                 # SQLite only
//! cargo run --release --example access_latency -- postgres://… # and Postgres (or DATABASE_URL=)
//! ```
//!
//! For each backend (the embedded SQLite store in a temporary directory; a Postgres store
//! opened on the given URL, migrated, keys added to the local organization), each rate
//! limiter shard count (`SHARDS`, default "1 4") and 1 key or `KEYS` (default 1,000)
//! distinct keys made by `kotadb::keys::create`, it starts the real
//! `kotadb::access::AccessActors` over `Credentials` (the `TokenVerifier` with no settings)
//! and `Windows`, warms the cache (one pass over the keys, then `ITERATIONS` / 10 more
//! requests), and times, per request, what `http::auth::Auth::authenticate` and
//! `require_key` do before the handler: `keys::fingerprint`, `actors.resolve`, the
//! revoked / expiry / organization checks, the `Limits` from the tier, `actors.admit`.
//! `ITERATIONS` requests (default 100,000) sequentially, then the same number spread
//! over `TASKS` (default 8) concurrent tasks on a `WORKERS`-thread runtime (default: the
//! number of CPUs), round-robin over the keys. It prints p50 / p90 / p99 / max µs,
//! requests per second, and the database round trips of the timed part: credential
//! lookups (`Credentials::lookup`, one `key` query each) and window leases
//! (`Windows::lease`, one `lease_window` upsert each) counted by decorators around the
//! real lookup and leaser.
//!
//! The hourly limit is 10^9 and the burst bucket 10^9 (as the load benchmarks set
//! them), so every request is admitted and counted; the key cache TTL is the default
//! 30 s, longer than any run.

use async_trait::async_trait;
use kotadb::access::{Checked, Credentials, Windows};
use kotadb::keys::{self, NewKey};
use kotadb::settings::DEFAULT_KEY_CACHE_TTL;
use kotadb::store::{OrganizationId, Permissions, Store, Tier, Timestamp};
use kotadb::tokens::{TokenSettings, TokenVerifier};
use kotadb_actors::access::{
    Admission, CredentialLookup, LeaseAnswer, LeaseAsk, Limits, Window, WindowLeaser,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts the calls that reach the database.
struct Counting<T> {
    inner: T,
    calls: AtomicU64,
}

impl<T> Counting<T> {
    fn new(inner: T) -> Counting<T> {
        Counting {
            inner,
            calls: AtomicU64::new(0),
        }
    }
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl CredentialLookup for Counting<Credentials> {
    type Identity = Checked;
    async fn lookup(&self, credential: &str) -> Result<Option<Checked>, String> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.lookup(credential).await
    }
    fn key_id(identity: &Checked) -> Option<&str> {
        Credentials::key_id(identity)
    }
}

#[async_trait]
impl WindowLeaser for Counting<Windows> {
    async fn lease(&self, ask: LeaseAsk) -> Result<LeaseAnswer, String> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.lease(ask).await
    }
    async fn give_back(&self, subject: &str, window: Window, unspent: u64) -> Result<(), String> {
        self.inner.give_back(subject, window, unspent).await
    }
}

type Actors = kotadb_actors::AccessActors<Counting<Credentials>, Counting<Windows>>;

/// One request's access control, as `Auth::authenticate` + `require_key` do it.
async fn request(actors: &Actors, credential: &str) -> bool {
    let checked = match actors
        .resolve(keys::fingerprint(credential), credential.to_string())
        .await
    {
        Ok(Some(checked)) => checked,
        _ => return false,
    };
    let Ok(identity) = checked.as_ref() else {
        return false;
    };
    if identity.revoked
        || identity
            .expires_at
            .is_some_and(|at| at <= Timestamp::now().as_offset_date_time().unix_timestamp())
    {
        return false;
    }
    let Some(org) = identity.organizations.first() else {
        return false;
    };
    let limits = Limits {
        per_hour: identity.rate_limit.unwrap_or(1_000_000_000),
        per_month: identity.monthly_quota,
        burst_per_second: 1_000_000_000,
        burst: 1_000_000_000,
    };
    matches!(
        actors
            .admit(identity.subject(), org.0.clone(), limits)
            .await,
        Ok(Admission::Admitted { .. })
    )
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e6
}

struct Row {
    backend: &'static str,
    shards: usize,
    keys: usize,
    mode: String,
    latencies: Vec<Duration>,
    wall: Duration,
    lookups: u64,
    leases: u64,
    refused: u64,
}

async fn measure(
    store: Arc<dyn Store>,
    backend: &'static str,
    credentials: &[String],
    shards: usize,
    iterations: usize,
    tasks: usize,
) -> Vec<Row> {
    let lookup = Arc::new(Counting::new(Credentials::new(
        Arc::clone(&store),
        TokenVerifier::new(TokenSettings::default()).expect("token verifier"),
    )));
    let leaser = Arc::new(Counting::new(Windows::new(Arc::clone(&store))));
    let actors = Arc::new(
        Actors::start(
            Arc::clone(&lookup),
            Arc::clone(&leaser),
            DEFAULT_KEY_CACHE_TTL,
            shards,
        )
        .await
        .expect("access actors"),
    );
    let credentials: Arc<Vec<String>> = Arc::new(credentials.to_vec());
    // Warm-up: every key cached and holding a leased block, then steady state.
    for c in credentials.iter() {
        assert!(request(&actors, c).await, "warm-up request refused");
    }
    for i in 0..iterations / 10 {
        request(&actors, &credentials[i % credentials.len()]).await;
    }
    let mut rows = Vec::new();
    for concurrent in [1, tasks] {
        let (lookups, leases) = (lookup.calls(), leaser.calls());
        let started = Instant::now();
        let mut handles = Vec::new();
        for t in 0..concurrent {
            let actors = Arc::clone(&actors);
            let credentials = Arc::clone(&credentials);
            let count = iterations / concurrent + usize::from(t < iterations % concurrent);
            handles.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(count);
                let mut refused = 0u64;
                for i in 0..count {
                    let credential = &credentials[(i * concurrent + t) % credentials.len()];
                    let at = Instant::now();
                    let ok = request(&actors, credential).await;
                    latencies.push(at.elapsed());
                    refused += u64::from(!ok);
                }
                (latencies, refused)
            }));
        }
        let mut latencies = Vec::with_capacity(iterations);
        let mut refused = 0;
        for handle in handles {
            let (l, r) = handle.await.expect("task");
            latencies.extend(l);
            refused += r;
        }
        let wall = started.elapsed();
        latencies.sort_unstable();
        rows.push(Row {
            backend,
            shards,
            keys: credentials.len(),
            mode: if concurrent == 1 {
                "sequential".to_string()
            } else {
                format!("{concurrent} tasks")
            },
            latencies,
            wall,
            lookups: lookup.calls() - lookups,
            leases: leaser.calls() - leases,
            refused,
        });
    }
    actors.release_leases().await;
    actors.stop().await;
    rows
}

async fn make_keys(store: &dyn Store, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let created = keys::create(
            store,
            &OrganizationId::local(),
            NewKey {
                tier: Tier::Team,
                name: format!("access_latency {i}"),
                permissions: Permissions::READ_WRITE,
                is_admin: false,
                user_id: None,
            },
        )
        .await
        .expect("create key");
        out.push(created.text);
    }
    out
}

async fn run_backend(
    store: Arc<dyn Store>,
    backend: &'static str,
    shard_counts: &[usize],
    many: usize,
    iterations: usize,
    tasks: usize,
) -> Vec<Row> {
    let all = make_keys(store.as_ref(), many.max(1)).await;
    let mut rows = Vec::new();
    for &shards in shard_counts {
        for keys in [&all[..1], &all[..]] {
            let measured =
                measure(Arc::clone(&store), backend, keys, shards, iterations, tasks).await;
            for r in &measured {
                eprintln!(
                    "[access_latency] {} shards={} keys={} {}: p50 {:.1} µs, {:.0} req/s",
                    r.backend,
                    r.shards,
                    r.keys,
                    r.mode,
                    percentile(&r.latencies, 50.0),
                    r.latencies.len() as f64 / r.wall.as_secs_f64()
                );
            }
            rows.extend(measured);
            if many <= 1 {
                break;
            }
        }
    }
    rows
}

fn main() {
    let iterations = env_usize("ITERATIONS", 100_000).max(1);
    let tasks = env_usize("TASKS", 8).max(1);
    let many = env_usize("KEYS", 1_000).max(1);
    let workers = env_usize(
        "WORKERS",
        std::thread::available_parallelism().map_or(2, |n| n.get()),
    );
    let shard_counts: Vec<usize> = std::env::var("SHARDS")
        .unwrap_or_else(|_| "1 4".into())
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime");
    let rows = runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite: Arc<dyn Store> = Arc::new(
            kotadb::store::sqlite::SqliteStore::open(&dir.path().join("kotadb.db"))
                .await
                .expect("open SQLite"),
        );
        let mut rows = run_backend(sqlite, "sqlite", &shard_counts, many, iterations, tasks).await;
        if let Some(url) = url {
            let pg: Arc<dyn Store> = Arc::new(
                kotadb::store::postgres::PostgresStore::open(&url)
                    .await
                    .expect("open Postgres"),
            );
            rows.extend(run_backend(pg, "postgres", &shard_counts, many, iterations, tasks).await);
        }
        rows
    });
    println!(
        "| backend | shards | keys | mode | requests | p50 µs | p90 µs | p99 µs | max µs | req/s | key lookups (DB) | window leases (DB) | leases per 100 requests | refused |"
    );
    println!("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let n = r.latencies.len();
        println!(
            "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.0} | {:.0} | {} | {} | {:.2} | {} |",
            r.backend,
            r.shards,
            r.keys,
            r.mode,
            n,
            percentile(&r.latencies, 50.0),
            percentile(&r.latencies, 90.0),
            percentile(&r.latencies, 99.0),
            percentile(&r.latencies, 100.0),
            n as f64 / r.wall.as_secs_f64(),
            r.lookups,
            r.leases,
            100.0 * r.leases as f64 / n as f64,
            r.refused,
        );
    }
    println!();
    println!(
        "{iterations} requests per row after a warm-up; concurrent rows: {tasks} tasks on a {workers}-thread Tokio runtime; hourly limit and burst 10^9; key cache TTL {} s.",
        DEFAULT_KEY_CACHE_TTL.as_secs()
    );
}
