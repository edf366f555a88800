//! SaaS mode: Postgres (Supabase in production), shared by every instance of the service.
//!
//! Differences from the embedded SQLite store that callers never see:
//! - Ids of organizations, repositories, jobs and keys are `uuid` columns; the Rust side
//!   keeps text (bound as `$n::uuid`, read as `id::text`). Text that is not a UUID, or that
//!   holds a NUL (which Postgres text cannot), matches nothing instead of failing the query.
//! - Names and paths compare and sort as SQLite does: bytewise (`COLLATE "C"`), and symbol
//!   patterns ASCII-case-insensitively (`lower(… COLLATE "C")`), whatever the database's
//!   locale.
//! - An indexing run's rows are written by `COPY`, each batch in its own short transaction,
//!   under a staging marker that `commit` clears in one short transaction (`records`).
//! - Job claims are safe between instances (`jobs`); every time is the database's `now()`.

mod jobs;
mod keys;
mod limits;
mod records;
mod repositories;
mod upkeep;
mod webhooks;

use super::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per instance: requests, workers and the indexer's batches share them.
const POOL_SIZE: u32 = 16;
/// How long opening (and later acquiring) a connection may take before giving up. Short:
/// while the database is unreachable, a request that has not yet learnt it (see
/// `Service::database_down`) waits this long for its 503 (tests/database_outage.rs).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

