//! `kotadb serve` and `kotadb mcp --stdio`: wiring the store, engine, actors and HTTP
//! together, and shutting down in order.

use crate::config::Config;
use crate::engine::parse::Analyzer;
use crate::http::{self, auth, mcp, metrics, AppState, HttpSettings};
use crate::indexer::{IndexSettings, Indexer};
use crate::service::{Service, ServiceSettings};
use crate::store::{OrganizationId, Store, Tier};
use crate::work::{EngineWork, StoreQueue};
use anyhow::Context;
use kotadb_actors::{Actors, ActorsConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `kotadb serve` settings (names in CONTRACT.md).
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,
    #[arg(long, env = "KOTADB_BIND", default_value = "127.0.0.1")]
    pub bind: String,
    /// Origins allowed to call /mcp from a browser (comma-separated).
    #[arg(
        long,
        env = "KOTA_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = "http://localhost:*,http://127.0.0.1:*,http://[::1]:*"
    )]
    pub allowed_origins: Vec<String>,
    /// Host names the service answers to besides loopback (set behind a proxy).
    #[arg(long, env = "KOTADB_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Base of URLs handed out (webhook URLs); default http://BIND:PORT.
    #[arg(long, env = "KOTADB_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[arg(long, env = "KOTA_RATE_LIMIT_FREE_PER_HOUR", default_value_t = 1_000)]
    pub rate_free: u64,
    #[arg(long, env = "KOTA_RATE_LIMIT_SOLO_PER_HOUR", default_value_t = 5_000)]
    pub rate_solo: u64,
    #[arg(long, env = "KOTA_RATE_LIMIT_TEAM_PER_HOUR", default_value_t = 25_000)]
    pub rate_team: u64,
    #[arg(long, env = "KOTADB_JOB_LEASE_SECS", default_value_t = 60)]
    pub job_lease_secs: u64,
    /// Server key from which webhook secrets are derived (default: DATA_DIR/webhook.key).
    #[arg(long, env = "KOTADB_WEBHOOK_KEY", hide_env_values = true)]
    pub webhook_key: Option<String>,
    /// Requests handled at once; more get 503 immediately.
    #[arg(long, env = "KOTADB_MAX_CONCURRENT_REQUESTS", default_value_t = 512)]
    pub max_concurrent_requests: usize,
    #[arg(long, env = "KOTADB_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    #[arg(long, env = "KOTADB_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Repository indexing jobs run at once.
    #[arg(long, env = "KOTADB_MAX_CONCURRENT_JOBS", default_value_t = 2)]
    pub max_concurrent_jobs: usize,
    /// Attempts before a failing job fails for good.
    #[arg(long, env = "KOTADB_JOB_MAX_ATTEMPTS", default_value_t = 3)]
    pub job_max_attempts: u32,
    /// First retry delay in milliseconds (doubles per attempt).
    #[arg(long, env = "KOTADB_JOB_BACKOFF_MS", default_value_t = 1_000)]
    pub job_backoff_ms: u64,
    /// Threads that parse files while indexing (default: all cores but one, so searches
    /// always have a core; `kotadb index` uses every core).
    #[arg(long, env = "KOTADB_INDEX_THREADS")]
    pub index_threads: Option<usize>,
    /// Memory for decompressed index blocks shared by searches, in MiB.
    #[arg(long, env = "KOTADB_TEXT_CACHE_MB", default_value_t = 256)]
    pub text_cache_mb: u64,
    /// Fault injection for crash-isolation tests: indexing a repository whose URL
    /// contains this text panics. Never set it in production.
    #[arg(long, env = "KOTADB_FAULT_PANIC_ON", hide = true)]
    pub fault_panic_on: Option<String>,
}

/// The parts a running service is made of.
pub struct Parts {
    pub service: Arc<Service>,
    pub store: Arc<dyn Store>,
    /// This process is the data directory's one writer while this lives.
    pub lock: crate::layout::WriterLock,
}

/// Builds the service: the writer lock (refused at once when another process writes the
/// data directory), store, engine, actors. `holder` names this process in that refusal.
pub async fn build(
    config: &Config,
    args: &ServeArgs,
    public_url: String,
    holder: &str,
) -> anyhow::Result<Parts> {
    let lock = config.data().lock_for_writing(holder)?;
    let store = super::open_store(config).await?;
    let analyzer = Arc::new(Analyzer::new());
    let settings = IndexSettings {
        max_file_bytes: config.max_file_bytes,
        threads: args.index_threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
        }),
        ..IndexSettings::default()
    };
    let indexer = Arc::new(Indexer::new(
        Arc::clone(&store),
        analyzer,
        config.data(),
        settings,
    )?);
    let work = Arc::new(EngineWork {
        indexer,
        panic_on: args.fault_panic_on.clone(),
    });
    let queue = Arc::new(StoreQueue {
        store: Arc::clone(&store),
    });
    let actors_config = ActorsConfig {
        lease: Duration::from_secs(args.job_lease_secs.max(3)),
        max_concurrent_jobs: args.max_concurrent_jobs.max(1),
        max_attempts: args.job_max_attempts.max(1),
        backoff_base: Duration::from_millis(args.job_backoff_ms.max(1)),
        worker_id: format!("kotadb-{}", std::process::id()),
        ..ActorsConfig::default()
    };
    let actors = Actors::start(work, queue, actors_config)
        .await
        .context("starting the actors")?;
    let webhook_key = webhook_key(config, args)?;
    let service = Arc::new(Service {
        store: Arc::clone(&store),
        text_cache: Arc::new(crate::engine::segment::TextCache::new(
            args.text_cache_mb << 20,
        )),
        lookups: Default::default(),
        actors,
        settings: ServiceSettings {
            git_base: crate::engine::url_policy::GitBase::parse(&config.git_base_url)?,
            public_url,
            webhook_key,
        },
        data: config.data(),
        started: Instant::now(),
    });
    Ok(Parts {
        service,
        store,
        lock,
    })
}

