//! The upkeep the actors' SchedulerActor runs ([`kotadb_actors::Upkeep`]), over the
//! store: hourly usage roll-ups, retention, and alert checks posted to a Slack-compatible
//! webhook (`{"text": …}`) once when an incident opens and once when it recovers.
//!
//! One instance at a time runs a round: the store's upkeep lock (on Postgres a session
//! advisory lock; SQLite always grants it). Which alerts are open is kept in the database
//! (`upkeep_alerts`), not in memory, so an instance that takes the lock over after
//! another died neither posts an open incident again nor misses its recovery.
//!
//! An alert's state changes only after its message was posted (or when no webhook is
//! configured: then it is only logged), so a post that fails is tried again next round.
//! While the database is unreachable no round runs (the lock cannot be taken); `/health`
//! reports that outage, not this module.

use crate::settings::Secret;
use crate::store::prelude::*;
use crate::store::upkeep::before;
use crate::store::{Retention, Timestamp};
use async_trait::async_trait;
use kotadb_actors::{Chores, Round, Upkeep};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// When an alert opens.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertThresholds {
    /// More queued jobs than this.
    pub queue_depth: u64,
    /// Failed / finished jobs within `window` above this fraction...
    pub failure_rate: f64,
    /// ...once at least this many finished in it.
    pub failure_min_jobs: u64,
    pub window: Duration,
    /// A job running longer than this is stuck.
    pub stuck_after: Duration,
    /// A database round trip slower than this.
    pub database_latency: Duration,
}

/// What the upkeep keeps and where it reports.
#[derive(Debug, Clone)]
pub struct UpkeepSettings {
    pub usage_retention: Duration,
    pub job_events_retention: Duration,
    pub deliveries_retention: Duration,
    pub thresholds: AlertThresholds,
    /// `KOTA_ALERT_WEBHOOK_URL`; without it alerts are only logged.
    pub alert_webhook: Option<Secret>,
}

/// The upkeep over a store.
pub struct StoreUpkeep {
    store: Arc<dyn Store>,
    settings: UpkeepSettings,
    http: reqwest::Client,
}

/// How long posting one alert may take.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

impl StoreUpkeep {
    pub fn new(store: Arc<dyn Store>, settings: UpkeepSettings) -> StoreUpkeep {
        let http = reqwest::Client::builder()
            .timeout(POST_TIMEOUT)
            .build()
            .unwrap_or_default();
        StoreUpkeep {
            store,
            settings,
            http,
        }
    }

    async fn round(&self, now: Timestamp, chores: Chores) -> Result<(), String> {
        if chores.roll_up {
            let rolled = self
                .store
                .roll_up_usage(now)
                .await
                .map_err(|e| format!("usage roll-up: {}", crate::error_chain(&e)))?;
            tracing::info!(rows = rolled.rows, "usage rolled up");
        }
        if chores.retention {
            let deleted = self
                .store
                .delete_expired(&Retention {
                    usage_before: before(now, self.settings.usage_retention),
                    job_events_before: before(now, self.settings.job_events_retention),
                    deliveries_before: before(now, self.settings.deliveries_retention),
                })
                .await
                .map_err(|e| format!("retention: {}", crate::error_chain(&e)))?;
            tracing::info!(
                usage = deleted.usage,
                job_events = deleted.job_events,
                deliveries = deleted.deliveries,
                "expired records deleted"
            );
        }
        self.check_alerts(now).await
    }

    /// Each check's name, whether it fires, and what to say.
    async fn checks(&self, now: Timestamp) -> Result<Vec<(&'static str, bool, String)>, String> {
        let t = &self.settings.thresholds;
        let started = Instant::now();
        self.store
            .ping()
            .await
            .map_err(|e| format!("ping: {}", crate::error_chain(&e)))?;
        let latency = started.elapsed();
        let vitals = self
            .store
            .vitals(now, t.window, t.stuck_after)
            .await
            .map_err(|e| format!("vitals: {}", crate::error_chain(&e)))?;
        let rate = if vitals.finished_recent == 0 {
            0.0
        } else {
            vitals.failed_recent as f64 / vitals.finished_recent as f64
        };
        Ok(vec![
            (
                "queue_depth",
                vitals.queued > t.queue_depth,
                format!(
                    "{} jobs queued (alerts above {})",
                    vitals.queued, t.queue_depth
                ),
            ),
            (
                "failure_rate",
                vitals.finished_recent >= t.failure_min_jobs && rate > t.failure_rate,
                format!(
                    "{} of {} jobs finished in the last {} s failed (alerts above {:.0}%)",
                    vitals.failed_recent,
                    vitals.finished_recent,
                    t.window.as_secs(),
                    t.failure_rate * 100.0
                ),
            ),
            (
                "stuck_jobs",
                vitals.stuck > 0,
                format!(
                    "{} jobs running for more than {} s",
                    vitals.stuck,
                    t.stuck_after.as_secs()
                ),
            ),
            (
                "database_latency",
                latency > t.database_latency,
                format!(
                    "a database round trip took {} ms (alerts above {} ms)",
                    latency.as_millis(),
                    t.database_latency.as_millis()
                ),
            ),
        ])
    }

