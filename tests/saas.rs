//! SaaS mode as users meet it: two `kotadb serve` instances on loopback against one real
//! Postgres (a throwaway cluster, `kotadb::testing::postgres`), keys made by the CLI and
//! by seed 000's SQL, Supabase access tokens (HS256 with the project secret, ES256 with a
//! JWKS this test serves), revocation, the shared hourly window and monthly quotas.

mod common;

use common::database::{sql, with_db};
use common::{http, GitRepo, Kotadb, Remotes, Reply, Server};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kotadb::testing::postgres::TestDatabase;
use serde_json::{json, Value};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const JWT_SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";
const WEBHOOK_KEY: &str = "0123456789abcdef0123456789abcdef-webhook";
const TTL_SECS: u64 = 3;

/// A JWKS server on loopback: `SUPABASE_URL` of the test project.
struct Jwks {
    base: String,
    _runtime: tokio::runtime::Runtime,
}

fn serve_jwks(jwks: Value) -> Jwks {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/auth/v1/.well-known/jwks.json",
        axum::routing::get(move || {
            let jwks = jwks.clone();
            async move { axum::Json(jwks) }
        }),
    );
    runtime.spawn(async move { axum::serve(listener, app).await });
    Jwks {
        base,
        _runtime: runtime,
    }
}

/// An ES256 key pair made by the openssl CLI: the signing key and its public JWK.
fn es256_key(kid: &str) -> (EncodingKey, Value) {
    let run = |script: &str| {
        let out = std::process::Command::new("sh")
            .args(["-c", script])
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("key.pem");
    run(&format!(
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out {}",
        pem.display()
    ));
    let der = run(&format!(
        "openssl pkcs8 -topk8 -nocrypt -outform DER -in {}",
        pem.display()
    ));
    // The uncompressed public point: 0x04 || x || y, the last 65 bytes of the SPKI DER.
    let spki = run(&format!(
        "openssl pkey -in {} -pubout -outform DER",
        pem.display()
    ));
    let point = &spki[spki.len() - 65..];
    assert_eq!(point[0], 4);
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
                     "x": b64(&point[1..33]), "y": b64(&point[33..65])});
    (EncodingKey::from_ec_der(&der), jwk)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims(issuer: &str, user: &str, exp: i64) -> Value {
    json!({"sub": user, "aud": "authenticated", "role": "authenticated", "iss": issuer,
           "exp": exp, "iat": now() - 10, "email": "dev@example.com"})
}

