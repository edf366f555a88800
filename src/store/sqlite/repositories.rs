//! `RepositoryStore` on SQLite.

use super::*;

fn repository_from_row(row: &sqlx::sqlite::SqliteRow) -> Repository {
    Repository {
        id: RepositoryId(row.get("id")),
        name: row.get("name"),
        git_url: row.get("git_url"),
        default_branch: row.get("default_branch"),
        status: RepositoryStatus::parse(row.get("status")).unwrap_or(RepositoryStatus::Pending),
        last_indexed_commit: row.get("last_indexed_commit"),
        last_indexed_at: row.get("last_indexed_at"),
        created_at: row.get("created_at"),
    }
}

/// `SELECT <repository columns> FROM repositories <rest>`, as one static string.
macro_rules! select_repositories {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, git_url, default_branch, status, last_indexed_commit, last_indexed_at, created_at FROM repositories ",
            $rest
        )
    };
}

#[async_trait]
impl RepositoryStore for SqliteStore {
    async fn create_repository(
        &self,
        org: &OrganizationId,
        new: NewRepository,
    ) -> StoreResult<Repository> {
        let id = RepositoryId::new_random();
        let result = sqlx::query(
            "INSERT INTO repositories (id, organization_id, name, git_url, default_branch) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&id.0)
        .bind(&org.0)
        .bind(&new.name)
        .bind(&new.git_url)
        .bind(&new.default_branch)
        .execute(&self.pool)
        .await;
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict(format!(
                    "repository {} is already registered",
                    new.git_url
                )))
            }
            other => other?,
        };
        self.repository(org, &id).await?.ok_or(StoreError::NotFound)
    }

    async fn repository(
        &self,
        org: &OrganizationId,
        id: &RepositoryId,
    ) -> StoreResult<Option<Repository>> {
        let row = sqlx::query(select_repositories!("WHERE id = ? AND organization_id = ?"))
            .bind(&id.0)
            .bind(&org.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(repository_from_row))
    }

    async fn repository_unscoped(&self, id: &RepositoryId) -> StoreResult<Option<Repository>> {
        let row = sqlx::query(select_repositories!("WHERE id = ?"))
            .bind(&id.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(repository_from_row))
    }

    async fn repository_by_url(
        &self,
        org: &OrganizationId,
        git_url: &str,
    ) -> StoreResult<Option<Repository>> {
        let row = sqlx::query(select_repositories!(
            "WHERE git_url = ? AND organization_id = ?"
        ))
        .bind(git_url)
        .bind(&org.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(repository_from_row))
    }

    async fn repositories(&self, org: &OrganizationId) -> StoreResult<Vec<Repository>> {
        let rows = sqlx::query(select_repositories!(
            "WHERE organization_id = ? ORDER BY name, id"
        ))
        .bind(&org.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(repository_from_row).collect())
    }

    async fn delete_repository(
        &self,
        org: &OrganizationId,
        id: &RepositoryId,
    ) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM repositories WHERE id = ? AND organization_id = ?")
            .bind(&id.0)
            .bind(&org.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
