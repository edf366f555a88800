//! `IndexStore` on Postgres: the derived records of indexing runs, written by `COPY`.
//!
//! No transaction lasts an indexing run. [`IndexStore::begin_update`] registers the run
//! in `index_updates`; every batch (`upsert_files`, `reresolve_imports`) commits on its
//! own, its rows marked with the run's `update_id`, which readers never see (every read
//! asks for `update_id IS NULL`). Files the run deletes are remembered in memory.
//! [`RepositoryUpdate::commit`] is one short transaction, proportional to the run's
//! files and the repository's imports, never to its symbols or references:
//!
//! 1. it locks the run's `index_updates` row (gone: another run of the repository has
//!    started since and swept this one away — the commit fails, nothing changes);
//! 2. it moves the visible files the run replaces or deletes under a second, "retired"
//!    update (their symbols and references follow their file), and the imports they
//!    hold — or, after a re-resolution, every visible import of the repository;
//! 3. it clears `update_id` on the run's own files and imports, and records the commit
//!    on the repository row.
//!
//! Readers see the old commit before that transaction commits and the new one after it,
//! never a mix. The retired rows are then deleted (cascading from their `index_updates`
//! row) outside the transaction; rows of a run that was dropped or died are deleted when
//! the update is dropped, or at the latest when the repository's next run begins.

use super::*;
use crate::engine::model::{ImportKind, ReferenceKind};
use std::collections::BTreeSet;

fn file_from_row(row: &PgRow) -> FileRecord {
    FileRecord {
        path: row.get("path"),
        content_hash: row.get("content_hash"),
        language: row.get("language"),
        size_bytes: row.get::<i64, _>("size_bytes").max(0) as u64,
        skipped: match row.get::<Option<&str>, _>("skipped") {
            Some("binary") => Some("binary"),
            Some("too_large") => Some("too_large"),
            Some(_) => Some("other"),
            None => None,
        },
    }
}

fn symbol_from_row(row: &PgRow) -> SymbolHit {
    SymbolHit {
        repository_id: row.get("repository_id"),
        name: row.get("name"),
        kind: row.get("kind"),
        path: row.get("path"),
        line_start: row.get::<i32, _>("line_start").max(0) as u32,
        line_end: row.get::<i32, _>("line_end").max(0) as u32,
    }
}

fn import_kind_name(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Path => "path",
        ImportKind::Module => "module",
        ImportKind::IncludeLocal => "include_local",
        ImportKind::IncludeSystem => "include_system",
        ImportKind::RustMod => "rust_mod",
    }
}

fn import_kind_from(name: &str) -> ImportKind {
    match name {
        "path" => ImportKind::Path,
        "include_local" => ImportKind::IncludeLocal,
        "include_system" => ImportKind::IncludeSystem,
        "rust_mod" => ImportKind::RustMod,
        _ => ImportKind::Module,
    }
}

const COPY_FILES: &str = "COPY indexed_files (id, repository_id, path, content_hash, language, size_bytes, skipped, update_id) FROM STDIN";
const COPY_SYMBOLS: &str = "COPY symbols (file_id, name, kind, line_start, line_end) FROM STDIN";
const COPY_REFERENCES: &str =
    "COPY \"references\" (file_id, name, kind, line, \"column\") FROM STDIN";
const COPY_DEPENDENCIES: &str = "COPY dependencies (repository_id, file_id, source_path, target_path, spec, import_kind, line, update_id) FROM STDIN";

/// Adds the dependency rows of one import: one per target, or one without a target.
fn push_dependencies(
    rows: &mut CopyRows,
    repository: &str,
    update: &str,
    file_id: i64,
    source_path: &str,
    import: &ResolvedImport,
) {
    let targets: Vec<Option<&str>> = if import.targets.is_empty() {
        vec![None]
    } else {
        import.targets.iter().map(|t| Some(t.as_str())).collect()
    };
    for target in targets {
        rows.text(repository)
            .int(file_id)
            .text(source_path)
            .optional_text(target)
            .text(&import.spec)
            .text(import_kind_name(import.kind))
            .int32(import.line)
            .text(update);
        rows.end_row();
    }
}

/// Makes a transaction that only writes staged rows not wait for its WAL to reach disk.
/// Staged rows are invisible until [`RepositoryUpdate::commit`], whose transaction does
/// wait (`synchronous_commit` as configured), and WAL is flushed in order, so a durable
/// commit also makes every staged batch before it durable; a crash before it loses only
/// rows no reader could see, which the repository's next run deletes.
async fn staging(connection: &mut sqlx::PgConnection) -> StoreResult<()> {
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(connection)
        .await?;
    Ok(())
}