fn hs256(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Everything two instances share: the database, the git base, the Supabase project.
struct Saas {
    db: TestDatabase,
    remotes: Remotes,
    jwks: Jwks,
    signer: EncodingKey,
    cli: Kotadb,
}

impl Saas {
    fn new() -> Saas {
        let db = TestDatabase::create();
        let remotes = Remotes::new();
        let (signer, jwk) = es256_key("test-es256");
        let jwks = serve_jwks(json!({"keys": [jwk]}));
        let cli = Kotadb::new()
            .database_url(&db.url)
            .git_base_url(remotes.base_url());
        common::assert_success("kotadb migrate", &cli.cmd(["migrate"]));
        Saas {
            db,
            remotes,
            jwks,
            signer,
            cli,
        }
    }

    fn issuer(&self) -> String {
        format!("{}/auth/v1", self.jwks.base)
    }

    /// A `kotadb serve` on its own data directory, against the shared database.
    fn instance(&self, extra: &[(&str, &str)]) -> (Kotadb, Server) {
        let kotadb = Kotadb::new()
            .database_url(&self.db.url)
            .git_base_url(self.remotes.base_url());
        let ttl = TTL_SECS.to_string();
        let mut env = vec![
            ("SUPABASE_URL", self.jwks.base.as_str()),
            ("SUPABASE_ANON_KEY", "anon-key"),
            ("SUPABASE_SERVICE_KEY", "service-key"),
            ("SUPABASE_JWT_SECRET", JWT_SECRET),
            ("KOTADB_WEBHOOK_KEY", WEBHOOK_KEY),
            ("KOTADB_PUBLIC_URL", "https://kotadb.example.com"),
            ("KOTADB_KEY_CACHE_TTL_SECS", ttl.as_str()),
        ];
        env.extend_from_slice(extra);
        let server = Server::start_with(&kotadb, &env);
        (kotadb, server)
    }

    fn key(&self, args: &[&str]) -> String {
        self.cli.create_key(args)
    }

    fn new_user(&self) -> String {
        let user = uuid::Uuid::new_v4().to_string();
        sql(
            &self.db.url,
            &format!("INSERT INTO auth.users (id, email) VALUES ('{user}', '{user}@example.com')"),
        );
        user
    }

    fn org_id(&self, name: &str) -> String {
        let out = self.cli.cmd(["keys", "list", "--json"]);
        common::assert_success("kotadb keys list", &out);
        let _ = name;
        let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
        keys["keys"][0]["organization_id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

fn key_id(key: &str) -> String {
    key.split('_').nth(2).unwrap().to_string()
}

fn list(server: &Server, credential: &str) -> Reply {
    server.get("/api/v1/repositories", credential)
}

#[test]
fn a_revoked_key_is_refused_by_both_instances_within_the_ttl() {
    let saas = Saas::new();
    let (_a_dir, a) = saas.instance(&[]);
    let (_b_dir, b) = saas.instance(&[]);
    let admin = saas.key(&["--tier", "team", "--org", "acme"]);
    let doomed = saas.key(&["--tier", "solo", "--org", "acme"]);
    let via_cli = saas.key(&["--tier", "solo", "--org", "acme"]);
    for server in [&a, &b] {
        assert_eq!(list(server, &doomed).status, 200);
        assert_eq!(list(server, &via_cli).status, 200);
    }
    // Revoked over REST on A: refused on A at once, on B within the TTL.
    let revoked = a.delete(&format!("/api/v1/keys/{}", key_id(&doomed)), &admin);
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    assert_eq!(list(&a, &doomed).status, 401);
    let started = Instant::now();
    while list(&b, &doomed).status != 401 {
        assert!(
            started.elapsed() < Duration::from_secs(TTL_SECS + 2),
            "B still accepts a key revoked {:?} ago",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Revoked by another process (the CLI): both refuse within the TTL.
    common::assert_success(
        "kotadb keys revoke",
        &saas.cli.cmd(["keys", "revoke", &key_id(&via_cli)]),
    );
    let started = Instant::now();
    while list(&a, &via_cli).status != 401 || list(&b, &via_cli).status != 401 {
        assert!(started.elapsed() < Duration::from_secs(TTL_SECS + 2));
        std::thread::sleep(Duration::from_millis(100));
    }
    // Another organization cannot revoke acme's key: 404, and the key still works.
    let other = saas.key(&["--tier", "team", "--org", "globex"]);
    assert_eq!(
        a.delete(&format!("/api/v1/keys/{}", key_id(&admin)), &other)
            .status,
        404
    );
    assert_eq!(list(&b, &admin).status, 200);
}

#[test]
fn the_hourly_limit_holds_across_both_instances() {
    let saas = Saas::new();
    let limit = 60;
    let limit_text = limit.to_string();
    let env = [("KOTA_RATE_LIMIT_FREE_PER_HOUR", limit_text.as_str())];
    let (_a_dir, a) = saas.instance(&env);
    let (_b_dir, b) = saas.instance(&env);
    let key = saas.key(&["--tier", "free", "--org", "acme"]);
    let bases = [a.base.clone(), b.base.clone()];
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let base = bases[t % 2].clone();
            let key = key.clone();
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                for _ in 0..30 {
                    let reply = http(
                        "GET",
                        &format!("{base}/api/v1/repositories"),
                        &[("Authorization", &format!("Bearer {key}"))],
                        None,
                    );
                    seen.push(reply);
                }
                seen
            })
        })
        .collect();
    let replies: Vec<Reply> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let accepted = replies.iter().filter(|r| r.status == 200).count();
    let limited: Vec<&Reply> = replies.iter().filter(|r| r.status == 429).collect();
    assert_eq!(accepted + limited.len(), 180, "only 200 or 429 expected");
    assert!(
        accepted <= limit,
        "{accepted} accepted past a limit of {limit}"
    );
    assert!(accepted >= limit / 2, "only {accepted} of {limit} accepted");
    for reply in &limited {
        let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=3600).contains(&retry));
        assert_eq!(reply.header("x-ratelimit-remaining"), Some("0"));
    }
    let ok = replies.iter().find(|r| r.status == 200).unwrap();
    assert_eq!(ok.header("x-ratelimit-limit"), Some(limit_text.as_str()));
}