/// The server key for webhook secrets: from the environment, else a random key kept in
/// the data directory (created once, readable by the owner only).
fn webhook_key(config: &Config, args: &ServeArgs) -> anyhow::Result<Vec<u8>> {
    if let Some(key) = &args.webhook_key {
        return Ok(key.as_bytes().to_vec());
    }
    let path = config.data().webhook_key();
    if let Ok(existing) = std::fs::read(&path) {
        return Ok(existing);
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let key = hex::encode(bytes);
    std::fs::write(&path, &key).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(key.into_bytes())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: no new jobs are claimed; running ones finish or are released");
}

pub async fn serve(config: &Config, args: ServeArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind((args.bind.as_str(), args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.bind, args.port))?;
    let address = listener.local_addr()?;
    let base = format!("http://{address}");
    let public_url = args.public_url.clone().unwrap_or_else(|| base.clone());
    let holder = format!("kotadb serve (pid {}) on {base}", std::process::id());
    let Parts {
        service,
        store,
        lock,
    } = build(config, &args, public_url, &holder).await?;

    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "kotadb {} listening on {base} ({} database)",
        env!("CARGO_PKG_VERSION"),
        store.backend()
    )?;
    let is_embedded = store.backend() == "sqlite";
    if is_embedded && store.count_keys().await? == 0 {
        let created = crate::keys::create(
            store.as_ref(),
            &OrganizationId::local(),
            Tier::Team,
            "admin",
            true,
        )
        .await?;
        writeln!(
            out,
            "MCP configuration for Claude Code, Cursor or any MCP client (.mcp.json):"
        )?;
        let mcp_config = serde_json::json!({"mcpServers": {"kotadb": {
            "type": "http", "url": format!("{base}/mcp"),
            "headers": {"Authorization": format!("Bearer {}", created.text)}}}});
        writeln!(out, "{}", serde_json::to_string_pretty(&mcp_config)?)?;
        writeln!(out, "Created the admin API key (shown once, store it now):")?;
        writeln!(out, "{}", created.text)?;
    }
    out.flush()?;
    drop(out);

    let mut allowed_hosts = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "[::1]".to_string(),
    ];
    allowed_hosts.extend(args.allowed_hosts.iter().filter(|h| !h.is_empty()).cloned());
    if let Some(public) = &args.public_url {
        if let Some(host) = public
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', ':']).next())
        {
            allowed_hosts.push(host.to_string());
        }
    }
    let settings = HttpSettings {
        max_body_bytes: args.max_body_bytes,
        request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
        max_concurrent_requests: args.max_concurrent_requests.max(1),
        mcp: mcp::McpSettings {
            allowed_hosts,
            allowed_origins: args
                .allowed_origins
                .iter()
                .filter(|o| !o.is_empty())
                .cloned()
                .collect(),
        },
    };
    let limits = auth::TierLimits {
        free: args.rate_free,
        solo: args.rate_solo,
        team: args.rate_team,
    };
    let auth = Arc::new(auth::Auth::new(
        Arc::clone(&store),
        limits,
        Duration::from_secs(30),
    ));
    let state = AppState {
        service: Arc::clone(&service),
        auth: Arc::clone(&auth),
        metrics: Arc::new(metrics::Metrics::default()),
    };
    let app = http::router(state, &settings);

    let flusher = {
        let auth = Arc::clone(&auth);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                auth.flush_usage().await;
            }
        })
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    flusher.abort();
    let released = service
        .actors
        .clone()
        .shutdown(Duration::from_secs(10))
        .await;
    if !released.is_empty() {
        tracing::info!(
            jobs = released.len(),
            "released running jobs back to the queue"
        );
    }
    auth.flush_usage().await;
    store.close().await;
    drop(lock);
    Ok(())
}

/// `kotadb mcp --stdio`: the same tools for a local agent, as the local organization.
pub async fn mcp_stdio(config: &Config, args: ServeArgs) -> anyhow::Result<()> {
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}:{}", args.bind, args.port));
    let holder = format!("kotadb mcp --stdio (pid {})", std::process::id());
    let Parts {
        service,
        store,
        lock,
    } = build(config, &args, public_url, &holder).await?;
    let result = mcp::serve_stdio(Arc::clone(&service)).await;
    let _ = service
        .actors
        .clone()
        .shutdown(Duration::from_secs(10))
        .await;
    store.close().await;
    drop(lock);
    result
}
