//! Throwaway Postgres databases for tests.
//!
//! [`TestDatabase::create`] gives each test a fresh, empty database (no migrations), dropped
//! (`DROP DATABASE … WITH (FORCE)`) when the value is dropped. The databases live on one
//! throwaway cluster per test process, started on first use: `initdb` into a temporary
//! directory, `postgres` on a free loopback port with its socket in that directory, tuned
//! for tests (no fsync, no synchronous commit, no full-page writes, 200 connections). A
//! watchdog shell stops the cluster (immediate shutdown) and removes its directory once the
//! test process is gone, however it ended.
//!
//! With `DATABASE_URL_TEST` set (a `postgres://` URL of a role that may create databases),
//! the databases are created on that server instead and no cluster is started.
//!
//! Nothing here skips: when Postgres cannot be found or started, `create` panics with what
//! is missing, so the test fails.
//!
//! Everything blocks and never nests a Tokio runtime: the SQL runs on a plain thread with
//! its own current-thread runtime, so `create` (and the drop) work inside `#[tokio::test]`.

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

/// The environment variable naming an existing server to create the test databases on.
pub const DATABASE_URL_TEST: &str = "DATABASE_URL_TEST";

/// How long the cluster may take to accept connections, and one connection to be made.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A fresh, empty database for one test, dropped with the value.
#[derive(Debug)]
pub struct TestDatabase {
    /// `postgres://…/<name>`: connect here (as a superuser on the throwaway cluster).
    pub url: String,
    name: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates a new empty database (starting the process's cluster on first use).
    /// Blocking; safe to call from inside a Tokio runtime. Panics when no Postgres is
    /// available, naming what is missing.
    pub fn create() -> TestDatabase {
        let server = match server() {
            Ok(server) => server,
            Err(message) => panic!("test Postgres unavailable: {message}"),
        };
        let name = format!(
            "kotadb_test_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..20]
        );
        let statement = format!("CREATE DATABASE \"{name}\" TEMPLATE template0");
        if let Err(message) = run_sql(&server.admin_url, vec![statement]) {
            panic!("test Postgres: could not create database {name}: {message}");
        }
        TestDatabase {
            url: server.database_url(&name),
            name,
            admin_url: server.admin_url.clone(),
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(message) = run_sql(&self.admin_url, vec![statement]) {
            // Never panic in drop (it may run while a test is already panicking); the
            // cluster and its files go with the process anyway.
            eprintln!(
                "test Postgres: could not drop database {}: {message}",
                self.name
            );
        }
    }
}

/// Where the test databases are made.
struct Server {
    /// A connection URL for administration (`CREATE/DROP DATABASE`).
    admin_url: String,
    /// The admin URL, whose path is replaced by each database's name.
    base: url::Url,
}

impl Server {
    fn database_url(&self, name: &str) -> String {
        let mut url = self.base.clone();
        url.set_path(&format!("/{name}"));
        url.to_string()
    }
}

fn server() -> Result<&'static Server, String> {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| match std::env::var(DATABASE_URL_TEST) {
            Ok(url) if !url.trim().is_empty() => external_server(url.trim()),
            _ => start_cluster(),
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn external_server(admin_url: &str) -> Result<Server, String> {
    let base = url::Url::parse(admin_url)
        .map_err(|e| format!("{DATABASE_URL_TEST} is not a URL ({e}): {admin_url}"))?;
    if !matches!(base.scheme(), "postgres" | "postgresql") {
        return Err(format!(
            "{DATABASE_URL_TEST} must be a postgres:// URL: {admin_url}"
        ));
    }
    run_sql(admin_url, vec!["SELECT 1".to_string()])
        .map_err(|e| format!("cannot connect to {DATABASE_URL_TEST} ({admin_url}): {e}"))?;
    Ok(Server {
        admin_url: admin_url.to_string(),
        base,
    })
}

/// The directory of `initdb` and `postgres`: `KOTADB_PG_BIN`, else Debian's
/// `/usr/lib/postgresql/15/bin`, else the newest `/usr/lib/postgresql/*/bin`, else `PATH`.
fn postgres_bin_dir() -> Result<PathBuf, String> {
    let has_binaries = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("KOTADB_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if has_binaries(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "KOTADB_PG_BIN={} has no initdb and postgres",
                dir.display()
            ))
        };
    }
    let debian = PathBuf::from("/usr/lib/postgresql/15/bin");
    if has_binaries(&debian) {
        return Ok(debian);
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_binaries(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|dir| has_binaries(dir)) {
            return Ok(dir);
        }
    }
    Err(
        "PostgreSQL server binaries (initdb, postgres) not found in \
         /usr/lib/postgresql/15/bin, /usr/lib/postgresql/*/bin or PATH: install Debian's \
         postgresql-15 (`bash .ci/run` does), set KOTADB_PG_BIN to their directory, or set \
         DATABASE_URL_TEST to a server that may create databases"
            .to_string(),
    )
}