/// `rows` into a staged table by `COPY`, in a transaction of their own.
async fn copy_staged(pool: &PgPool, rows: CopyRows, statement: &str) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    staging(&mut tx).await?;
    rows.send(&mut tx, statement).await?;
    tx.commit().await?;
    Ok(())
}

/// One indexing run: its staged rows live under `update` until `commit`.
struct PostgresUpdate {
    pool: PgPool,
    repository: String,
    update: String,
    /// Paths the run deleted: their visible files are retired at commit.
    deleted: BTreeSet<String>,
    /// Whether every import was resolved again (then all visible ones are replaced).
    reresolved: bool,
    committed: bool,
}

impl PostgresUpdate {
    /// Forgets staged files of these paths (a path written twice keeps its last version).
    async fn unstage(
        &self,
        connection: &mut sqlx::PgConnection,
        paths: &[&str],
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM indexed_files WHERE update_id = $1::uuid AND path = ANY($2)")
            .bind(&self.update)
            .bind(paths)
            .execute(connection)
            .await?;
        Ok(())
    }
}

impl Drop for PostgresUpdate {
    /// A run dropped before its commit: its staged rows are deleted in the background
    /// (readers never saw them; the repository's next run would delete them anyway).
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pool = self.pool.clone();
        let update = self.update.clone();
        runtime.spawn(async move {
            if let Err(error) = sqlx::query("DELETE FROM index_updates WHERE id = $1::uuid")
                .bind(&update)
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %error, "deleting the rows of an abandoned index update");
            }
        });
    }
}

#[async_trait]
impl RepositoryUpdate for PostgresUpdate {
    async fn delete_files(&mut self, paths: &[String]) -> StoreResult<()> {
        let paths: Vec<&str> = paths
            .iter()
            .map(String::as_str)
            .filter(|p| storable(p))
            .collect();
        if paths.is_empty() {
            return Ok(());
        }
        let mut connection = self.pool.acquire().await?;
        self.unstage(&mut connection, &paths).await?;
        self.deleted.extend(paths.iter().map(|p| p.to_string()));
        Ok(())
    }

