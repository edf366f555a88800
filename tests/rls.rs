//! Row-level security and the SQL-editor keys, proved in SQL on a real Postgres (a
//! throwaway cluster, or DATABASE_URL_TEST): the migrations in migrations/postgres on an
//! empty database, two organizations with a member each and rows in every table, then
//! queries as Supabase's roles inside `BEGIN … ROLLBACK` with the JWT claims set as
//! PostgREST sets them. Without a reachable Postgres these tests fail; they never skip.

use kotadb::testing::postgres::TestDatabase;
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::AssertSqlSafe;

/// A table of the schema: how to name a row, and which organization a row belongs to,
/// written independently of the policies (plain joins, as the owner).
struct Table {
    name: &'static str,
    /// A text key of a row, using only columns a member may read.
    key: &'static str,
    /// The row's organization id, in terms of `t`.
    organization: &'static str,
}

const BY_REPOSITORY: &str =
    "(SELECT r.organization_id FROM repositories r WHERE r.id = t.repository_id)";
const BY_FILE: &str = "(SELECT r.organization_id FROM indexed_files f \
     JOIN repositories r ON r.id = f.repository_id WHERE f.id = t.file_id)";

const TABLES: &[Table] = &[
    Table {
        name: "organizations",
        key: "t.id::text",
        organization: "t.id",
    },
    Table {
        name: "organization_members",
        key: "t.organization_id::text || '/' || t.user_id::text",
        organization: "t.organization_id",
    },
    Table {
        name: "api_keys",
        key: "t.id::text",
        organization: "t.organization_id",
    },
    Table {
        name: "repositories",
        key: "t.id::text",
        organization: "t.organization_id",
    },
    Table {
        name: "indexing_jobs",
        key: "t.id::text",
        organization: BY_REPOSITORY,
    },
    Table {
        name: "indexing_job_events",
        key: "t.id::text",
        organization: "(SELECT r.organization_id FROM indexing_jobs j \
             JOIN repositories r ON r.id = j.repository_id WHERE j.id = t.job_id)",
    },
    Table {
        name: "webhook_deliveries",
        key: "t.id::text",
        organization: BY_REPOSITORY,
    },
    Table {
        name: "indexed_files",
        key: "t.id::text",
        organization: BY_REPOSITORY,
    },
    Table {
        name: "symbols",
        key: "t.id::text",
        organization: BY_FILE,
    },
    Table {
        name: "\"references\"",
        key: "t.id::text",
        organization: BY_FILE,
    },
    Table {
        name: "dependencies",
        key: "t.id::text",
        organization: BY_REPOSITORY,
    },
    Table {
        name: "rate_limits",
        key: "t.subject || '/' || t.window_kind",
        organization: "t.organization_id",
    },
    Table {
        name: "usage_metrics",
        key: "t.id::text",
        organization: "t.organization_id",
    },
    Table {
        name: "token_usage",
        key: "t.id::text",
        organization: "t.organization_id",
    },
    Table {
        name: "usage_hourly",
        key: "t.hour_start::text || '/' || t.subject || '/' || t.endpoint",
        organization: "t.organization_id",
    },
];

/// The owner's alone: the side table of the SQL-editor keys, sqlx's bookkeeping, and the
/// indexing runs' staging marker (`index_updates`, see `store::postgres::records`).
const PRIVATE_TABLES: &[&str] = &[
    "api_key_pending_digests",
    "_sqlx_migrations",
    "index_updates",
    "upkeep_state",
    "upkeep_alerts",
];

async fn migrated(database: &TestDatabase) -> PgPool {
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&database.url)
        .await
        .expect("connect to the test database");
    sqlx::migrate!("./migrations/postgres")
        .run(&pool)
        .await
        .expect("the Postgres migrations apply to an empty database");
    pool
}