/// The uid and gid to run the server as: ours, or the `postgres` user's when we are root
/// (`initdb` and `postgres` refuse to run as root).
fn server_user() -> Result<Option<(u32, u32)>, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    // SAFETY: getpwnam reads a static buffer; the fields are copied out at once, and this
    // runs once per process (inside the OnceLock initialiser).
    let entry = unsafe { libc::getpwnam(c"postgres".as_ptr()) };
    if entry.is_null() {
        return Err(
            "running as root, and Postgres refuses root, but there is no `postgres` \
                    user to run it as (Debian's postgresql-15 package creates it)"
                .to_string(),
        );
    }
    // SAFETY: entry is a non-null pointer to the passwd record getpwnam returned.
    let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    Ok(Some((uid, gid)))
}

fn chown(path: &Path, user: Option<(u32, u32)>) -> Result<(), String> {
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .map_err(|e| format!("chown {}: {e}", path.display()))?;
    }
    Ok(())
}

fn command_as(program: PathBuf, user: Option<(u32, u32)>, dir: &Path) -> Command {
    let mut command = Command::new(program);
    command.current_dir(dir).stdin(Stdio::null());
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
        // Root's HOME would be unreadable to the postgres user.
        command.env("HOME", dir);
    }
    command
}

fn tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| format!("no free loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

fn start_cluster() -> Result<Server, String> {
    let files = init_cluster()?;
    // A port found free may be taken before the server binds it: try a few.
    let mut last_error = String::new();
    for _ in 0..5 {
        let port = free_port()?;
        match start_postgres(&files, port) {
            Ok((server, _child)) => return Ok(server),
            Err(message) => last_error = message,
        }
    }
    Err(last_error)
}

/// A cluster's binaries, user and files.
struct ClusterFiles {
    bin: PathBuf,
    user: Option<(u32, u32)>,
    base: PathBuf,
    data: PathBuf,
}

/// `initdb` into a fresh temporary directory.
fn init_cluster() -> Result<ClusterFiles, String> {
    let bin = postgres_bin_dir()?;
    let user = server_user()?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let base = std::env::temp_dir().join(format!("kotadb-pg-{}-{nanos}", std::process::id()));
    fs::create_dir_all(&base).map_err(|e| format!("create {}: {e}", base.display()))?;
    fs::set_permissions(&base, fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("chmod {}: {e}", base.display()))?;
    chown(&base, user)?;
    let data = base.join("data");

    let initdb_log = base.join("initdb.log");
    let log = File::create(&initdb_log).map_err(|e| format!("create initdb.log: {e}"))?;
    let log_err = log.try_clone().map_err(|e| format!("initdb.log: {e}"))?;
    let status = command_as(bin.join("initdb"), user, &base)
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .stdout(log)
        .stderr(log_err)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", bin.join("initdb").display()))?;
    if !status.success() {
        return Err(format!("initdb failed ({status}):\n{}", tail(&initdb_log)));
    }
    Ok(ClusterFiles {
        bin,
        user,
        base,
        data,
    })
}

/// Starts `postgres` on `port` and waits until it accepts connections; returns the
/// server and its process (the watchdog stops it once the test process is gone).
fn start_postgres(
    files: &ClusterFiles,
    port: u16,
) -> Result<(Server, std::process::Child), String> {
    let ClusterFiles {
        bin,
        user,
        base,
        data,
    } = files;
    let user = *user;
    let log_path = base.join("postgres.log");
    let log = File::create(&log_path).map_err(|e| format!("create postgres.log: {e}"))?;
    let log_err = log.try_clone().map_err(|e| format!("postgres.log: {e}"))?;
    let mut child = command_as(bin.join("postgres"), user, base)
        .arg("-D")
        .arg(data)
        .arg("-p")
        .arg(port.to_string())
        .arg("-k")
        .arg(base)
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=64MB",
            "-c",
            "log_min_messages=warning",
        ])
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.join("postgres").display()))?;
    let pid = child.id();

    // The watchdog: once this process is gone, stop the server at once and remove its
    // files. A shell, not PR_SET_PDEATHSIG, which fires when the spawning *thread* exits.
    let watchdog = Command::new("sh")
        .arg("-c")
        .arg(
            r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done
kill -QUIT "$2" 2>/dev/null
i=0; while kill -0 "$2" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL "$2" 2>/dev/null
rm -rf "$3""#,
        )
        .arg("kotadb-pg-watchdog")
        .arg(std::process::id().to_string())
        .arg(pid.to_string())
        .arg(base)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Err(e) = watchdog {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("cannot start the watchdog shell (sh): {e}"));
    }

    let admin_url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "postgres exited ({status}) on port {port}:\n{}",
                tail(&log_path)
            ));
        }
        match run_sql(&admin_url, vec!["SELECT 1".to_string()]) {
            Ok(()) => break,
            Err(message) if started.elapsed() > START_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "postgres did not accept connections within {START_TIMEOUT:?} ({message}):\n{}",
                    tail(&log_path)
                ));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let base_url = url::Url::parse(&admin_url).map_err(|e| format!("{admin_url}: {e}"))?;
    Ok((
        Server {
            admin_url,
            base: base_url,
        },
        child,
    ))
}

