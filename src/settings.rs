//! Settings: one layered type per command scope, read once at the edge by clap — a flag
//! wins over the environment variable, which wins over the default — with every default
//! stated once, here (the names are in CONTRACT.md). The rest of the code receives the
//! parts it needs through the conversions below, never its own copy of a default.
//!
//! Secrets ([`Secret`]: the database URL, the webhook key) never print: their `Debug` is
//! `[redacted]`, they have no `Display`, and clap hides their environment values in
//! `--help`.

use crate::engine::url_policy::{GitBase, UrlError};
use crate::layout::DataDir;
use crate::store::Tier;
use kotadb_actors::{ActorsConfig, UpkeepSchedule};
use std::path::PathBuf;
use std::time::Duration;

/// A value that must never reach a log, an error message or `--help`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Secret, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

pub const DEFAULT_PORT: u16 = 8080;
pub const DEFAULT_BIND: &str = "127.0.0.1";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_GIT_BASE_URL: &str = "https://github.com";
/// Larger files are recorded but not searchable.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 20 << 20;
/// Requests per hour for each tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierLimits {
    pub free: u64,
    pub solo: u64,
    pub team: u64,
}

impl TierLimits {
    pub fn for_tier(&self, tier: Tier) -> u64 {
        match tier {
            Tier::Free => self.free,
            Tier::Solo => self.solo,
            Tier::Team => self.team,
        }
    }
}

impl Default for TierLimits {
    fn default() -> Self {
        DEFAULT_TIER_LIMITS
    }
}

pub const DEFAULT_TIER_LIMITS: TierLimits = TierLimits {
    free: 1_000,
    solo: 5_000,
    team: 25_000,
};
/// How long a cached key check (positive or negative) is trusted.
pub const DEFAULT_KEY_CACHE_TTL: Duration = Duration::from_secs(30);
/// The burst bucket: refilled at this many requests per second per key or user...
pub const DEFAULT_BURST_PER_SECOND: u32 = 50;
/// ...holding at most this many.
pub const DEFAULT_BURST: u32 = 200;
/// Rate-limiter actors (see `kotadb_actors::access`).
pub const DEFAULT_RATE_LIMITER_SHARDS: usize = 4;
/// Retention of raw usage records (kept longer as hourly roll-ups), of the events of
/// finished jobs, and of settled webhook deliveries, in days.
pub const DEFAULT_USAGE_RETENTION_DAYS: u64 = 30;
pub const DEFAULT_JOB_EVENTS_RETENTION_DAYS: u64 = 30;
pub const DEFAULT_WEBHOOK_DELIVERIES_RETENTION_DAYS: u64 = 30;
/// Alert thresholds (see `crate::upkeep`).
pub const DEFAULT_ALERT_QUEUE_DEPTH: u64 = 100;
pub const DEFAULT_ALERT_FAILURE_RATE: f64 = 0.5;
pub const DEFAULT_ALERT_FAILURE_MIN_JOBS: u64 = 5;
pub const DEFAULT_ALERT_WINDOW_SECS: u64 = 900;
pub const DEFAULT_ALERT_STUCK_JOB_SECS: u64 = 3_600;
pub const DEFAULT_ALERT_DATABASE_LATENCY_MS: u64 = 1_000;

/// Settings of every command: where the data is and whom the service may fetch from.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Data directory: the embedded database, clones and search indexes.
    #[arg(long, env = "KOTADB_DATA_DIR", default_value = DEFAULT_DATA_DIR, global = true)]
    pub data_dir: PathBuf,
    /// A postgres:// URL selects Postgres; absent means the embedded SQLite database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<Secret>,
    /// Remote repositories must be under this URL.
    #[arg(
        long,
        env = "KOTA_GIT_BASE_URL",
        default_value = DEFAULT_GIT_BASE_URL,
        global = true
    )]
    pub git_base_url: String,
    /// Files larger than this many bytes are recorded but not searchable.
    #[arg(long, env = "KOTADB_MAX_FILE_BYTES", default_value_t = DEFAULT_MAX_FILE_BYTES, global = true)]
    pub max_file_bytes: u64,
}