    async fn upsert_files(&mut self, files: &[FileUpdate]) -> StoreResult<()> {
        if files.is_empty() {
            return Ok(());
        }
        let paths: Vec<&str> = files.iter().map(|u| u.file.path.as_str()).collect();
        let mut tx = self.pool.begin().await?;
        staging(&mut tx).await?;
        self.unstage(&mut tx, &paths).await?;
        // Ids are taken first, so symbols, references and imports name their file in the
        // same COPY streams as the files.
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT nextval(pg_get_serial_sequence('indexed_files', 'id')) FROM generate_series(1, $1)",
        )
        .bind(files.len() as i64)
        .fetch_all(&mut *tx)
        .await?;
        if ids.len() != files.len() {
            return Err(StoreError::Conflict(format!(
                "asked for {} file ids, got {}",
                files.len(),
                ids.len()
            )));
        }
        let (repository, update) = (self.repository.as_str(), self.update.as_str());
        let mut file_rows = CopyRows::default();
        let mut symbol_rows = CopyRows::default();
        let mut reference_rows = CopyRows::default();
        let mut dependency_rows = CopyRows::default();
        for (update_row, &file_id) in files.iter().zip(&ids) {
            let file = &update_row.file;
            file_rows
                .int(file_id)
                .text(repository)
                .text(&file.path)
                .text(&file.content_hash)
                .optional_text(file.language.as_deref())
                .int(i64::try_from(file.size_bytes).unwrap_or(i64::MAX))
                .optional_text(file.skipped)
                .text(update);
            file_rows.end_row();
            for symbol in &update_row.analysis.symbols {
                symbol_rows
                    .int(file_id)
                    .text(&symbol.name)
                    .text(&symbol.kind)
                    .int32(symbol.line_start)
                    .int32(symbol.line_end);
                symbol_rows.end_row();
            }
            for reference in &update_row.analysis.references {
                reference_rows
                    .int(file_id)
                    .text(&reference.name)
                    .text(reference.kind.name())
                    .int32(reference.line)
                    .int32(reference.column);
                reference_rows.end_row();
            }
            for import in &update_row.imports {
                push_dependencies(
                    &mut dependency_rows,
                    repository,
                    update,
                    file_id,
                    &file.path,
                    import,
                );
            }
        }
        file_rows.send(&mut tx, COPY_FILES).await?;
        dependency_rows.send(&mut tx, COPY_DEPENDENCIES).await?;
        tx.commit().await?;
        // Symbols and references (nearly all of a batch's rows, and their index upkeep)
        // go in on two connections at once, so the database uses more than one core.
        // Each commits on its own: still staged, invisible to readers; if either fails
        // the run fails and its update is dropped with every staged row.
        tokio::try_join!(
            copy_staged(&self.pool, symbol_rows, COPY_SYMBOLS),
            copy_staged(&self.pool, reference_rows, COPY_REFERENCES),
        )?;
        Ok(())
    }

    async fn reresolve_imports(&mut self, resolve: Reresolve<'_>) -> StoreResult<()> {
        let deleted: Vec<&str> = self.deleted.iter().map(String::as_str).collect();
        let mut tx = self.pool.begin().await?;
        staging(&mut tx).await?;
        // The imports as they will be after the commit: those of the run's own files, and
        // those of visible files the run neither replaces nor deletes.
        let rows = sqlx::query(
            "SELECT DISTINCT d.file_id, d.source_path, d.spec, d.import_kind, d.line \
             FROM dependencies d JOIN indexed_files f ON f.id = d.file_id \
             WHERE d.repository_id = $1::uuid AND ( \
                 (f.update_id = $2::uuid AND d.update_id = $2::uuid) \
                 OR (f.update_id IS NULL AND d.update_id IS NULL AND NOT (f.path = ANY($3)) \
                     AND NOT EXISTS (SELECT 1 FROM indexed_files s \
                         WHERE s.update_id = $2::uuid AND s.path = f.path))) \
             ORDER BY d.source_path, d.line",
        )
        .bind(&self.repository)
        .bind(&self.update)
        .bind(&deleted)
        .fetch_all(&mut *tx)
        .await?;
        let mut dependency_rows = CopyRows::default();
        for row in &rows {
            let stored = StoredImport {
                path: row.get("source_path"),
                spec: row.get("spec"),
                kind: import_kind_from(row.get::<&str, _>("import_kind")),
                line: row.get::<i32, _>("line").max(0) as u32,
            };
            let import = ResolvedImport {
                spec: stored.spec.clone(),
                kind: stored.kind,
                line: stored.line,
                targets: resolve(&stored),
            };
            push_dependencies(
                &mut dependency_rows,
                &self.repository,
                &self.update,
                row.get("file_id"),
                &stored.path,
                &import,
            );
        }
        sqlx::query("DELETE FROM dependencies WHERE update_id = $1::uuid")
            .bind(&self.update)
            .execute(&mut *tx)
            .await?;
        dependency_rows.send(&mut tx, COPY_DEPENDENCIES).await?;
        tx.commit().await?;
        self.reresolved = true;
        Ok(())
    }

    async fn commit(mut self: Box<Self>, commit: &str) -> StoreResult<()> {
        let deleted: Vec<&str> = self.deleted.iter().map(String::as_str).collect();
        let mut tx = self.pool.begin().await?;
        let ours: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM index_updates WHERE id = $1::uuid FOR UPDATE")
                .bind(&self.update)
                .fetch_optional(&mut *tx)
                .await?;
        if ours.is_none() {
            return Err(StoreError::Conflict(
                "another indexing run of this repository started since this one".into(),
            ));
        }
        // Commits of one repository take turns (and see each other's results).
        let repository: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM repositories WHERE id = $1::uuid FOR UPDATE")
                .bind(&self.repository)
                .fetch_optional(&mut *tx)
                .await?;
        if repository.is_none() {
            return Err(StoreError::NotFound);
        }
        let retired: String = sqlx::query_scalar(
            "INSERT INTO index_updates (repository_id) VALUES ($1::uuid) RETURNING id::text",
        )
        .bind(&self.repository)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE indexed_files f SET update_id = $3::uuid \
             WHERE f.repository_id = $1::uuid AND f.update_id IS NULL AND (f.path = ANY($4) \
                 OR EXISTS (SELECT 1 FROM indexed_files s WHERE s.update_id = $2::uuid AND s.path = f.path))",
        )
        .bind(&self.repository)
        .bind(&self.update)
        .bind(&retired)
        .bind(&deleted)
        .execute(&mut *tx)
        .await?;
        if self.reresolved {
            sqlx::query(
                "UPDATE dependencies SET update_id = $2::uuid \
                 WHERE repository_id = $1::uuid AND update_id IS NULL",
            )
            .bind(&self.repository)
            .bind(&retired)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE dependencies SET update_id = NULL WHERE update_id = $1::uuid")
            .bind(&self.update)
            .execute(&mut *tx)
            .await?;
        // Imports still visible whose file was just retired go with it.
        sqlx::query(
            "UPDATE dependencies SET update_id = $1::uuid WHERE update_id IS NULL \
             AND file_id IN (SELECT id FROM indexed_files WHERE update_id = $1::uuid)",
        )
        .bind(&retired)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE indexed_files SET update_id = NULL WHERE update_id = $1::uuid")
            .bind(&self.update)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE repositories SET last_indexed_commit = $2, last_indexed_at = now(), \
             updated_at = now(), status = 'ready' WHERE id = $1::uuid",
        )
        .bind(&self.repository)
        .bind(commit)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM index_updates WHERE id = $1::uuid")
            .bind(&self.update)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.committed = true;
        // The replaced rows, now unreachable, go in their own transaction; if this fails,
        // the repository's next run deletes them.
        if let Err(error) = sqlx::query("DELETE FROM index_updates WHERE id = $1::uuid")
            .bind(&retired)
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %error, "deleting the rows an index commit replaced");
        }
        Ok(())
    }
}