pub struct PostgresStore {
    pool: PgPool,
    /// Revoked key ids heard on `keys::REVOCATION_CHANNEL`, for every subscriber.
    revocations: tokio::sync::broadcast::Sender<String>,
    /// Wake-ups heard on `jobs::JOBS_CHANNEL` (and one after every reconnect).
    job_wakeups: tokio::sync::broadcast::Sender<()>,
    /// The LISTEN task (both channels, one connection), started by the first subscriber.
    listener: std::sync::OnceLock<tokio::task::JoinHandle<()>>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://` or `postgresql://`) and applies pending migrations.
    /// A failure names the host and port, never the password.
    pub async fn open(url: &str) -> StoreResult<PostgresStore> {
        let options: PgConnectOptions = url.parse().map_err(|_| StoreError::Unreachable {
            host: "(unparsable DATABASE_URL)".into(),
            reason: "not a valid postgres:// URL".into(),
        })?;
        let host = format!("{}:{}", options.get_host(), options.get_port());
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unreachable {
                host: host.clone(),
                reason: match e {
                    sqlx::Error::PoolTimedOut => {
                        format!("no connection within {} s", CONNECT_TIMEOUT.as_secs())
                    }
                    other => crate::error_chain(&other),
                },
            })?;
        MIGRATOR.run(&pool).await?;
        Ok(PostgresStore {
            pool,
            revocations: tokio::sync::broadcast::channel(1024).0,
            job_wakeups: tokio::sync::broadcast::channel(16).0,
            listener: std::sync::OnceLock::new(),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs a read as the request's Supabase user under row-level security when there
    /// is one (`store::acting_as`), else as the server. The claims are set the way
    /// Supabase's API sets them, so `auth.uid()` in the policies is that user.
    async fn read_as_acting_user(
        &self,
        query: sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments>,
    ) -> StoreResult<Vec<PgRow>> {
        let Some(user) = crate::store::acting_user() else {
            return Ok(query.fetch_all(&self.pool).await?);
        };
        let claims = serde_json::json!({"sub": user, "role": "authenticated"}).to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT set_config('request.jwt.claims', $1, true)")
            .bind(claims)
            .execute(&mut *tx)
            .await?;
        sqlx::query("SET LOCAL ROLE authenticated")
            .execute(&mut *tx)
            .await?;
        let rows = query.fetch_all(&mut *tx).await?;
        tx.rollback().await?;
        Ok(rows)
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        if let Some(listener) = self.listener.get() {
            listener.abort();
        }
        self.pool.close().await;
    }

    /// See [`PostgresStore::listen`].
    fn key_revocations(&self) -> Option<tokio::sync::broadcast::Receiver<String>> {
        let receiver = self.revocations.subscribe();
        self.listen();
        Some(receiver)
    }

    /// See [`PostgresStore::listen`].
    fn job_notifications(&self) -> Option<tokio::sync::broadcast::Receiver<()>> {
        let receiver = self.job_wakeups.subscribe();
        self.listen();
        Some(receiver)
    }
}

impl PostgresStore {
    /// Starts (once) the task that LISTENs for key revocations and job wake-ups on a
    /// connection of its own, reconnecting after a loss (sqlx's listener re-issues
    /// LISTEN). Through a transaction-mode pooler (Supabase's port 6543) notifications
    /// never arrive: caches then expire revoked keys within their TTL, and pollers find
    /// jobs at their next poll. After each (re)connect it sends one job wake-up, since
    /// notifications sent while it was away are lost.
    fn listen(&self) {
        self.listener.get_or_init(|| {
            let pool = self.pool.clone();
            let revocations = self.revocations.clone();
            let job_wakeups = self.job_wakeups.clone();
            tokio::spawn(async move {
                loop {
                    let listening = async {
                        let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
                        listener
                            .listen_all([keys::REVOCATION_CHANNEL, jobs::JOBS_CHANNEL])
                            .await?;
                        let _ = job_wakeups.send(());
                        loop {
                            let notification = listener.recv().await?;
                            if notification.channel() == jobs::JOBS_CHANNEL {
                                let _ = job_wakeups.send(());
                            } else {
                                let _ = revocations.send(notification.payload().to_string());
                            }
                        }
                        #[allow(unreachable_code)]
                        Ok::<(), sqlx::Error>(())
                    };
                    if let Err(error) = listening.await {
                        tracing::warn!(%error, "the LISTEN connection (key revocations, job wake-ups) was lost; retrying");
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            })
        });
    }
}

/// `text` as a canonical UUID, or None when it is not one (then it names no row).
fn uuid(text: &str) -> Option<String> {
    uuid::Uuid::parse_str(text).ok().map(|u| u.to_string())
}

/// Whether `text` can be a parameter at all: Postgres text holds no NUL, so a lookup by
/// such text finds nothing (and must not turn into a database error).
fn storable(text: &str) -> bool {
    !text.contains('\0')
}

/// Rows for `COPY … FROM STDIN` in text format, built in memory and sent in one go.
///
/// Text fields escape `\`, tab, newline and carriage return; a NUL, which Postgres text
/// cannot hold, is stored as U+FFFD (the replacement character) rather than failing the
/// whole indexing run. Paths and symbol names may otherwise hold anything.
#[derive(Default)]
struct CopyRows {
    data: Vec<u8>,
    row_started: bool,
}

impl CopyRows {
    fn separator(&mut self) {
        if self.row_started {
            self.data.push(b'\t');
        }
        self.row_started = true;
    }

    fn text(&mut self, text: &str) -> &mut Self {
        self.separator();
        for &byte in text.as_bytes() {
            // Multi-byte UTF-8 sequences never contain these ASCII bytes.
            match byte {
                b'\\' => self.data.extend_from_slice(b"\\\\"),
                b'\t' => self.data.extend_from_slice(b"\\t"),
                b'\n' => self.data.extend_from_slice(b"\\n"),
                b'\r' => self.data.extend_from_slice(b"\\r"),
                0 => self.data.extend_from_slice("\u{FFFD}".as_bytes()),
                byte => self.data.push(byte),
            }
        }
        self
    }

    fn optional_text(&mut self, text: Option<&str>) -> &mut Self {
        match text {
            Some(text) => self.text(text),
            None => {
                self.separator();
                self.data.extend_from_slice(b"\\N");
                self
            }
        }
    }

    fn int(&mut self, value: i64) -> &mut Self {
        self.separator();
        self.data.extend_from_slice(value.to_string().as_bytes());
        self
    }

    /// A line number or column: `integer` in the schema.
    fn int32(&mut self, value: u32) -> &mut Self {
        self.int(i64::from(value.min(i32::MAX as u32)))
    }

    fn end_row(&mut self) {
        self.data.push(b'\n');
        self.row_started = false;
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Runs `statement` (a `COPY … FROM STDIN`) with these rows on `connection`.
    async fn send(self, connection: &mut sqlx::PgConnection, statement: &str) -> StoreResult<()> {
        if self.is_empty() {
            return Ok(());
        }
        let mut copy = connection.copy_in_raw(statement).await?;
        if let Err(error) = copy.send(self.data).await {
            // The connection goes back usable only if the COPY is ended; the error that
            // matters is the first one.
            let _ = copy.abort("send failed").await;
            return Err(error.into());
        }
        copy.finish().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::postgres::TestDatabase;

    /// The behaviour every backend must show (`store::conformance`), on Postgres.
    #[tokio::test]
    async fn postgres_passes_the_store_conformance_suite() {
        let database = TestDatabase::create();
        let store = PostgresStore::open(&database.url).await.unwrap();
        assert_eq!(store.backend(), "postgres");
        for user in crate::store::conformance::MEMBER_USER_IDS {
            sqlx::query("INSERT INTO auth.users (id) VALUES ($1::uuid)")
                .bind(user)
                .execute(store.pool())
                .await
                .unwrap();
        }
        crate::store::conformance::run_all(&store).await;
        store.close().await;
    }

    /// One upkeep at a time across instances: a second store (another instance) is
    /// refused the lock while the first holds it, gets it once it is released, and gets
    /// it too when the holder's guard is dropped without release (its session closes).
    #[tokio::test]
    async fn one_instance_at_a_time_holds_the_upkeep_lock() {
        let database = TestDatabase::create();
        let first = PostgresStore::open(&database.url).await.unwrap();
        let second = PostgresStore::open(&database.url).await.unwrap();
        let held = first
            .try_upkeep_lock()
            .await
            .unwrap()
            .expect("free at first");
        assert!(second.try_upkeep_lock().await.unwrap().is_none());
        assert!(
            first.try_upkeep_lock().await.unwrap().is_none(),
            "not per store"
        );
        held.release().await;
        let held = second.try_upkeep_lock().await.unwrap().expect("released");
        assert!(first.try_upkeep_lock().await.unwrap().is_none());
        drop(held);
        let mut again = None;
        for _ in 0..50 {
            again = first.try_upkeep_lock().await.unwrap();
            if again.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        again
            .expect("a dropped guard's session ends, and its lock with it")
            .release()
            .await;
        first.close().await;
        second.close().await;
    }

    /// The database itself refuses a second running job of one repository, whichever
    /// instance writes it.
    #[tokio::test]
    async fn the_database_refuses_two_running_jobs_of_one_repository() {
        let database = TestDatabase::create();
        let store = PostgresStore::open(&database.url).await.unwrap();
        let sibling = crate::store::conformance::a_running_job_and_its_queued_sibling(&store).await;
        let error = sqlx::query("UPDATE indexing_jobs SET status = 'running' WHERE id = $1::uuid")
            .bind(&sibling)
            .execute(store.pool())
            .await
            .expect_err("a second running job of the repository");
        assert!(
            matches!(&error, sqlx::Error::Database(e) if e.is_unique_violation()),
            "{error}"
        );
        store.close().await;
    }

    /// A job queued by any instance wakes every listener at once (the trigger's NOTIFY
    /// in the enqueue transaction), and a claim does not.
    #[tokio::test]
    async fn queued_and_finished_jobs_are_announced_to_listeners() {
        let database = TestDatabase::create();
        let listener = PostgresStore::open(&database.url).await.unwrap();
        let writer = PostgresStore::open(&database.url).await.unwrap();
        let mut wakeups = listener
            .job_notifications()
            .expect("Postgres announces jobs");
        // The first wake-up says "listening" (notifications before it may be lost).
        tokio::time::timeout(Duration::from_secs(10), wakeups.recv())
            .await
            .expect("the listener connects")
            .unwrap();
        let org = writer.ensure_organization("notify").await.unwrap();
        let repository = writer
            .create_repository(
                &org,
                NewRepository {
                    name: "n".into(),
                    git_url: "https://example.com/notify/n".into(),
                    default_branch: None,
                },
            )
            .await
            .unwrap();
        writer
            .enqueue_job(&repository.id, JobType::FullIndex, None)
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), wakeups.recv())
            .await
            .expect("the enqueue was announced")
            .unwrap();
        let claim = writer
            .claim_job("w", Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), wakeups.recv())
                .await
                .is_err(),
            "a claim announces nothing (pollers would wake each other forever)"
        );
        writer
            .finish_job(&claim.job.id, &claim.token, &JobOutcome::Succeeded)
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), wakeups.recv())
            .await
            .expect("the end of a running job was announced")
            .unwrap();
        listener.close().await;
        writer.close().await;
    }

    /// A NUL (which Postgres text cannot hold) in a symbol name is stored as U+FFFD, and a
    /// lookup by text with a NUL finds nothing instead of failing.
    #[tokio::test]
    async fn a_nul_is_stored_as_the_replacement_character() {
        let database = TestDatabase::create();
        let store = PostgresStore::open(&database.url).await.unwrap();
        crate::store::conformance::nul_in_names(&store, "nul\u{FFFD}name").await;
        let org = OrganizationId::local();
        assert!(store
            .find_references(&org, "a\0b", None, 10)
            .await
            .unwrap()
            .is_empty());
        assert!(store.key("a\0b").await.unwrap().is_none());
        assert!(store.job(&org, "not-a-uuid").await.unwrap().is_none());
        store.close().await;
    }

    /// Claims from several instances (pools) at once: every job once, and never two
    /// running jobs of one repository.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_claims_from_several_instances_take_each_job_once() {
        let database = TestDatabase::create();
        let first = PostgresStore::open(&database.url).await.unwrap();
        let org = first.ensure_organization("claims").await.unwrap();
        let mut repositories = Vec::new();
        for i in 0..6 {
            let repository = first
                .create_repository(
                    &org,
                    NewRepository {
                        name: format!("r{i}"),
                        git_url: format!("https://example.com/claims/r{i}"),
                        default_branch: None,
                    },
                )
                .await
                .unwrap();
            for _ in 0..3 {
                first
                    .enqueue_job(&repository.id, JobType::FullIndex, None)
                    .await
                    .unwrap();
            }
            repositories.push(repository);
        }
        let mut instances = vec![std::sync::Arc::new(first)];
        for _ in 0..3 {
            instances.push(std::sync::Arc::new(
                PostgresStore::open(&database.url).await.unwrap(),
            ));
        }
        let claimers: Vec<_> = (0..8)
            .map(|n| {
                let store = std::sync::Arc::clone(&instances[n % instances.len()]);
                tokio::spawn(async move {
                    let mut claimed = Vec::new();
                    for _ in 0..20 {
                        if let Some(claim) = store
                            .claim_job(&format!("w{n}"), Duration::from_secs(60))
                            .await
                            .unwrap()
                        {
                            claimed.push(claim);
                        }
                    }
                    claimed
                })
            })
            .collect();
        let mut claims = Vec::new();
        for claimer in claimers {
            claims.extend(claimer.await.unwrap());
        }
        // One running job per repository: exactly one claim each, the rest wait.
        let mut by_repository: Vec<&str> = claims
            .iter()
            .map(|c| c.job.repository_id.as_str())
            .collect();
        by_repository.sort_unstable();
        by_repository.dedup();
        assert_eq!(claims.len(), repositories.len(), "{claims:?}");
        assert_eq!(by_repository.len(), repositories.len());
        for claim in &claims {
            instances[0]
                .finish_job(&claim.job.id, &claim.token, &JobOutcome::Succeeded)
                .await
                .unwrap();
        }
        let depth = instances[0].queue_depth().await.unwrap();
        assert_eq!((depth.queued, depth.running), (12, 0));
        for store in instances {
            store.close().await;
        }
    }

    #[test]
    fn copy_rows_escape_what_the_text_format_treats_specially() {
        let mut rows = CopyRows::default();
        rows.text("a\tb\nc\\d\re\0f")
            .optional_text(None)
            .int(-3)
            .int32(u32::MAX);
        rows.end_row();
        assert_eq!(
            String::from_utf8(rows.data).unwrap(),
            "a\\tb\\nc\\\\d\\re\u{FFFD}f\t\\N\t-3\t2147483647\n"
        );
    }

    #[tokio::test]
    async fn an_unreachable_database_is_named_without_its_password() {
        let error = match PostgresStore::open("postgres://kota:hunter2@127.0.0.1:9/kotadb").await {
            Err(error) => error.to_string(),
            Ok(_) => panic!("nothing listens on port 9"),
        };
        assert!(error.contains("127.0.0.1:9"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
}