impl Settings {
    /// Whether `DATABASE_URL` selects Postgres (SaaS mode).
    pub fn is_saas(&self) -> bool {
        self.database_url.as_ref().is_some_and(|url| {
            let url = url.expose();
            url.starts_with("postgres://") || url.starts_with("postgresql://")
        })
    }

    /// The data directory's layout.
    pub fn data(&self) -> DataDir {
        DataDir::new(&self.data_dir)
    }

    /// The git base URL, parsed (every command that takes a URL checks it against this).
    pub fn git_base(&self) -> Result<GitBase, UrlError> {
        GitBase::parse(&self.git_base_url)
    }
}

/// What is wrong with the SaaS configuration, every problem named.
#[derive(Debug, thiserror::Error)]
#[error("the SaaS configuration is incomplete (set DISABLE_SAAS_ENV_VALIDATION=1 to start anyway):\n  - {}", .0.join("\n  - "))]
pub struct SaasConfigError(pub Vec<String>);

/// `kotadb serve` settings (names in CONTRACT.md).
#[derive(Debug, Clone, clap::Args)]
pub struct ServeSettings {
    #[arg(long, env = "PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    #[arg(long, env = "KOTADB_BIND", default_value = DEFAULT_BIND)]
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
    #[arg(long, env = "KOTA_RATE_LIMIT_FREE_PER_HOUR", default_value_t = DEFAULT_TIER_LIMITS.free)]
    pub rate_free: u64,
    #[arg(long, env = "KOTA_RATE_LIMIT_SOLO_PER_HOUR", default_value_t = DEFAULT_TIER_LIMITS.solo)]
    pub rate_solo: u64,
    #[arg(long, env = "KOTA_RATE_LIMIT_TEAM_PER_HOUR", default_value_t = DEFAULT_TIER_LIMITS.team)]
    pub rate_team: u64,
    /// Seconds a checked credential (valid or not) is trusted before it is checked again;
    /// a key revoked on another instance is refused within this time.
    #[arg(long, env = "KOTADB_KEY_CACHE_TTL_SECS", default_value_t = DEFAULT_KEY_CACHE_TTL.as_secs())]
    pub key_cache_ttl_secs: u64,
    /// Short burst limit per key or user: requests per second the bucket refills...
    #[arg(long, env = "KOTADB_BURST_PER_SECOND", default_value_t = DEFAULT_BURST_PER_SECOND)]
    pub burst_per_second: u32,
    /// ...and how many it holds.
    #[arg(long, env = "KOTADB_BURST", default_value_t = DEFAULT_BURST)]
    pub burst: u32,
    /// Rate-limiter actors; keys are spread over them by hash.
    #[arg(long, env = "KOTADB_RATE_LIMITER_SHARDS", default_value_t = DEFAULT_RATE_LIMITER_SHARDS)]
    pub rate_limiter_shards: usize,
    /// The Supabase project (`https://<ref>.supabase.co`): access tokens signed with
    /// ES256/RS256 are checked against its JWKS.
    #[arg(long, env = "SUPABASE_URL")]
    pub supabase_url: Option<String>,
    #[arg(long, env = "SUPABASE_ANON_KEY", hide_env_values = true)]
    pub supabase_anon_key: Option<Secret>,
    #[arg(long, env = "SUPABASE_SERVICE_KEY", hide_env_values = true)]
    pub supabase_service_key: Option<Secret>,
    /// The project's legacy JWT secret: access tokens signed HS256 are checked with it.
    #[arg(long, env = "SUPABASE_JWT_SECRET", hide_env_values = true)]
    pub supabase_jwt_secret: Option<Secret>,
    /// Start even when the SaaS configuration is incomplete (logs a loud warning).
    #[arg(long, env = "DISABLE_SAAS_ENV_VALIDATION", value_parser = clap::builder::FalseyValueParser::new(), default_value = "false")]
    pub disable_saas_env_validation: bool,
    #[arg(long, env = "KOTADB_JOB_LEASE_SECS", default_value_t = ActorsConfig::DEFAULT_LEASE_SECS)]
    pub job_lease_secs: u64,
    /// Server key from which webhook secrets are derived (default: DATA_DIR/webhook.key).
    #[arg(long, env = "KOTADB_WEBHOOK_KEY", hide_env_values = true)]
    pub webhook_key: Option<Secret>,
    /// Requests handled at once; more get 503 immediately.
    #[arg(long, env = "KOTADB_MAX_CONCURRENT_REQUESTS", default_value_t = 512)]
    pub max_concurrent_requests: usize,
    #[arg(long, env = "KOTADB_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    #[arg(long, env = "KOTADB_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Repository indexing jobs run at once.
    #[arg(long, env = "KOTADB_MAX_CONCURRENT_JOBS", default_value_t = ActorsConfig::DEFAULT_MAX_CONCURRENT_JOBS)]
    pub max_concurrent_jobs: usize,
    /// Attempts before a failing job fails for good.
    #[arg(long, env = "KOTADB_JOB_MAX_ATTEMPTS", default_value_t = ActorsConfig::DEFAULT_MAX_ATTEMPTS)]
    pub job_max_attempts: u32,
    /// First retry delay in milliseconds (doubles per attempt).
    #[arg(long, env = "KOTADB_JOB_BACKOFF_MS", default_value_t = ActorsConfig::DEFAULT_BACKOFF_MS)]
    pub job_backoff_ms: u64,
    /// Threads that parse files while indexing (default: all cores but one, so searches
    /// always have a core; `kotadb index` uses every core).
    #[arg(long, env = "KOTADB_INDEX_THREADS")]
    pub index_threads: Option<usize>,
    /// Memory for decompressed index blocks shared by searches, in MiB.
    #[arg(long, env = "KOTADB_TEXT_CACHE_MB", default_value_t = 256)]
    pub text_cache_mb: u64,
    /// Seconds between upkeep rounds (alert checks; roll-ups and retention when due);
    /// 0 turns the upkeep off on this instance.
    #[arg(long, env = "KOTADB_UPKEEP_TICK_SECS", default_value_t = UpkeepSchedule::DEFAULT_TICK_SECS)]
    pub upkeep_tick_secs: u64,
    /// Seconds between hourly usage roll-ups.
    #[arg(long, env = "KOTADB_USAGE_ROLLUP_SECS", default_value_t = UpkeepSchedule::DEFAULT_ROLL_UP_SECS)]
    pub usage_rollup_secs: u64,
    /// Seconds between retention passes.
    #[arg(long, env = "KOTADB_RETENTION_SWEEP_SECS", default_value_t = UpkeepSchedule::DEFAULT_RETENTION_SECS)]
    pub retention_sweep_secs: u64,
    /// Days raw usage records are kept (only once rolled up).
    #[arg(long, env = "KOTADB_USAGE_RETENTION_DAYS", default_value_t = DEFAULT_USAGE_RETENTION_DAYS)]
    pub usage_retention_days: u64,
    /// Days the events of a finished job are kept.
    #[arg(long, env = "KOTADB_JOB_EVENTS_RETENTION_DAYS", default_value_t = DEFAULT_JOB_EVENTS_RETENTION_DAYS)]
    pub job_events_retention_days: u64,
    /// Days a settled webhook delivery is kept (a redelivery after that is not deduplicated).
    #[arg(long, env = "KOTADB_WEBHOOK_DELIVERIES_RETENTION_DAYS", default_value_t = DEFAULT_WEBHOOK_DELIVERIES_RETENTION_DAYS)]
    pub webhook_deliveries_retention_days: u64,
    /// Slack-compatible incoming webhook for alerts (`{"text": …}`); unset: alerts are logged only.
    #[arg(long, env = "KOTA_ALERT_WEBHOOK_URL", hide_env_values = true)]
    pub alert_webhook_url: Option<Secret>,
    /// Alert when more jobs than this are queued.
    #[arg(long, env = "KOTADB_ALERT_QUEUE_DEPTH", default_value_t = DEFAULT_ALERT_QUEUE_DEPTH)]
    pub alert_queue_depth: u64,
    /// Alert when more than this fraction of the jobs finished in the window failed...
    #[arg(long, env = "KOTADB_ALERT_FAILURE_RATE", default_value_t = DEFAULT_ALERT_FAILURE_RATE)]
    pub alert_failure_rate: f64,
    /// ...once at least this many finished in it.
    #[arg(long, env = "KOTADB_ALERT_FAILURE_MIN_JOBS", default_value_t = DEFAULT_ALERT_FAILURE_MIN_JOBS)]
    pub alert_failure_min_jobs: u64,
    /// The failure-rate window, in seconds.
    #[arg(long, env = "KOTADB_ALERT_WINDOW_SECS", default_value_t = DEFAULT_ALERT_WINDOW_SECS)]
    pub alert_window_secs: u64,
    /// Alert when a job has been running longer than this many seconds.
    #[arg(long, env = "KOTADB_ALERT_STUCK_JOB_SECS", default_value_t = DEFAULT_ALERT_STUCK_JOB_SECS)]
    pub alert_stuck_job_secs: u64,
    /// Alert when a database round trip takes longer than this many milliseconds.
    #[arg(long, env = "KOTADB_ALERT_DATABASE_LATENCY_MS", default_value_t = DEFAULT_ALERT_DATABASE_LATENCY_MS)]
    pub alert_database_latency_ms: u64,
    /// Fault injection for crash-isolation tests: indexing a repository whose URL
    /// contains this text panics. Never set it in production.
    #[arg(long, env = "KOTADB_FAULT_PANIC_ON", hide = true)]
    pub fault_panic_on: Option<String>,
    /// Fault injection for consistency tests: milliseconds to wait between an index run's
    /// database commit and the publication of its snapshot. Never set it in production.
    #[arg(long, env = "KOTADB_FAULT_PUBLISH_DELAY_MS", hide = true)]
    pub fault_publish_delay_ms: Option<u64>,
}

