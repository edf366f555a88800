//! `RepositoryStore` on Postgres.

use super::*;

fn repository_from_row(row: &PgRow) -> Repository {
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

/// The repository columns, as text where the schema has uuids.
macro_rules! repository_columns {
    () => {
        "id::text AS id, name, git_url, default_branch, status, last_indexed_commit, last_indexed_at, created_at"
    };
}

/// `SELECT <repository columns> FROM repositories <rest>`, as one static string.
macro_rules! select_repositories {
    ($rest:literal) => {
        concat!(
            "SELECT ",
            repository_columns!(),
            " FROM repositories ",
            $rest
        )
    };
}

#[async_trait]
impl RepositoryStore for PostgresStore {
    async fn create_repository(
        &self,
        org: &OrganizationId,
        new: NewRepository,
    ) -> StoreResult<Repository> {
        let result = sqlx::query(concat!(
            "INSERT INTO repositories (organization_id, name, git_url, default_branch) \
             VALUES ($1::uuid, $2, $3, $4) RETURNING ",
            repository_columns!()
        ))
        .bind(&org.0)
        .bind(&new.name)
        .bind(&new.git_url)
        .bind(&new.default_branch)
        .fetch_one(&self.pool)
        .await;
        match result {
            Ok(row) => Ok(repository_from_row(&row)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                format!("repository {} is already registered", new.git_url),
            )),
            Err(e) => Err(e.into()),
        }
    }

    async fn repository(
        &self,
        org: &OrganizationId,
        id: &RepositoryId,
    ) -> StoreResult<Option<Repository>> {
        let (Some(id), Some(org)) = (uuid(&id.0), uuid(&org.0)) else {
            return Ok(None);
        };
        let query = sqlx::query(select_repositories!(
            "WHERE id = $1::uuid AND organization_id = $2::uuid"
        ))
        .bind(id)
        .bind(org);
        let rows = self.read_as_acting_user(query).await?;
        Ok(rows.first().map(repository_from_row))
    }

    async fn repository_unscoped(&self, id: &RepositoryId) -> StoreResult<Option<Repository>> {
        let Some(id) = uuid(&id.0) else {
            return Ok(None);
        };
        let row = sqlx::query(select_repositories!("WHERE id = $1::uuid"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(repository_from_row))
    }

    async fn repository_by_url(
        &self,
        org: &OrganizationId,
        git_url: &str,
    ) -> StoreResult<Option<Repository>> {
        let Some(org) = uuid(&org.0).filter(|_| storable(git_url)) else {
            return Ok(None);
        };
        let row = sqlx::query(select_repositories!(
            "WHERE git_url = $1 AND organization_id = $2::uuid"
        ))
        .bind(git_url)
        .bind(org)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(repository_from_row))
    }

    async fn repositories(&self, org: &OrganizationId) -> StoreResult<Vec<Repository>> {
        let Some(org) = uuid(&org.0) else {
            return Ok(Vec::new());
        };
        let query = sqlx::query(select_repositories!(
            "WHERE organization_id = $1::uuid ORDER BY name COLLATE \"C\", id"
        ))
        .bind(org);
        let rows = self.read_as_acting_user(query).await?;
        Ok(rows.iter().map(repository_from_row).collect())
    }

    async fn delete_repository(
        &self,
        org: &OrganizationId,
        id: &RepositoryId,
    ) -> StoreResult<bool> {
        let (Some(id), Some(org)) = (uuid(&id.0), uuid(&org.0)) else {
            return Ok(false);
        };
        let done = sqlx::query(
            "DELETE FROM repositories WHERE id = $1::uuid AND organization_id = $2::uuid",
        )
        .bind(id)
        .bind(org)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