#[test]
fn supabase_access_tokens_act_for_their_users_organizations() {
    let saas = Saas::new();
    let (_a_dir, a) = saas.instance(&[]);
    let (_b_dir, b) = saas.instance(&[]);
    let member = saas.new_user();
    let stranger = saas.new_user();
    let key = saas.key(&["--tier", "team", "--org", "acme", "--user", &member]);
    let repo = GitRepo::new();
    repo.write("lib.rs", "fn hello() {}\n");
    repo.commit("first");
    let url = saas.remotes.publish(&repo, "hello");
    let created = a.register(&key, &url);
    let id = created["id"].as_str().unwrap().to_string();

    let issuer = saas.issuer();
    let hs = hs256(&claims(&issuer, &member, now() + 600), JWT_SECRET);
    let es = jsonwebtoken::encode(
        &Header {
            kid: Some("test-es256".into()),
            ..Header::new(Algorithm::ES256)
        },
        &claims(&issuer, &member, now() + 600),
        &saas.signer,
    )
    .unwrap();
    for (server, token) in [(&a, &hs), (&b, &es), (&a, &es), (&b, &hs)] {
        let reply = list(server, token);
        assert_eq!(reply.status, 200, "{}", reply.body);
        let listed: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(listed["repositories"][0]["id"], id.as_str());
    }
    let refused = [
        (
            "expired",
            hs256(&claims(&issuer, &member, now() - 120), JWT_SECRET),
        ),
        (
            "forged",
            hs256(
                &claims(&issuer, &member, now() + 600),
                "not-the-project-secret-but-just-as-long-0123456789",
            ),
        ),
        (
            "another issuer",
            hs256(
                &claims("https://evil.example/auth/v1", &member, now() + 600),
                JWT_SECRET,
            ),
        ),
    ];
    for (what, token) in &refused {
        let reply = list(&b, token);
        assert_eq!(reply.status, 401, "{what}: {}", reply.body);
    }
    // The user's requests read under row-level security as that user: removed from the
    // organization in the database, they lose its repositories at once, although their
    // token's cached check (organizations included) is still fresh.
    assert_eq!(
        a.get(&format!("/api/v1/repositories/{id}"), &hs).status,
        200
    );
    let mcp = common::call_tool(&a, &hs, "list_repositories", json!({}));
    assert!(mcp.to_string().contains(&id), "{mcp}");
    sql(
        &saas.db.url,
        &format!("DELETE FROM organization_members WHERE user_id = '{member}'"),
    );
    let listed: Value = serde_json::from_str(&list(&a, &hs).body).unwrap();
    assert_eq!(listed["repositories"], json!([]), "{listed}");
    assert_eq!(
        a.get(&format!("/api/v1/repositories/{id}"), &hs).status,
        404
    );
    let mcp = common::call_tool(&a, &hs, "list_repositories", json!({}));
    assert!(!mcp.to_string().contains(&id), "MCP still lists it: {mcp}");
    // The same request with an API key of the organization is unaffected.
    assert_eq!(
        a.get(&format!("/api/v1/repositories/{id}"), &key).status,
        200
    );

    // A real user who belongs to no organization sees nothing of acme's.
    let outsider = hs256(&claims(&issuer, &stranger, now() + 600), JWT_SECRET);
    let reply = list(&a, &outsider);
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert!(!reply.body.contains(&id));
    assert_eq!(
        a.get(&format!("/api/v1/repositories/{id}"), &outsider)
            .status,
        403
    );
}

#[test]
fn seed_000s_sql_key_works_and_a_wrong_one_is_refused() {
    let saas = Saas::new();
    let (_a_dir, a) = saas.instance(&[]);
    let (_b_dir, b) = saas.instance(&[]);
    let user = saas.new_user();
    saas.key(&["--tier", "team", "--org", "acme"]);
    let org = saas.org_id("acme");
    let plaintext = "my-staging-key-7c1f0e9a4b2d";
    // Exactly seed 000's statement, in the SQL editor's search path.
    sql(
        &saas.db.url,
        &format!(
            "SET search_path = \"$user\", public, extensions;
             INSERT INTO api_keys (user_id, organization_id, key_hash, tier)
             VALUES (
               '{user}',  -- Replace with actual user UUID from auth.users table
               '{org}',  -- Replace with organization UUID from organizations table
               crypt('{plaintext}', gen_salt('bf')),  -- bcrypt hash of your key
               'solo'  -- or 'free', 'team'
             );"
        ),
    );
    for server in [&a, &b] {
        let reply = list(server, plaintext);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.header("x-ratelimit-limit"), Some("5000"));
    }
    for wrong in [
        "my-staging-key-7c1f0e9a4b2e",
        "",
        "kota_solo_abc_0123456789abcdef0123456789abcdef",
    ] {
        assert_eq!(list(&a, wrong).status, 401, "{wrong:?}");
    }
}