struct Tenant {
    org: String,
    user: String,
    key: String,
    repo: String,
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// One organization with a member and rows in every table (as the owner, like the server).
async fn seed(pool: &PgPool, name: &str) -> Tenant {
    let tenant = Tenant {
        org: uuid(),
        user: uuid(),
        key: uuid(),
        repo: uuid(),
    };
    let (org, user, key, repo, job) =
        (&tenant.org, &tenant.user, &tenant.key, &tenant.repo, uuid());
    let key_hash = sha256_hex(&format!("secret-of-{name}"));
    let sql = format!(
        r#"
        INSERT INTO auth.users (id, email) VALUES ('{user}', '{name}@example.com');
        INSERT INTO organizations (id, name) VALUES ('{org}', '{name}');
        INSERT INTO organization_members (organization_id, user_id, role) VALUES ('{org}', '{user}', 'owner');
        INSERT INTO api_keys (id, user_id, organization_id, key_hash, tier) VALUES ('{key}', '{user}', '{org}', '{key_hash}', 'team');
        INSERT INTO repositories (id, organization_id, name, git_url) VALUES ('{repo}', '{org}', '{name}/app', 'https://example.com/{name}/app.git');
        INSERT INTO indexed_files (repository_id, path, content_hash, language, size_bytes)
            VALUES ('{repo}', 'src/main.rs', 'blob1', 'rust', 10), ('{repo}', 'src/lib.rs', 'blob2', 'rust', 20);
        INSERT INTO symbols (file_id, name, kind, line_start, line_end)
            SELECT id, 'item_' || path, 'function', 1, 3 FROM indexed_files WHERE repository_id = '{repo}';
        INSERT INTO "references" (file_id, name, kind, line, "column")
            SELECT id, 'helper', 'call', 2, 5 FROM indexed_files WHERE repository_id = '{repo}';
        INSERT INTO dependencies (repository_id, file_id, source_path, target_path, spec, import_kind, line)
            SELECT '{repo}', id, path, 'src/lib.rs', 'crate::lib', 'use', 1 FROM indexed_files
            WHERE repository_id = '{repo}' AND path = 'src/main.rs';
        INSERT INTO indexing_jobs (id, repository_id, requested_by, job_type) VALUES ('{job}', '{repo}', '{key}', 'full_index');
        INSERT INTO indexing_job_events (job_id, event_type, message) VALUES ('{job}', 'queued', 'queued'), ('{job}', 'started', NULL);
        INSERT INTO webhook_deliveries (repository_id, delivery_id, event_type, job_id) VALUES ('{repo}', 'delivery-{name}', 'push', '{job}');
        INSERT INTO rate_limits (subject, organization_id, window_kind, window_start, leased)
            VALUES ('key:{key}', '{org}', 'hour', date_trunc('hour', now()), 10), ('key:{key}', '{org}', 'month', date_trunc('month', now()), 100);
        INSERT INTO usage_metrics (api_key_id, user_id, organization_id, endpoint, method, status_code, response_time_ms)
            VALUES ('{key}', '{user}', '{org}', '/search', 'GET', 200, 12);
        INSERT INTO token_usage (api_key_id, organization_id, repository_id, job_id, usage_type, tokens_used)
            VALUES ('{key}', '{org}', '{repo}', '{job}', 'indexing', 1000);
        INSERT INTO usage_hourly (hour_start, organization_id, subject, endpoint, requests,
                client_errors, server_errors, total_response_ms, max_response_ms)
            VALUES (date_trunc('hour', now()), '{org}', 'key:{key}', '/search', 1, 0, 0, 12, 12);
        "#
    );
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("seed {name}: {e}"));
    tenant
}