/// A throwaway cluster of one test's own, which the test may stop and start again
/// (to take the database away from a running instance). Always a local cluster, even
/// with `DATABASE_URL_TEST` set: only a cluster this process started can be stopped.
/// Stopped and removed like the shared one (the watchdog), and stopped when dropped.
pub struct TestCluster {
    /// `postgres://postgres@127.0.0.1:PORT/postgres`: a superuser on the cluster's
    /// default database; the same across stops and starts.
    pub url: String,
    files: ClusterFiles,
    port: u16,
    child: Option<std::process::Child>,
}

impl TestCluster {
    /// `initdb` and start. Blocking; panics when no Postgres is available.
    pub fn start() -> TestCluster {
        let files = init_cluster().unwrap_or_else(|e| panic!("test Postgres unavailable: {e}"));
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port().unwrap_or_else(|e| panic!("{e}"));
            match start_postgres(&files, port) {
                Ok((server, child)) => {
                    return TestCluster {
                        url: server.admin_url,
                        files,
                        port,
                        child: Some(child),
                    }
                }
                Err(message) => last_error = message,
            }
        }
        panic!("test Postgres: {last_error}")
    }

    /// Stops the server (fast shutdown: sessions are cut, as when a database goes away)
    /// and waits until it has exited. Nothing listens on the port afterwards.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: kill has no memory preconditions; pid is our own child.
                unsafe { libc::kill(pid, libc::SIGINT) };
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the stopped server again, on the same port and data.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the cluster is running");
        match start_postgres(&self.files, self.port) {
            Ok((_, child)) => self.child = Some(child),
            Err(message) => panic!("test Postgres did not start again: {message}"),
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs statements, one by one, on one connection to `url`, on a thread of its own with a
/// private current-thread runtime (so it is callable from anywhere, async or not).
fn run_sql(url: &str, statements: Vec<String>) -> Result<(), String> {
    let url = url.to_string();
    std::thread::spawn(move || -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        runtime.block_on(async move {
            let mut connection = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(&url))
                .await
                .map_err(|_| format!("connecting to {url} timed out"))?
                .map_err(|e| format!("connect {url}: {e}"))?;
            for statement in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement.clone()))
                    .execute(&mut connection)
                    .await
                    .map_err(|e| format!("{statement}: {e}"))?;
            }
            let _ = connection.close().await;
            Ok(())
        })
    })
    .join()
    .map_err(|payload| format!("SQL thread panicked: {}", crate::panic_message(&*payload)))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Executor;

    async fn database_exists(name: &str) -> bool {
        let server = server().expect("server");
        let mut admin = PgConnection::connect(&server.admin_url)
            .await
            .expect("admin");
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_one(&mut admin)
            .await
            .expect("count")
            == 1
    }

    /// Two databases are distinct, empty and usable, and each is gone once dropped; all
    /// from inside a Tokio runtime.
    #[tokio::test]
    async fn databases_are_fresh_distinct_usable_and_dropped() {
        let first = TestDatabase::create();
        let second = TestDatabase::create();
        assert_ne!(first.url, second.url);
        assert_ne!(first.name(), second.name());

        let mut a = PgConnection::connect(&first.url)
            .await
            .expect("connect first");
        let mut b = PgConnection::connect(&second.url)
            .await
            .expect("connect second");
        let tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'";
        for connection in [&mut a, &mut b] {
            let count: i64 = sqlx::query_scalar(tables)
                .fetch_one(&mut *connection)
                .await
                .expect("count tables");
            assert_eq!(count, 0, "a new database is empty");
        }
        a.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)")
            .await
            .expect("write first");
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&mut a)
            .await
            .expect("read first");
        assert_eq!(rows, 2);
        let in_second: Option<String> = sqlx::query_scalar("SELECT to_regclass('t')::text")
            .fetch_one(&mut b)
            .await
            .expect("look in second");
        assert_eq!(in_second, None, "the databases are distinct");

        let (first_name, second_name) = (first.name().to_string(), second.name().to_string());
        assert!(database_exists(&first_name).await);
        // Dropped even with a connection still open (WITH (FORCE)).
        drop(first);
        assert!(!database_exists(&first_name).await);
        drop(b);
        drop(second);
        assert!(!database_exists(&second_name).await);
        let _ = a.close().await;
    }

    /// `create` works outside any runtime too.
    #[test]
    fn create_blocks_without_a_runtime() {
        let database = TestDatabase::create();
        assert!(database.url.starts_with("postgres://"));
    }
}