    async fn check_alerts(&self, now: Timestamp) -> Result<(), String> {
        let checks = self.checks(now).await?;
        let open = self
            .store
            .open_alerts()
            .await
            .map_err(|e| format!("open alerts: {}", crate::error_chain(&e)))?;
        for (name, firing, detail) in checks {
            let is_open = open.iter().any(|o| o == name);
            if firing && !is_open {
                tracing::warn!(alert = name, detail, "alert");
                if self.post(&format!("KotaDB alert {name}: {detail}")).await {
                    self.store
                        .open_alert(name, &detail, now)
                        .await
                        .map_err(|e| format!("open alert: {}", crate::error_chain(&e)))?;
                }
            } else if !firing && is_open {
                tracing::info!(alert = name, detail, "alert recovered");
                if self
                    .post(&format!("KotaDB recovered {name}: {detail}"))
                    .await
                {
                    self.store
                        .close_alert(name)
                        .await
                        .map_err(|e| format!("close alert: {}", crate::error_chain(&e)))?;
                }
            }
        }
        Ok(())
    }

    /// Posts `{"text": …}`; true when delivered (or when there is nowhere to post).
    async fn post(&self, text: &str) -> bool {
        let Some(url) = &self.settings.alert_webhook else {
            return true;
        };
        let body = serde_json::json!({ "text": text });
        match self.http.post(url.expose()).json(&body).send().await {
            Ok(response) if response.status().is_success() => true,
            Ok(response) => {
                tracing::warn!(status = %response.status(), "the alert webhook refused a post; retrying next round");
                false
            }
            Err(error) => {
                // The error may name the URL, which holds the webhook's secret path.
                tracing::warn!(
                    error = %error.without_url(),
                    "posting to the alert webhook failed; retrying next round"
                );
                false
            }
        }
    }
}

#[async_trait]
impl Upkeep for StoreUpkeep {
    async fn run_round(&self, now: SystemTime, chores: Chores) -> Result<Round, String> {
        let Some(lock) = self
            .store
            .try_upkeep_lock()
            .await
            .map_err(|e| format!("upkeep lock: {}", crate::error_chain(&e)))?
        else {
            return Ok(Round::Skipped);
        };
        let now = Timestamp::from(::time::OffsetDateTime::from(now));
        let result = self.round(now, chores).await;
        lock.release().await;
        result.map(|()| Round::Ran)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{JobOutcome, JobType, NewRepository, OrganizationId};
    use std::sync::Mutex;

    /// A local Slack-compatible receiver: keeps every posted `text`; answers after `delay`.
    async fn receiver(delay: Duration) -> (String, Arc<Mutex<Vec<String>>>) {
        let posts = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&posts);
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let seen = Arc::clone(&seen);
                async move {
                    tokio::time::sleep(delay).await;
                    let text = body["text"].as_str().unwrap_or_default().to_string();
                    seen.lock().unwrap().push(text);
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{address}/hook"), posts)
    }

    fn settings(url: &str) -> UpkeepSettings {
        UpkeepSettings {
            usage_retention: Duration::from_secs(30 * 86_400),
            job_events_retention: Duration::from_secs(30 * 86_400),
            deliveries_retention: Duration::from_secs(30 * 86_400),
            thresholds: AlertThresholds {
                queue_depth: 1,
                failure_rate: 0.5,
                failure_min_jobs: 5,
                window: Duration::from_secs(900),
                stuck_after: Duration::from_secs(3600),
                database_latency: Duration::from_secs(10),
            },
            alert_webhook: Some(Secret::new(url)),
        }
    }

    async fn queue_two(store: &dyn Store) -> OrganizationId {
        let org = store.ensure_organization("upkeep").await.unwrap();
        for name in ["one", "two"] {
            let repo = store
                .create_repository(
                    &org,
                    NewRepository {
                        name: name.into(),
                        git_url: format!("https://example.com/upkeep/{name}"),
                        default_branch: None,
                    },
                )
                .await
                .unwrap();
            store
                .enqueue_job(&repo.id, JobType::FullIndex, None)
                .await
                .unwrap();
        }
        org
    }

    async fn drain(store: &dyn Store) {
        while let Some(claim) = store
            .claim_job("test", Duration::from_secs(60))
            .await
            .unwrap()
        {
            store
                .finish_job(&claim.job.id, &claim.token, &JobOutcome::Succeeded)
                .await
                .unwrap();
        }
    }

    const ALERTS_ONLY: Chores = Chores {
        roll_up: false,
        retention: false,
    };

    /// An incident posts once however many rounds see it, on this instance or on one that
    /// takes over; its end posts one recovery.
    #[tokio::test]
    async fn one_post_per_incident_and_one_per_recovery() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            crate::store::sqlite::SqliteStore::open(&dir.path().join("kotadb.db"))
                .await
                .unwrap(),
        );
        let (url, posts) = receiver(Duration::ZERO).await;
        let first = StoreUpkeep::new(Arc::clone(&store), settings(&url));
        let second = StoreUpkeep::new(Arc::clone(&store), settings(&url));
        let mut now = SystemTime::now();
        async fn round_at(upkeep: &StoreUpkeep, now: &mut SystemTime) -> Round {
            *now += Duration::from_secs(60);
            upkeep.run_round(*now, ALERTS_ONLY).await.unwrap()
        }
        macro_rules! round {
            ($upkeep:expr) => {
                round_at($upkeep, &mut now)
            };
        }
        assert_eq!(round!(&first).await, Round::Ran);
        assert!(posts.lock().unwrap().is_empty(), "all well: nothing posted");

