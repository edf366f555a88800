//! The embedded default: one SQLite file under the data directory, in WAL mode so
//! readers never wait for the indexer's write transaction.

mod jobs;
mod keys;
mod records;
mod repositories;
mod upkeep;
mod webhooks;

use super::*;
use crate::engine::model::{ImportKind, ReferenceKind};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Rows per multi-row INSERT: well under SQLite's bound-parameter limit.
const ROWS_PER_INSERT: usize = 400;

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            // Index builds insert millions of rows into name-ordered B-trees: a larger
            // page cache keeps them in memory instead of re-reading pages from the WAL.
            .pragma("page_size", "16384")
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory")
            // After a checkpoint the WAL file shrinks back to this size instead of keeping
            // the size of the largest transaction (an index build) forever.
            .pragma("journal_size_limit", "67108864");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The behaviour every backend must show (`store::conformance`), on SQLite.
    #[tokio::test]
    async fn sqlite_passes_the_store_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("kotadb.db"))
            .await
            .unwrap();
        crate::store::conformance::run_all(&store).await;
        crate::store::conformance::nul_in_names(&store, "nul\0name").await;
    }

    /// The database itself refuses a second running job of one repository.
    #[tokio::test]
    async fn the_database_refuses_two_running_jobs_of_one_repository() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("kotadb.db"))
            .await
            .unwrap();
        let sibling = crate::store::conformance::a_running_job_and_its_queued_sibling(&store).await;
        let error = sqlx::query("UPDATE indexing_jobs SET status = 'running' WHERE id = ?")
            .bind(&sibling)
            .execute(&store.pool)
            .await
            .expect_err("a second running job of the repository");
        assert!(
            matches!(&error, sqlx::Error::Database(e) if e.is_unique_violation()),
            "{error}"
        );
    }
}
