//! `IndexStore` on SQLite: the derived records of indexing runs, written in bulk.

use super::*;

fn file_from_row(row: &sqlx::sqlite::SqliteRow) -> FileRecord {
    FileRecord {
        path: row.get("path"),
        content_hash: row.get("content_hash"),
        language: row.get("language"),
        size_bytes: row.get::<i64, _>("size_bytes") as u64,
        skipped: match row.get::<Option<&str>, _>("skipped") {
            Some("binary") => Some("binary"),
            Some("too_large") => Some("too_large"),
            Some(_) => Some("other"),
            None => None,
        },
    }
}

fn symbol_from_row(row: &sqlx::sqlite::SqliteRow) -> SymbolHit {
    SymbolHit {
        repository_id: row.get("repository_id"),
        name: row.get("name"),
        kind: row.get("kind"),
        path: row.get("path"),
        line_start: row.get::<i64, _>("line_start") as u32,
        line_end: row.get::<i64, _>("line_end") as u32,
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

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
struct DependencyRow<'a> {
    file_id: i64,
    source_path: &'a str,
    import: &'a ResolvedImport,
}

async fn insert_dependencies(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    repository: &str,
    rows: &[DependencyRow<'_>],
) -> StoreResult<()> {
    // Expand each import into one row per target, or one row with no target.
    let mut flat: Vec<(&DependencyRow, Option<&str>)> = Vec::new();
    for row in rows {
        if row.import.targets.is_empty() {
            flat.push((row, None));
        }
        for target in &row.import.targets {
            flat.push((row, Some(target.as_str())));
        }
    }
    for chunk in flat.chunks(ROWS_PER_INSERT) {
        let mut builder = QueryBuilder::<Sqlite>::new(
            "INSERT INTO dependencies (repository_id, file_id, source_path, target_path, spec, import_kind, line) ",
        );
        builder.push_values(chunk, |mut b, (row, target)| {
            b.push_bind(repository)
                .push_bind(row.file_id)
                .push_bind(row.source_path)
                .push_bind(*target)
                .push_bind(&row.import.spec)
                .push_bind(import_kind_name(row.import.kind))
                .push_bind(row.import.line as i64);
        });
        builder.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Bulk inserts through SQLite's C API: one prepared statement, bound and stepped per row.
///
/// Why: an index build writes millions of symbol and reference rows, and sqlx's boxed
/// per-value arguments cost as much as SQLite's own work (measured on /usr/include: the
/// rows took 6.5 of 26 CPU-seconds). The statements run on the connection sqlx hands out
/// with `lock_handle`, inside the same transaction, so atomicity is unchanged.
mod raw {
    use super::StoreError;
    use libsqlite3_sys as ffi;
    use std::ffi::{c_int, CStr};
    use std::ptr::NonNull;

    /// A connection handed to the thread that runs the inserts.
    #[derive(Clone, Copy)]
    pub struct Connection(pub NonNull<ffi::sqlite3>);

    impl Connection {
        /// (A method, so that a closure captures the whole `Send` wrapper, not the field.)
        pub fn handle(self) -> NonNull<ffi::sqlite3> {
            self.0
        }
    }

    // SAFETY: a SQLite connection may be used from any thread, one thread at a time
    // (libsqlite3-sys builds SQLite thread-safe). sqlx's `lock_handle` guard keeps every
    // other user out, and the thread holding the guard waits for the insert thread to end
    // before it releases it.
    unsafe impl Send for Connection {}

    pub struct Statement {
        db: NonNull<ffi::sqlite3>,
        statement: NonNull<ffi::sqlite3_stmt>,
    }

    fn error(db: NonNull<ffi::sqlite3>, code: c_int) -> StoreError {
        // SAFETY: `db` is an open connection; sqlite3_errmsg returns a NUL-terminated string
        // owned by SQLite, copied here before any other call on the connection.
        let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db.as_ptr())) }
            .to_string_lossy()
            .into_owned();
        StoreError::Sqlite(format!("{message} (code {code})"))
    }

    impl Statement {
        pub fn prepare(db: NonNull<ffi::sqlite3>, sql: &CStr) -> Result<Statement, StoreError> {
            let mut statement = std::ptr::null_mut();
            // SAFETY: `db` is an open connection locked for our exclusive use by sqlx's
            // `lock_handle`; `sql` is NUL-terminated; `statement` receives a new handle.
            let code = unsafe {
                ffi::sqlite3_prepare_v2(
                    db.as_ptr(),
                    sql.as_ptr(),
                    -1,
                    &mut statement,
                    std::ptr::null_mut(),
                )
            };
            match NonNull::new(statement) {
                Some(statement) if code == ffi::SQLITE_OK => Ok(Statement { db, statement }),
                _ => Err(error(db, code)),
            }
        }

        fn check(&self, code: c_int) -> Result<(), StoreError> {
            if code == ffi::SQLITE_OK {
                Ok(())
            } else {
                Err(error(self.db, code))
            }
        }

        pub fn bind_int(&mut self, index: c_int, value: i64) -> Result<(), StoreError> {
            // SAFETY: a live statement; SQLite checks the index.
            self.check(unsafe { ffi::sqlite3_bind_int64(self.statement.as_ptr(), index, value) })
        }

        pub fn bind_text(&mut self, index: c_int, value: &str) -> Result<(), StoreError> {
            let length = c_int::try_from(value.len())
                .map_err(|_| StoreError::Sqlite("text too long".into()))?;
            // SAFETY: SQLITE_TRANSIENT makes SQLite copy the bytes before returning, so the
            // borrow need not outlive the call; the length is explicit (no NUL needed).
            self.check(unsafe {
                ffi::sqlite3_bind_text(
                    self.statement.as_ptr(),
                    index,
                    value.as_ptr().cast(),
                    length,
                    ffi::SQLITE_TRANSIENT(),
                )
            })
        }

        /// Runs the statement once (an INSERT) and resets it for the next row.
        pub fn execute(&mut self) -> Result<(), StoreError> {
            // SAFETY: a live statement with all parameters bound.
            let code = unsafe { ffi::sqlite3_step(self.statement.as_ptr()) };
            // SAFETY: as above; reset keeps the bindings, which the next row overwrites.
            unsafe { ffi::sqlite3_reset(self.statement.as_ptr()) };
            if code == ffi::SQLITE_DONE {
                Ok(())
            } else {
                Err(error(self.db, code))
            }
        }
    }

    impl Drop for Statement {
        fn drop(&mut self) {
            // SAFETY: the statement was prepared by us and is finalized exactly once.
            unsafe { ffi::sqlite3_finalize(self.statement.as_ptr()) };
        }
    }
}

/// One indexing run's open write transaction. WAL mode lets readers go on meanwhile.
struct SqliteUpdate {
    tx: sqlx::Transaction<'static, Sqlite>,
    repository: String,
}

impl SqliteUpdate {
    async fn delete_paths(&mut self, paths: &[&str]) -> StoreResult<()> {
        for chunk in paths.chunks(ROWS_PER_INSERT) {
            let mut builder =
                QueryBuilder::<Sqlite>::new("DELETE FROM indexed_files WHERE repository_id = ");
            builder.push_bind(&self.repository).push(" AND path IN (");
            let mut separated = builder.separated(", ");
            for path in chunk {
                separated.push_bind(*path);
            }
            builder.push(")");
            builder.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl RepositoryUpdate for SqliteUpdate {
    async fn delete_files(&mut self, paths: &[String]) -> StoreResult<()> {
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        self.delete_paths(&paths).await
    }

    async fn upsert_files(&mut self, files: &[FileUpdate]) -> StoreResult<()> {
        let paths: Vec<&str> = files.iter().map(|u| u.file.path.as_str()).collect();
        self.delete_paths(&paths).await?;
        let repository = self.repository.clone();
        let mut file_ids: HashMap<String, i64> = HashMap::with_capacity(files.len());
        for chunk in files.chunks(ROWS_PER_INSERT) {
            let mut builder = QueryBuilder::<Sqlite>::new(
                "INSERT INTO indexed_files (repository_id, path, content_hash, language, size_bytes, skipped) ",
            );
            builder.push_values(chunk, |mut b, update| {
                b.push_bind(&repository)
                    .push_bind(&update.file.path)
                    .push_bind(&update.file.content_hash)
                    .push_bind(&update.file.language)
                    .push_bind(update.file.size_bytes as i64)
                    .push_bind(update.file.skipped);
            });
            builder.push(" RETURNING id, path");
            for row in builder.build().fetch_all(&mut *self.tx).await? {
                file_ids.insert(row.get("path"), row.get("id"));
            }
        }
        let mut symbols = Vec::new();
        let mut references = Vec::new();
        let mut dependencies = Vec::new();
        for update in files {
            let Some(&file_id) = file_ids.get(&update.file.path) else {
                continue;
            };
            symbols.extend(update.analysis.symbols.iter().map(|s| (file_id, s)));
            references.extend(update.analysis.references.iter().map(|r| (file_id, r)));
            dependencies.extend(update.imports.iter().map(|import| DependencyRow {
                file_id,
                source_path: &update.file.path,
                import,
            }));
        }
        {
            // Symbols and references are most of an index build's rows: they go through
            // SQLite's C API on this transaction's connection (see `raw`).
            let mut handle = self.tx.lock_handle().await?;
            let connection = raw::Connection(handle.as_raw_handle());
            let (symbols, references) = (&symbols, &references);
            let insert = move || -> StoreResult<()> {
                let db = connection.handle();
                let mut statement = raw::Statement::prepare(
                    db,
                    c"INSERT INTO symbols (file_id, name, kind, line_start, line_end) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for (file_id, s) in symbols {
                    statement.bind_int(1, *file_id)?;
                    statement.bind_text(2, &s.name)?;
                    statement.bind_text(3, &s.kind)?;
                    statement.bind_int(4, s.line_start as i64)?;
                    statement.bind_int(5, s.line_end as i64)?;
                    statement.execute()?;
                }
                let mut statement = raw::Statement::prepare(
                    db,
                    c"INSERT INTO \"references\" (file_id, name, kind, line, \"column\") VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for (file_id, r) in references {
                    statement.bind_int(1, *file_id)?;
                    statement.bind_text(2, &r.name)?;
                    statement.bind_text(3, r.kind.name())?;
                    statement.bind_int(4, r.line as i64)?;
                    statement.bind_int(5, r.column as i64)?;
                    statement.execute()?;
                }
                Ok(())
            };
            // The inserts run on a thread of their own at low priority, like the parse
            // pool, so that searches served meanwhile get the CPU first; this task waits
            // for it (off the async workers where the runtime allows).
            let run = || {
                std::thread::scope(|scope| {
                    std::thread::Builder::new()
                        .name("kotadb-db-writer".into())
                        .spawn_scoped(scope, move || {
                            crate::lower_thread_priority();
                            insert()
                        })
                        .map_err(|e| {
                            StoreError::Sqlite(format!("cannot start the writer thread: {e}"))
                        })?
                        .join()
                        .unwrap_or_else(|_| {
                            Err(StoreError::Sqlite("the writer thread panicked".into()))
                        })
                })
            };
            match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
                Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(run)?,
                _ => run()?,
            }
        }
        insert_dependencies(&mut self.tx, &repository, &dependencies).await
    }

    async fn reresolve_imports(&mut self, resolve: Reresolve<'_>) -> StoreResult<()> {
        let rows = sqlx::query(
            "SELECT DISTINCT file_id, source_path, spec, import_kind, line FROM dependencies WHERE repository_id = ? ORDER BY source_path, line",
        )
        .bind(&self.repository)
        .fetch_all(&mut *self.tx)
        .await?;
        let stored: Vec<(i64, StoredImport)> = rows
            .iter()
            .map(|row| {
                (
                    row.get("file_id"),
                    StoredImport {
                        path: row.get("source_path"),
                        spec: row.get("spec"),
                        kind: import_kind_from(row.get::<&str, _>("import_kind")),
                        line: row.get::<i64, _>("line") as u32,
                    },
                )
            })
            .collect();
        let resolved: Vec<(i64, &StoredImport, ResolvedImport)> = stored
            .iter()
            .map(|(file_id, import)| {
                let resolved = ResolvedImport {
                    spec: import.spec.clone(),
                    kind: import.kind,
                    line: import.line,
                    targets: resolve(import),
                };
                (*file_id, import, resolved)
            })
            .collect();
        sqlx::query("DELETE FROM dependencies WHERE repository_id = ?")
            .bind(&self.repository)
            .execute(&mut *self.tx)
            .await?;
        let rows: Vec<DependencyRow> = resolved
            .iter()
            .map(|(file_id, stored, import)| DependencyRow {
                file_id: *file_id,
                source_path: &stored.path,
                import,
            })
            .collect();
        let repository = self.repository.clone();
        insert_dependencies(&mut self.tx, &repository, &rows).await
    }

    async fn commit(mut self: Box<Self>, commit: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE repositories SET last_indexed_commit = ?, last_indexed_at = ?, updated_at = ?, status = 'ready' WHERE id = ?",
        )
        .bind(commit)
        .bind(Timestamp::now())
        .bind(Timestamp::now())
        .bind(&self.repository)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl IndexStore for SqliteStore {
    async fn begin_update(&self, id: &RepositoryId) -> StoreResult<Box<dyn RepositoryUpdate>> {
        let tx = self.pool.begin().await?;
        Ok(Box::new(SqliteUpdate {
            tx,
            repository: id.0.clone(),
        }))
    }

    async fn files(&self, id: &RepositoryId) -> StoreResult<Vec<FileRecord>> {
        let rows = sqlx::query(
            "SELECT path, content_hash, language, size_bytes, skipped FROM indexed_files WHERE repository_id = ? ORDER BY path",
        )
        .bind(&id.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(file_from_row).collect())
    }

    async fn recent_files(
        &self,
        id: &RepositoryId,
        limit: u32,
    ) -> StoreResult<Vec<(FileRecord, Timestamp)>> {
        let rows = sqlx::query(
            "SELECT path, content_hash, language, size_bytes, skipped, indexed_at FROM indexed_files \
             WHERE repository_id = ? ORDER BY indexed_at DESC, path LIMIT ?",
        )
        .bind(&id.0)
        .bind(limit as i64)
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
        let mut builder = QueryBuilder::<Sqlite>::new(
            "SELECT f.repository_id, s.name, s.kind, f.path, s.line_start, s.line_end FROM symbols s \
             JOIN indexed_files f ON f.id = s.file_id JOIN repositories r ON r.id = f.repository_id \
             WHERE r.organization_id = ",
        );
        builder.push_bind(&org.0);
        // SQLite's LIKE ignores ASCII case: the rules of `SymbolPattern` as they are.
        builder
            .push(" AND s.name LIKE ")
            .push_bind(pattern.like())
            .push(" ESCAPE '\\'");
        if let Some(kind) = &query.kind {
            builder.push(" AND s.kind = ").push_bind(kind);
        }
        if let Some(repository) = &query.repository {
            builder
                .push(" AND f.repository_id = ")
                .push_bind(&repository.0);
        }
        let text = pattern.text();
        builder
            .push(" ORDER BY CASE WHEN s.name = ")
            .push_bind(text)
            .push(" THEN 0 WHEN s.name LIKE ")
            .push_bind(like_escape(text))
            .push(" ESCAPE '\\' THEN 1 WHEN ");
        match pattern.prefix_like() {
            Some(prefix) => builder
                .push("s.name LIKE ")
                .push_bind(prefix)
                .push(" ESCAPE '\\'"),
            // GLOB is SQLite's case-sensitive glob; `[` is its only other special.
            None => builder
                .push("s.name GLOB ")
                .push_bind(text.replace('[', "[[]")),
        };
        builder
            .push(" THEN 2 ELSE 3 END, length(s.name), s.name, f.path, s.line_start LIMIT ")
            .push_bind(query.limit as i64);
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
        let mut builder = QueryBuilder::<Sqlite>::new(
            "SELECT f.repository_id, f.path, x.line, x.\"column\", x.kind FROM \"references\" x \
             JOIN indexed_files f ON f.id = x.file_id JOIN repositories r ON r.id = f.repository_id \
             WHERE r.organization_id = ",
        );
        builder
            .push_bind(&org.0)
            .push(" AND x.name = ")
            .push_bind(name);
        if let Some(repository) = repository {
            builder
                .push(" AND f.repository_id = ")
                .push_bind(&repository.0);
        }
        builder
            .push(" ORDER BY f.repository_id, f.path, x.line, x.\"column\" LIMIT ")
            .push_bind(limit as i64);
        let rows = builder.build().fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|row| ReferenceHit {
                repository_id: row.get("repository_id"),
                path: row.get("path"),
                line: row.get::<i64, _>("line") as u32,
                column: row.get::<i64, _>("column") as u32,
                kind: ReferenceKind::parse(row.get("kind"))
                    .map_or("reference", ReferenceKind::name)
                    .to_string(),
            })
            .collect())
    }

    async fn symbols_in_file(&self, id: &RepositoryId, path: &str) -> StoreResult<Vec<SymbolHit>> {
        let rows = sqlx::query(
            "SELECT f.repository_id, s.name, s.kind, f.path, s.line_start, s.line_end FROM symbols s \
             JOIN indexed_files f ON f.id = s.file_id WHERE f.repository_id = ? AND f.path = ? ORDER BY s.line_start",
        )
        .bind(&id.0)
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
        let (from, to) = match direction {
            EdgeDirection::Dependencies => ("source_path", "target_path"),
            EdgeDirection::Dependents => ("target_path", "source_path"),
        };
        let mut edges = Vec::new();
        for chunk in paths.chunks(ROWS_PER_INSERT) {
            let mut builder = QueryBuilder::<Sqlite>::new(format!(
                "SELECT DISTINCT {from} AS a, {to} AS b FROM dependencies WHERE target_path IS NOT NULL AND repository_id = "
            ));
            builder.push_bind(&id.0).push(format!(" AND {from} IN ("));
            let mut separated = builder.separated(", ");
            for path in chunk {
                separated.push_bind(path);
            }
            builder.push(")");
            for row in builder.build().fetch_all(&self.pool).await? {
                edges.push((row.get("a"), row.get("b")));
            }
        }
        Ok(edges)
    }
}