fn claims(user: &str) -> String {
    format!(r#"{{"sub":"{user}","role":"authenticated"}}"#)
}

/// Who runs a statement: a Supabase user (authenticated, with these JWT claims), anon,
/// or service_role.
#[derive(Clone, Copy, Debug)]
enum As<'a> {
    User(&'a str),
    Anon,
    ServiceRole,
}

/// Runs `sql` as `who` inside BEGIN … ROLLBACK; the text column of every row.
async fn rows_as(pool: &PgPool, who: As<'_>, sql: &str) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = pool.begin().await.expect("begin");
    enter(&mut tx, who).await;
    let result = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql.to_string()))
        .fetch_all(&mut *tx)
        .await;
    tx.rollback().await.expect("rollback");
    result.map(|mut rows| {
        rows.sort();
        rows
    })
}

/// Runs a statement as `who` inside BEGIN … ROLLBACK; the number of rows it changed.
async fn execute_as(pool: &PgPool, who: As<'_>, sql: &str) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await.expect("begin");
    enter(&mut tx, who).await;
    let result = sqlx::query(AssertSqlSafe(sql.to_string()))
        .execute(&mut *tx)
        .await;
    tx.rollback().await.expect("rollback");
    result.map(|done| done.rows_affected())
}

async fn enter(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, who: As<'_>) {
    let (claims, role) = match who {
        As::User(user) => (claims(user), "authenticated"),
        As::Anon => (r#"{"role":"anon"}"#.to_string(), "anon"),
        As::ServiceRole => (r#"{"role":"service_role"}"#.to_string(), "service_role"),
    };
    sqlx::query("SELECT set_config('request.jwt.claims', $1, true)")
        .bind(claims)
        .execute(&mut **tx)
        .await
        .expect("set the JWT claims");
    sqlx::raw_sql(AssertSqlSafe(format!("SET LOCAL ROLE {role}")))
        .execute(&mut **tx)
        .await
        .expect("set role");
}

fn is_denied(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "42501")
}

fn expect_denied<T: std::fmt::Debug>(result: Result<T, sqlx::Error>, what: &str) {
    match result {
        Err(error) if is_denied(&error) => {}
        other => panic!("{what}: expected permission denied (42501), got {other:?}"),
    }
}

async fn owner_rows(pool: &PgPool, table: &Table, org: Option<&str>) -> Vec<String> {
    let sql = match org {
        Some(_) => format!(
            "SELECT {} FROM {} t WHERE {} = $1::uuid ORDER BY 1",
            table.key, table.name, table.organization
        ),
        None => format!("SELECT {} FROM {} t ORDER BY 1", table.key, table.name),
    };
    let query = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
    let query = match org {
        Some(org) => query.bind(org.to_string()),
        None => query,
    };
    query
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{} as owner: {e}", table.name))
}

#[tokio::test]
async fn members_see_only_their_organizations_rows_in_every_table() {
    let database = TestDatabase::create();
    let pool = migrated(&database).await;

    // RLS is on for every table of the schema, and this test covers every one: a table
    // added later fails here until it has policies and a line in TABLES.
    let tables: Vec<(String, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("list tables");
    for (name, rls) in &tables {
        assert!(rls, "row-level security is not enabled on public.{name}");
        let covered = TABLES.iter().any(|t| t.name.trim_matches('"') == name)
            || PRIVATE_TABLES.contains(&name.as_str());
        assert!(covered, "public.{name} is not covered by tests/rls.rs");
    }
    assert_eq!(tables.len(), TABLES.len() + PRIVATE_TABLES.len());
    // anon holds no privilege on any table (Supabase's default privileges grant it all on
    // every new table in public: each migration that adds one must revoke them).
    let anon_privileges: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text || ' ' || p.privilege FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p(privilege) \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') \
           AND has_table_privilege('anon', c.oid, p.privilege)",
    )
    .fetch_all(&pool)
    .await
    .expect("anon's privileges");
    assert!(anon_privileges.is_empty(), "anon may: {anon_privileges:?}");

    let acme = seed(&pool, "acme").await;
    let globex = seed(&pool, "globex").await;
    let outsider = uuid();
    sqlx::raw_sql(AssertSqlSafe(format!(
        "INSERT INTO auth.users (id, email) VALUES ('{outsider}', 'outsider@example.com')"
    )))
    .execute(&pool)
    .await
    .expect("an auth user in no organization");

    for table in TABLES {
        let all = owner_rows(&pool, table, None).await;
        let of_acme = owner_rows(&pool, table, Some(&acme.org)).await;
        let of_globex = owner_rows(&pool, table, Some(&globex.org)).await;
        assert!(
            !of_acme.is_empty() && !of_globex.is_empty(),
            "{}: seeded",
            table.name
        );
        assert!(
            of_acme.iter().all(|row| !of_globex.contains(row)),
            "{}",
            table.name
        );

        let select = format!("SELECT {} FROM {} t", table.key, table.name);
        for (tenant, expected) in [(&acme, &of_acme), (&globex, &of_globex)] {
            let seen = rows_as(&pool, As::User(&tenant.user), &select)
                .await
                .unwrap_or_else(|e| panic!("{} as a member: {e}", table.name));
            assert_eq!(
                &seen, expected,
                "{}: a member sees exactly their organization's rows",
                table.name
            );
        }
        let seen = rows_as(&pool, As::User(&outsider), &select)
            .await
            .unwrap_or_else(|e| panic!("{} as a non-member: {e}", table.name));
        assert!(
            seen.is_empty(),
            "{}: a user in no organization sees {seen:?}",
            table.name
        );
        match rows_as(&pool, As::Anon, &select).await {
            Ok(seen) => assert!(seen.is_empty(), "{}: anon sees {seen:?}", table.name),
            Err(error) => assert!(is_denied(&error), "{}: anon: {error}", table.name),
        }
        let seen = rows_as(&pool, As::ServiceRole, &select)
            .await
            .unwrap_or_else(|e| panic!("{} as service_role: {e}", table.name));
        assert_eq!(seen, all, "{}: service_role sees every row", table.name);
    }
    for name in PRIVATE_TABLES {
        let select = format!("SELECT count(*)::text FROM {name}");
        expect_denied(rows_as(&pool, As::User(&acme.user), &select).await, name);
        expect_denied(rows_as(&pool, As::Anon, &select).await, name);
    }

    // Never the hashes of API keys, not even of one's own organization.
    for column in ["key_hash", "lookup_hash"] {
        let sql = format!("SELECT {column} FROM api_keys");
        expect_denied(rows_as(&pool, As::User(&acme.user), &sql).await, column);
    }
    expect_denied(
        rows_as(
            &pool,
            As::User(&acme.user),
            "SELECT id::text FROM (SELECT * FROM api_keys) k",
        )
        .await,
        "SELECT * FROM api_keys",
    );

    // Writes: a member adds and renames repositories of their own organization only.
    let insert = |org: &str| {
        format!(
            "INSERT INTO repositories (organization_id, name, git_url) \
             VALUES ('{org}', 'new', 'https://example.com/new-{}.git')",
            uuid()
        )
    };
    let member = As::User(&acme.user);
    assert_eq!(
        execute_as(&pool, member, &insert(&acme.org))
            .await
            .expect("own org"),
        1
    );
    expect_denied(
        execute_as(&pool, member, &insert(&globex.org)).await,
        "insert into another org",
    );
    expect_denied(
        execute_as(&pool, As::User(&outsider), &insert(&acme.org)).await,
        "a non-member inserts",
    );
    expect_denied(
        execute_as(&pool, As::Anon, &insert(&acme.org)).await,
        "anon inserts",
    );

    let rename =
        |repo: &str| format!("UPDATE repositories SET name = 'renamed' WHERE id = '{repo}'");
    assert_eq!(
        execute_as(&pool, member, &rename(&acme.repo))
            .await
            .expect("own repo"),
        1
    );
    assert_eq!(
        execute_as(&pool, member, &rename(&globex.repo))
            .await
            .expect("other org's repo"),
        0,
        "a member cannot update another organization's repository"
    );
    expect_denied(
        execute_as(
            &pool,
            member,
            &format!(
                "UPDATE repositories SET organization_id = '{}' WHERE id = '{}'",
                globex.org, acme.repo
            ),
        )
        .await,
        "moving a repository to another organization",
    );
    let revoke = |key: &str| format!("UPDATE api_keys SET revoked_at = now() WHERE id = '{key}'");
    assert_eq!(
        execute_as(&pool, member, &revoke(&acme.key))
            .await
            .expect("own key"),
        1
    );
    assert_eq!(
        execute_as(&pool, member, &revoke(&globex.key))
            .await
            .expect("other org's key"),
        0,
        "a member cannot revoke another organization's key"
    );
    expect_denied(
        execute_as(
            &pool,
            member,
            &format!(
                "UPDATE api_keys SET key_hash = 'x' WHERE id = '{}'",
                acme.key
            ),
        )
        .await,
        "a member sets a key's hash",
    );
    expect_denied(
        execute_as(
            &pool,
            member,
            &format!("DELETE FROM repositories WHERE id = '{}'", acme.repo),
        )
        .await,
        "a member deletes a repository",
    );
    expect_denied(
        execute_as(
            &pool,
            member,
            &format!(
                "INSERT INTO organization_members (organization_id, user_id) VALUES ('{}', '{}')",
                globex.org, acme.user
            ),
        )
        .await,
        "a member joins another organization",
    );
    expect_denied(
        execute_as(&pool, member, "UPDATE symbols SET name = 'x'").await,
        "a member edits the index",
    );

    // Rows an index run has staged but not committed stay invisible to members too.
    sqlx::raw_sql(AssertSqlSafe(format!(
        "WITH u AS (INSERT INTO index_updates (repository_id) VALUES ('{repo}') RETURNING id), \
         f AS (INSERT INTO indexed_files (repository_id, path, content_hash, size_bytes, update_id) \
               SELECT '{repo}', 'src/staged.rs', 'blob9', 1, id FROM u RETURNING id) \
         INSERT INTO symbols (file_id, name, kind, line_start, line_end) \
         SELECT id, 'staged_symbol', 'function', 1, 1 FROM f",
        repo = acme.repo
    )))
    .execute(&pool)
    .await
    .expect("stage an unfinished index run");
    let seen = rows_as(
        &pool,
        member,
        "SELECT path FROM indexed_files UNION ALL SELECT name FROM symbols",
    )
    .await
    .expect("member reads");
    assert!(
        !seen.iter().any(|r| r.contains("staged")),
        "a member saw uncommitted index rows: {seen:?}"
    );

    // Nothing above was kept (every statement ran inside BEGIN … ROLLBACK).
    let name: String = sqlx::query_scalar("SELECT name FROM repositories WHERE id = $1::uuid")
        .bind(globex.repo.clone())
        .fetch_one(&pool)
        .await
        .expect("globex's repository");
    assert_eq!(name, "globex/app");
    pool.close().await;
}

/// Seed 000's statement, exactly as a user types it in the Supabase SQL editor.
#[tokio::test]
async fn a_key_made_in_the_sql_editor_is_found_by_its_lookup_hash() {
    let database = TestDatabase::create();
    let pool = migrated(&database).await;
    let (user, org) = (uuid(), uuid());
    sqlx::raw_sql(AssertSqlSafe(format!(
        "INSERT INTO auth.users (id, email) VALUES ('{user}', 'editor@example.com');
         INSERT INTO organizations (id, name) VALUES ('{org}', 'editors');
         INSERT INTO api_key_pending_digests (key_hash, lookup_hash, created_at)
             VALUES ('$2a$06$stale', 'never-inserted', now() - interval '2 hours');"
    )))
    .execute(&pool)
    .await
    .expect("a user, an organization and a stale side row");

    let plaintext = "kota_solo_made-in-the-sql-editor_0123456789";
    let mut editor = pool
        .acquire()
        .await
        .expect("a session like the SQL editor's");
    sqlx::raw_sql(r#"SET search_path = "$user", public, extensions"#)
        .execute(&mut *editor)
        .await
        .expect("the SQL editor's search_path");
    sqlx::raw_sql(AssertSqlSafe(format!(
        "INSERT INTO api_keys (user_id, organization_id, key_hash, tier) \
         VALUES ('{user}', '{org}', crypt('{plaintext}', gen_salt('bf')), 'solo');"
    )))
    .execute(&mut *editor)
    .await
    .expect("seed 000's statement");
    sqlx::raw_sql("RESET search_path")
        .execute(&mut *editor)
        .await
        .expect("reset");
    drop(editor);

    // The server's lookup: one indexed row by sha256(presented key), then its bcrypt.
    let lookup = sha256_hex(plaintext);
    let (key_hash, verified): (String, bool) = sqlx::query_as(
        "SELECT key_hash, extensions.crypt($1, key_hash) = key_hash \
         FROM api_keys WHERE lookup_hash = $2",
    )
    .bind(plaintext)
    .bind(&lookup)
    .fetch_one(&pool)
    .await
    .expect("the key is found by lookup_hash = sha256 hex of the plaintext");
    assert!(key_hash.starts_with("$2a$"), "a bcrypt hash: {key_hash}");
    assert!(verified, "crypt(plaintext, key_hash) = key_hash");
    let wrong: bool = sqlx::query_scalar("SELECT extensions.crypt('wrong', $1) = $1")
        .bind(&key_hash)
        .fetch_one(&pool)
        .await
        .expect("verify a wrong key");
    assert!(!wrong);

    let members: Vec<(String, String)> =
        sqlx::query_as("SELECT organization_id::text, user_id::text FROM organization_members")
            .fetch_all(&pool)
            .await
            .expect("members");
    assert_eq!(
        members,
        vec![(org.clone(), user.clone())],
        "the key's user became a member"
    );
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM api_key_pending_digests")
        .fetch_one(&pool)
        .await
        .expect("side rows");
    assert_eq!(
        pending, 0,
        "the digest moved into api_keys, and the stale side row is gone"
    );

    // The member now sees the key through RLS (but never its hashes).
    let seen = rows_as(&pool, As::User(&user), "SELECT tier FROM api_keys")
        .await
        .expect("the member's keys");
    assert_eq!(seen, vec!["solo".to_string()]);

    // Verifying (crypt with a stored hash as the salt) records nothing; a session with the
    // server's search_path finds gen_salt; a bcrypt hash with no digest is refused rather
    // than stored unfindable.
    let mut server = pool.acquire().await.expect("a server session");
    sqlx::raw_sql("SET search_path = public, extensions")
        .execute(&mut *server)
        .await
        .expect("search_path");
    let same: bool = sqlx::query_scalar("SELECT crypt($1, $2) = $2")
        .bind(plaintext)
        .bind(&key_hash)
        .fetch_one(&mut *server)
        .await
        .expect("verify through the wrapper");
    assert!(same);
    let salt: String = sqlx::query_scalar("SELECT gen_salt('bf')")
        .fetch_one(&mut *server)
        .await
        .expect("gen_salt resolves with search_path public, extensions");
    assert!(salt.starts_with("$2a$") && salt.len() == 29, "{salt}");
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM api_key_pending_digests")
        .fetch_one(&mut *server)
        .await
        .expect("side rows");
    assert_eq!(pending, 0, "verifying records nothing");
    let refused = sqlx::raw_sql(AssertSqlSafe(format!(
        "INSERT INTO api_keys (organization_id, key_hash, tier) \
         VALUES ('{org}', extensions.crypt('elsewhere', extensions.gen_salt('bf')), 'solo')"
    )))
    .execute(&mut *server)
    .await;
    let error = refused.expect_err("a bcrypt key_hash without a digest is refused");
    assert!(error.to_string().contains("lookup_hash"), "{error}");
    drop(server);
    pool.close().await;
}