#[test]
fn read_only_keys_read_and_quotas_hold() {
    let saas = Saas::new();
    let (_a_dir, a) = saas.instance(&[]);
    let writer = saas.key(&["--tier", "team", "--org", "acme"]);
    let reader = saas.key(&["--tier", "team", "--org", "acme", "--read-only"]);
    let repo = GitRepo::new();
    repo.write("lib.rs", "fn hello() {}\n");
    repo.commit("first");
    let url = saas.remotes.publish(&repo, "ro");
    let refused = a.post("/api/v1/repositories", &reader, &json!({"git_url": url}));
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(a.post("/api/v1/keys", &reader, &json!({})).status, 403);
    let (id, _) = a.register_and_index(&writer, &url);
    assert_eq!(
        a.post(
            &format!("/api/v1/repositories/{id}/index"),
            &reader,
            &json!({})
        )
        .status,
        403
    );
    assert_eq!(
        a.delete(&format!("/api/v1/repositories/{id}"), &reader)
            .status,
        403
    );
    let found = a.post("/api/v1/search/code", &reader, &json!({"query": "hello"}));
    assert_eq!(found.status, 200, "{}", found.body);

    // A monthly quota of 5 (set as an operator would, in SQL).
    let quota_key = saas.key(&["--tier", "team", "--org", "acme"]);
    sql(
        &saas.db.url,
        &format!(
            "UPDATE api_keys SET monthly_quota = 5 WHERE key_id = '{}'",
            key_id(&quota_key)
        ),
    );
    let statuses: Vec<u16> = (0..8).map(|_| list(&a, &quota_key).status).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    let over = list(&a, &quota_key);
    assert!(over.body.contains("quota_exceeded"), "{}", over.body);
    let retry: u64 = over.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 31 * 86_400);
}

#[test]
fn usage_lands_in_usage_metrics_by_shutdown() {
    let saas = Saas::new();
    let (_a_dir, a) = saas.instance(&[]);
    let key = saas.key(&["--tier", "team", "--org", "acme"]);
    for _ in 0..7 {
        assert_eq!(list(&a, &key).status, 200);
    }
    assert_eq!(a.get("/api/v1/no-such-thing", &key).status, 404);
    a.terminate(Duration::from_secs(20))
        .expect("a clean shutdown");
    let out = saas.cli.cmd(["keys", "list", "--json"]);
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    let used = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == key_id(&key).as_str())
        .unwrap();
    assert_eq!(used["usage_count"], 7);
    assert!(used["last_used_at"].is_string());
    count_usage_rows(&saas.db.url, 7);
}

fn count_usage_rows(url: &str, expected: i64) {
    let rows: Vec<(String, String, i32)> = with_db(url, |mut connection| async move {
        sqlx::query_as("SELECT endpoint, method, status_code FROM usage_metrics ORDER BY id")
            .fetch_all(&mut connection)
            .await
            .unwrap()
    });
    assert_eq!(rows.len() as i64, expected, "{rows:?}");
    assert!(rows.iter().all(
        |(endpoint, method, status)| endpoint == "/api/v1/repositories"
            && method == "GET"
            && *status == 200
    ));
}

#[test]
fn serve_names_every_missing_saas_setting_before_serving() {
    let saas = Saas::new();
    let kotadb = Kotadb::new()
        .database_url(&saas.db.url)
        .git_base_url(saas.remotes.base_url());
    let refused = kotadb
        .command()
        .args(["serve", "--port", "0"])
        .env("SUPABASE_URL", "not a url")
        .env("KOTADB_WEBHOOK_KEY", "short")
        .env_remove("SUPABASE_ANON_KEY")
        .env_remove("SUPABASE_SERVICE_KEY")
        .env_remove("SUPABASE_JWT_SECRET")
        .env_remove("KOTADB_PUBLIC_URL")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    for named in [
        "SUPABASE_URL",
        "SUPABASE_ANON_KEY",
        "SUPABASE_SERVICE_KEY",
        "KOTADB_WEBHOOK_KEY",
        "KOTADB_PUBLIC_URL",
    ] {
        assert!(stderr.contains(named), "{named} not named in: {stderr}");
    }
    assert!(
        !String::from_utf8_lossy(&refused.stdout).contains("listening"),
        "it served anyway"
    );
    assert_eq!(
        stderr.matches("SaaS configuration is incomplete").count(),
        1,
        "{stderr}"
    );

    // DISABLE_SAAS_ENV_VALIDATION starts it anyway, with a loud warning.
    let server = Server::start_with(
        &kotadb,
        &[("DISABLE_SAAS_ENV_VALIDATION", "1"), ("RUST_LOG", "warn")],
    );
    assert_eq!(http("GET", &server.url("/health"), &[], None).status, 200);
    assert!(
        server
            .stderr()
            .contains("DISABLE_SAAS_ENV_VALIDATION is set"),
        "no warning: {}",
        server.stderr()
    );
}