/// The ASCII-lowercased text, as `lower(… COLLATE "C")` computes it in the database.
fn ascii_lower(text: &str) -> String {
    text.to_ascii_lowercase()
}

#[async_trait]
impl IndexStore for PostgresStore {
    async fn begin_update(&self, id: &RepositoryId) -> StoreResult<Box<dyn RepositoryUpdate>> {
        let repository = uuid(&id.0).ok_or(StoreError::NotFound)?;
        let mut tx = self.pool.begin().await?;
        // Leftovers of earlier runs that never committed (one run per repository at a
        // time: the job queue's rule, and the commit's check above for a straggler).
        sqlx::query("DELETE FROM index_updates WHERE repository_id = $1::uuid")
            .bind(&repository)
            .execute(&mut *tx)
            .await?;
        let update: String = sqlx::query_scalar(
            "INSERT INTO index_updates (repository_id) VALUES ($1::uuid) RETURNING id::text",
        )
        .bind(&repository)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Box::new(PostgresUpdate {
            pool: self.pool.clone(),
            repository,
            update,
            deleted: BTreeSet::new(),
            reresolved: false,
            committed: false,
        }))
    }

    async fn files(&self, id: &RepositoryId) -> StoreResult<Vec<FileRecord>> {
        let Some(id) = uuid(&id.0) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT path, content_hash, language, size_bytes, skipped FROM indexed_files \
             WHERE repository_id = $1::uuid AND update_id IS NULL ORDER BY path COLLATE \"C\"",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(file_from_row).collect())
    }

    async fn recent_files(
        &self,
        id: &RepositoryId,
        limit: u32,
    ) -> StoreResult<Vec<(FileRecord, Timestamp)>> {
        let Some(id) = uuid(&id.0) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT path, content_hash, language, size_bytes, skipped, indexed_at FROM indexed_files \
             WHERE repository_id = $1::uuid AND update_id IS NULL \
             ORDER BY indexed_at DESC, path COLLATE \"C\" LIMIT $2",
        )
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| (file_from_row(row), row.get("indexed_at")))
            .collect())
    }

    async fn search_symbols(
        &self,
        org: &OrganizationId,
        query: &SymbolQuery,
    ) -> StoreResult<Vec<SymbolHit>> {
        let pattern = &query.pattern;
        let text = pattern.text();
        let Some(org) = uuid(&org.0) else {
            return Ok(Vec::new());
        };
        if !storable(text) || query.kind.as_deref().is_some_and(|k| !storable(k)) {
            return Ok(Vec::new());
        }
        // Names compare as SQLite's LIKE does: ASCII letters in either case, everything
        // else as itself. `lower(name COLLATE "C")` folds exactly ASCII (and is indexed);
        // the patterns are folded the same way here.
        let mut builder = QueryBuilder::<Postgres>::new(
            "SELECT f.repository_id::text AS repository_id, s.name, s.kind, f.path, s.line_start, s.line_end \
             FROM symbols s JOIN indexed_files f ON f.id = s.file_id JOIN repositories r ON r.id = f.repository_id \
             WHERE f.update_id IS NULL AND r.organization_id = ",
        );
        builder.push_bind(org).push("::uuid");
        builder
            .push(" AND lower(s.name COLLATE \"C\") LIKE ")
            .push_bind(ascii_lower(&pattern.like()))
            .push(" ESCAPE '\\'");
        if let Some(kind) = &query.kind {
            builder.push(" AND s.kind = ").push_bind(kind.clone());
        }
        if let Some(repository) = &query.repository {
            let Some(repository) = uuid(&repository.0) else {
                return Ok(Vec::new());
            };
            builder
                .push(" AND f.repository_id = ")
                .push_bind(repository)
                .push("::uuid");
        }
        builder
            .push(" ORDER BY CASE WHEN s.name = ")
            .push_bind(text.to_string())
            .push(" THEN 0 WHEN lower(s.name COLLATE \"C\") = ")
            .push_bind(ascii_lower(text))
            .push(" THEN 1 WHEN ");
        match pattern.prefix_like() {
            Some(prefix) => builder
                .push("lower(s.name COLLATE \"C\") LIKE ")
                .push_bind(ascii_lower(&prefix))
                .push(" ESCAPE '\\'"),
            // The glob itself, case-sensitive: Postgres's LIKE is.
            None => builder
                .push("s.name LIKE ")
                .push_bind(pattern.like())
                .push(" ESCAPE '\\'"),
        };
        builder
            .push(
                " THEN 2 ELSE 3 END, length(s.name), s.name COLLATE \"C\", f.path COLLATE \"C\", \
                 s.line_start LIMIT ",
            )
            .push_bind(i64::from(query.limit));
        let rows = builder.build().fetch_all(&self.pool).await?;
        Ok(rows.iter().map(symbol_from_row).collect())
    }

    async fn find_references(
        &self,
        org: &OrganizationId,
        name: &str,
        repository: Option<&RepositoryId>,
        limit: u32,
    ) -> StoreResult<Vec<ReferenceHit>> {
        let Some(org) = uuid(&org.0).filter(|_| storable(name)) else {
            return Ok(Vec::new());
        };
        let mut builder = QueryBuilder::<Postgres>::new(
            "SELECT f.repository_id::text AS repository_id, f.path, x.line, x.\"column\", x.kind \
             FROM \"references\" x JOIN indexed_files f ON f.id = x.file_id \
             JOIN repositories r ON r.id = f.repository_id \
             WHERE f.update_id IS NULL AND r.organization_id = ",
        );
        builder
            .push_bind(org)
            .push("::uuid AND x.name = ")
            .push_bind(name.to_string());
        if let Some(repository) = repository {
            let Some(repository) = uuid(&repository.0) else {
                return Ok(Vec::new());
            };
            builder
                .push(" AND f.repository_id = ")
                .push_bind(repository)
                .push("::uuid");
        }
        builder
            .push(" ORDER BY f.repository_id, f.path COLLATE \"C\", x.line, x.\"column\" LIMIT ")
            .push_bind(i64::from(limit));
        let rows = builder.build().fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|row| ReferenceHit {
                repository_id: row.get("repository_id"),
                path: row.get("path"),
                line: row.get::<i32, _>("line").max(0) as u32,
                column: row.get::<i32, _>("column").max(0) as u32,
                kind: ReferenceKind::parse(row.get("kind"))
                    .map_or("reference", ReferenceKind::name)
                    .to_string(),
            })
            .collect())
    }

    async fn symbols_in_file(&self, id: &RepositoryId, path: &str) -> StoreResult<Vec<SymbolHit>> {
        let Some(id) = uuid(&id.0).filter(|_| storable(path)) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT f.repository_id::text AS repository_id, s.name, s.kind, f.path, s.line_start, s.line_end \
             FROM symbols s JOIN indexed_files f ON f.id = s.file_id \
             WHERE f.repository_id = $1::uuid AND f.update_id IS NULL AND f.path = $2 \
             ORDER BY s.line_start, s.id",
        )
        .bind(id)
        .bind(path)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(symbol_from_row).collect())
    }

    async fn edges(
        &self,
        id: &RepositoryId,
        paths: &[String],
        direction: EdgeDirection,
    ) -> StoreResult<Vec<(String, String)>> {
        let Some(id) = uuid(&id.0) else {
            return Ok(Vec::new());
        };
        let paths: Vec<&str> = paths
            .iter()
            .map(String::as_str)
            .filter(|p| storable(p))
            .collect();
        let statement = match direction {
            EdgeDirection::Dependencies => {
                "SELECT DISTINCT source_path AS a, target_path AS b FROM dependencies \
                 WHERE repository_id = $1::uuid AND update_id IS NULL AND target_path IS NOT NULL \
                 AND source_path = ANY($2)"
            }
            EdgeDirection::Dependents => {
                "SELECT DISTINCT target_path AS a, source_path AS b FROM dependencies \
                 WHERE repository_id = $1::uuid AND update_id IS NULL AND target_path IS NOT NULL \
                 AND target_path = ANY($2)"
            }
        };
        let rows = sqlx::query(statement)
            .bind(id)
            .bind(&paths)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|row| (row.get("a"), row.get("b")))
            .collect())
    }
}