impl ServeSettings {
    /// Parse threads for a server: all cores but one, so searches keep a core.
    pub fn index_threads(&self) -> usize {
        self.index_threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
        })
    }

    /// Seed 002's startup validation of SaaS mode (`DATABASE_URL` is Postgres): every
    /// missing or malformed variable is named in one error, before anything is served.
    /// `DISABLE_SAAS_ENV_VALIDATION` skips it with a loud warning.
    pub fn validate_saas(&self, config: &Settings) -> Result<(), SaasConfigError> {
        if !config.is_saas() {
            return Ok(());
        }
        let mut problems = Vec::new();
        let present = |value: Option<&str>| value.map(str::trim).is_some_and(|v| !v.is_empty());
        match self.supabase_url.as_deref().map(str::trim) {
            None | Some("") => {
                problems.push("SUPABASE_URL is missing (https://<project>.supabase.co)".to_string())
            }
            Some(text) => match url::Url::parse(text) {
                Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => {}
                _ => problems.push(format!("SUPABASE_URL {text:?} is not an http(s) URL")),
            },
        }
        if !present(self.supabase_anon_key.as_ref().map(Secret::expose)) {
            problems.push("SUPABASE_ANON_KEY is missing".into());
        }
        if !present(self.supabase_service_key.as_ref().map(Secret::expose)) {
            problems.push("SUPABASE_SERVICE_KEY is missing".into());
        }
        match self.webhook_key.as_ref().map(|k| k.expose().trim().len()) {
            None | Some(0) => problems.push(
                "KOTADB_WEBHOOK_KEY is missing (every instance must derive the same webhook secrets)".into(),
            ),
            Some(n) if n < 32 => problems.push(format!(
                "KOTADB_WEBHOOK_KEY is {n} characters; use at least 32 random characters"
            )),
            Some(_) => {}
        }
        match self.public_url.as_deref().map(str::trim) {
            None | Some("") => problems.push(
                "KOTADB_PUBLIC_URL is missing (the base of webhook URLs given to GitHub)".into(),
            ),
            Some(text) => match url::Url::parse(text) {
                Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => {}
                _ => problems.push(format!("KOTADB_PUBLIC_URL {text:?} is not an http(s) URL")),
            },
        }
        if let Some(secret) = &self.supabase_jwt_secret {
            if !secret.expose().is_empty() && secret.expose().len() < 32 {
                problems.push("SUPABASE_JWT_SECRET is shorter than 32 characters".into());
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SaasConfigError(problems))
        }
    }

    /// How long a checked credential is trusted.
    pub fn key_cache_ttl(&self) -> Duration {
        Duration::from_secs(self.key_cache_ttl_secs)
    }

    pub fn tier_limits(&self) -> TierLimits {
        TierLimits {
            free: self.rate_free,
            solo: self.rate_solo,
            team: self.rate_team,
        }
    }

    /// The supervision tree's settings; `worker_id` names this process in job claims.
    pub fn actors(&self, worker_id: String) -> ActorsConfig {
        ActorsConfig {
            lease: Duration::from_secs(self.job_lease_secs.max(3)),
            max_concurrent_jobs: self.max_concurrent_jobs.max(1),
            max_attempts: self.job_max_attempts.max(1),
            backoff_base: Duration::from_millis(self.job_backoff_ms.max(1)),
            worker_id,
            upkeep: UpkeepSchedule {
                tick: Duration::from_secs(self.upkeep_tick_secs.max(1)),
                roll_up_every: Duration::from_secs(self.usage_rollup_secs.max(1)),
                retention_every: Duration::from_secs(self.retention_sweep_secs.max(1)),
            },
            ..ActorsConfig::default()
        }
    }

    /// Whether this instance runs upkeep rounds (`KOTADB_UPKEEP_TICK_SECS` > 0).
    pub fn upkeep_enabled(&self) -> bool {
        self.upkeep_tick_secs > 0
    }

    /// What the upkeep keeps, when it alerts and where it posts.
    pub fn upkeep(&self) -> crate::upkeep::UpkeepSettings {
        let days = |n: u64| Duration::from_secs(n.saturating_mul(86_400));
        crate::upkeep::UpkeepSettings {
            usage_retention: days(self.usage_retention_days),
            job_events_retention: days(self.job_events_retention_days),
            deliveries_retention: days(self.webhook_deliveries_retention_days),
            thresholds: crate::upkeep::AlertThresholds {
                queue_depth: self.alert_queue_depth,
                failure_rate: self.alert_failure_rate,
                failure_min_jobs: self.alert_failure_min_jobs.max(1),
                window: Duration::from_secs(self.alert_window_secs.max(1)),
                stuck_after: Duration::from_secs(self.alert_stuck_job_secs.max(1)),
                database_latency: Duration::from_millis(self.alert_database_latency_ms.max(1)),
            },
            alert_webhook: self
                .alert_webhook_url
                .clone()
                .filter(|url| !url.expose().trim().is_empty()),
        }
    }
}

/// A name for this process in job claims, unique across hosts and restarts: the host
/// name, the process id (1 in every container) and a random suffix.
pub fn worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_string());
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    format!("kotadb-{host}-{}-{suffix}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret: Secret = "postgres://user:hunter2@db/kotadb".parse().unwrap();
        assert_eq!(format!("{secret:?}"), "[redacted]");
        let settings = Settings {
            data_dir: "./data".into(),
            database_url: Some(secret),
            git_base_url: DEFAULT_GIT_BASE_URL.into(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn worker_ids_differ_between_processes_of_one_host() {
        assert_ne!(worker_id(), worker_id());
        assert!(worker_id().contains(&std::process::id().to_string()));
    }
}