        queue_two(store.as_ref()).await;
        for _ in 0..3 {
            round!(&first).await;
        }
        round!(&second).await;
        let seen = posts.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].contains("queue_depth") && seen[0].contains("2 jobs queued"));

        drain(store.as_ref()).await;
        for _ in 0..3 {
            round!(&second).await;
        }
        round!(&first).await;
        let seen = posts.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[1].contains("recovered queue_depth"), "{seen:?}");
        assert!(store.open_alerts().await.unwrap().is_empty());
    }

    /// A post that fails leaves the alert closed, so the next round posts it.
    #[tokio::test]
    async fn a_failed_post_is_tried_again() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            crate::store::sqlite::SqliteStore::open(&dir.path().join("kotadb.db"))
                .await
                .unwrap(),
        );
        queue_two(store.as_ref()).await;
        let unreachable = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/hook", listener.local_addr().unwrap())
        };
        let upkeep = StoreUpkeep::new(Arc::clone(&store), settings(&unreachable));
        upkeep
            .run_round(SystemTime::now(), ALERTS_ONLY)
            .await
            .unwrap();
        assert!(store.open_alerts().await.unwrap().is_empty());
        let (url, posts) = receiver(Duration::ZERO).await;
        let upkeep = StoreUpkeep::new(Arc::clone(&store), settings(&url));
        upkeep
            .run_round(SystemTime::now(), ALERTS_ONLY)
            .await
            .unwrap();
        assert_eq!(posts.lock().unwrap().len(), 1);
        assert_eq!(store.open_alerts().await.unwrap(), vec!["queue_depth"]);
    }

    /// Two instances (two stores, one Postgres) start a round together: one runs it, the
    /// other skips it, and the incident is posted once.
    #[tokio::test]
    async fn only_one_of_two_instances_runs_a_round_on_postgres() {
        let database = crate::testing::postgres::TestDatabase::create();
        let one: Arc<dyn Store> = Arc::new(
            crate::store::postgres::PostgresStore::open(&database.url)
                .await
                .unwrap(),
        );
        let two: Arc<dyn Store> = Arc::new(
            crate::store::postgres::PostgresStore::open(&database.url)
                .await
                .unwrap(),
        );
        queue_two(one.as_ref()).await;
        // The receiver is slow, so the first round still holds the lock when the
        // second one asks.
        let (url, posts) = receiver(Duration::from_millis(1500)).await;
        let a = StoreUpkeep::new(Arc::clone(&one), settings(&url));
        let b = StoreUpkeep::new(Arc::clone(&two), settings(&url));
        let now = SystemTime::now();
        let all = Chores {
            roll_up: true,
            retention: true,
        };
        let (ra, rb) = tokio::join!(a.run_round(now, all), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            b.run_round(now, all).await
        });
        let mut rounds = vec![ra.unwrap(), rb.unwrap()];
        rounds.sort_by_key(|r| *r == Round::Skipped);
        assert_eq!(rounds, vec![Round::Ran, Round::Skipped]);
        assert_eq!(posts.lock().unwrap().len(), 1);
        // Once the round is over, the other instance may run the next one; the incident
        // is still open, so it posts nothing.
        assert_eq!(b.run_round(now, all).await.unwrap(), Round::Ran);
        assert_eq!(posts.lock().unwrap().len(), 1);
        one.close().await;
        two.close().await;
    }
}
