//! `kotadb serve` and `kotadb mcp --stdio`: wiring the store, engine, actors and HTTP
//! together, and shutting down in order.

use crate::engine::parse::Analyzer;
use crate::http::{self, auth, mcp, metrics, AppState, HttpSettings};
use crate::indexer::Indexer;
use crate::service::{Service, ServiceSettings, Workers};
use crate::settings::{Secret, ServeSettings, Settings};
use crate::store::prelude::*;
use crate::store::{OrganizationId, Tier};
use crate::work::{EngineWork, StoreQueue};
use anyhow::Context;
use kotadb_actors::Actors;
use std::sync::Arc;
use std::time::Duration;

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
    config: &Settings,
    args: &ServeSettings,
    public_url: String,
    holder: &str,
) -> anyhow::Result<Parts> {
    let lock = config.data().lock_for_writing(holder)?;
    let store = super::open_store(config).await?;
    let indexer = Arc::new(Indexer::new(
        Arc::clone(&store),
        Arc::new(Analyzer::new()),
        config.data(),
        crate::indexer::IndexSettings::from_settings(config, args.index_threads()),
    )?);
    let work = Arc::new(EngineWork {
        indexer,
        panic_on: args.fault_panic_on.clone(),
        publish_delay: args.fault_publish_delay_ms.map(Duration::from_millis),
    });
    let queue = Arc::new(StoreQueue {
        store: Arc::clone(&store),
    });
    let upkeep: Option<Arc<dyn kotadb_actors::Upkeep>> = args.upkeep_enabled().then(|| {
        Arc::new(crate::upkeep::StoreUpkeep::new(
            Arc::clone(&store),
            args.upkeep(),
        )) as Arc<dyn kotadb_actors::Upkeep>
    });
    let actors = Actors::start_with_upkeep(
        work,
        queue,
        upkeep,
        args.actors(crate::settings::worker_id()),
    )
    .await
    .context("starting the actors")?;
    let service = Arc::new(Service::new(
        Arc::clone(&store),
        Workers::Actors(actors),
        ServiceSettings {
            git_base: config.git_base()?,
            public_url,
            webhook_key: webhook_key(config, args)?,
        },
        config.data(),
        Some(Arc::new(crate::engine::segment::TextCache::new(
            args.text_cache_mb << 20,
        ))),
    ));
    service.spawn_database_probe(crate::service::DATABASE_PROBE_EVERY);
    Ok(Parts {
        service,
        store,
        lock,
    })
}

/// The server key for webhook secrets: from the environment, else a random key kept in
/// the data directory (created once, readable by the owner only).
fn webhook_key(config: &Settings, args: &ServeSettings) -> anyhow::Result<Secret> {
    if let Some(key) = &args.webhook_key {
        return Ok(key.clone());
    }
    let path = config.data().webhook_key();
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(Secret::new(existing));
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
    Ok(Secret::new(key))
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

pub async fn serve(config: &Settings, args: ServeSettings) -> anyhow::Result<()> {
    if args.disable_saas_env_validation {
        if let Err(problems) = args.validate_saas(config) {
            tracing::warn!(
                "DISABLE_SAAS_ENV_VALIDATION is set: starting with an unchecked SaaS configuration. {problems}"
            );
        }
    } else {
        args.validate_saas(config)?;
    }
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
            crate::keys::NewKey {
                tier: Tier::Team,
                name: "admin".into(),
                permissions: crate::store::Permissions::READ_WRITE,
                is_admin: true,
                user_id: None,
            },
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
    let tokens =
        crate::tokens::TokenVerifier::new(crate::tokens::TokenSettings::from_settings(&args)?)?;
    let actors = crate::access::AccessActors::start(
        Arc::new(crate::access::Credentials::new(Arc::clone(&store), tokens)),
        Arc::new(crate::access::Windows::new(Arc::clone(&store))),
        args.key_cache_ttl(),
        args.rate_limiter_shards,
    )
    .await
    .context("starting the key cache and rate limiter actors")?;
    let (usage, usage_writer) = auth::UsageRecorder::start(Arc::clone(&store));
    let auth = Arc::new(auth::Auth::new(
        actors,
        auth::AuthSettings {
            tiers: args.tier_limits(),
            burst_per_second: args.burst_per_second,
            burst: args.burst,
        },
        usage,
    ));
    let revocations = spawn_revocation_listener(&store, &auth);
    let state = AppState {
        service: Arc::clone(&service),
        auth: Arc::clone(&auth),
        metrics: Arc::new(metrics::Metrics::default()),
    };
    let app = http::router(state, &settings);

    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    if let Some(task) = revocations {
        task.abort();
    }
    auth.actors().release_leases().await;
    auth.actors().stop().await;
    // The last usage recorder goes with `auth`; the writer then drains its queue.
    drop(auth);
    usage_writer.finish(Duration::from_secs(10)).await;
    let released = stop_workers(&service).await;
    if !released.is_empty() {
        tracing::info!(
            jobs = released.len(),
            "released running jobs back to the queue"
        );
    }
    store.close().await;
    drop(lock);
    Ok(())
}

/// Keys revoked by other instances (Postgres LISTEN/NOTIFY), dropped from this
/// instance's cache at once; without notifications the cache's TTL bounds the delay.
fn spawn_revocation_listener(
    store: &Arc<dyn crate::store::Store>,
    auth: &Arc<auth::Auth>,
) -> Option<tokio::task::JoinHandle<()>> {
    let mut revoked = store.key_revocations()?;
    let auth = Arc::downgrade(auth);
    Some(tokio::spawn(async move {
        loop {
            match revoked.recv().await {
                Ok(key_id) => match auth.upgrade() {
                    Some(auth) => auth.forget_key(&key_id).await,
                    None => return,
                },
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }))
}

/// Stops claiming jobs, gives running ones 10 s, releases the rest; their ids.
async fn stop_workers(service: &Service) -> Vec<String> {
    match service.actors() {
        Some(actors) => actors.clone().shutdown(Duration::from_secs(10)).await,
        None => Vec::new(),
    }
}

/// `kotadb mcp --stdio`: the same tools for a local agent, as the local organization.
pub async fn mcp_stdio(config: &Settings, args: ServeSettings) -> anyhow::Result<()> {
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
    stop_workers(&service).await;
    store.close().await;
    drop(lock);
    result
}
