//! SQL on a test Postgres database from the synchronous tests: each call runs on a
//! thread and a current-thread runtime of its own (the server under test is another
//! process).

/// Runs `work` with a connection to the database at `url`.
pub fn with_db<T, F>(url: &str, work: impl FnOnce(sqlx::PgConnection) -> F + Send + 'static) -> T
where
    T: Send + 'static,
    F: std::future::Future<Output = T>,
{
    let url = url.to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            use sqlx::Connection;
            let connection = sqlx::PgConnection::connect(&url).await.unwrap();
            work(connection).await
        })
    })
    .join()
    .unwrap()
}

/// Runs SQL statements (several, separated by `;`), panicking with the error.
pub fn sql(url: &str, statements: &str) {
    let statements = statements.to_string();
    with_db(url, |mut connection| async move {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statements.clone()))
            .execute(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("{statements}: {e}"));
    });
}

/// Runs one query; the first column of every row as text (NULL as "").
pub fn query(url: &str, sql: &str) -> Vec<String> {
    let sql = sql.to_string();
    with_db(url, |mut connection| async move {
        use sqlx::Row;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_all(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.iter()
            .map(|row| row.get::<Option<String>, _>(0).unwrap_or_default())
            .collect()
    })
}
