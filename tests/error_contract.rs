//! The REST error contract, against the real `kotadb serve` binary: every rejected
//! request (400 malformed or unusable, 404 unknown, 405 wrong method with Allow, 413 too
//! large, 415 not JSON, 409 registered twice) gets its status and the JSON error shape
//! `{"error": {"code", "message"}}`, and creates no repository and no job.

mod common;

use common::rest::{assert_error, indexed_fixture, repository_ids};
use common::Kotadb;
use serde_json::{json, Value};

/// `kotadb jobs --json` on the server's data directory (SQLite in WAL mode allows it).
fn job_count(kotadb: &Kotadb) -> usize {
    let output = kotadb.cmd_ok(["jobs", "--json", "--limit", "1000"]);
    let value: Value = serde_json::from_slice(&output.stdout).expect("jobs --json prints JSON");
    value["jobs"].as_array().expect("a jobs array").len()
}

#[test]
fn bad_requests_get_the_right_status_and_create_nothing() {
    let f = indexed_fixture(&[("KOTADB_MAX_BODY_BYTES", "1024")]);
    let (server, admin) = (&f.server, f.admin.as_str());
    let jobs_before = job_count(&f.kotadb);
    let raw = |method: &str, path: &str, body: &str| {
        server.request(method, path, Some(admin), Some(body))
    };

    // 400: malformed JSON, wrong types, unknown fields, missing fields.
    for (path, body) in [
        ("/api/v1/search/code", "{\"query\": "),
        ("/api/v1/search/code", "not json"),
        ("/api/v1/search/code", "{\"query\": 42}"),
        (
            "/api/v1/search/code",
            "{\"query\": \"x\", \"limit\": \"ten\"}",
        ),
        (
            "/api/v1/search/code",
            "{\"query\": \"x\", \"regex\": \"yes\"}",
        ),
        ("/api/v1/search/code", "{\"query\": \"x\", \"bogus\": true}"),
        ("/api/v1/search/code", "{}"),
        ("/api/v1/search/code", "[]"),
        (
            "/api/v1/symbols/search",
            "{\"pattern\": \"x\", \"unknown\": 1}",
        ),
        ("/api/v1/references", "{\"symbol\": [\"x\"]}"),
        (
            "/api/v1/dependencies",
            "{\"repository\": \"r\", \"path\": \"p\", \"direction\": \"sideways\"}",
        ),
        ("/api/v1/repositories", "{\"git_url\": 5}"),
        ("/api/v1/repositories", "{\"git_url\": \"x\", \"extra\": 1}"),
        ("/api/v1/repositories", "{"),
    ] {
        assert_error(
            &raw("POST", path, body),
            400,
            &format!("POST {path} {body}"),
        );
    }
    // 400: well-formed but unusable values.
    for (path, body) in [
        ("/api/v1/search/code", json!({"query": "(", "regex": true})),
        ("/api/v1/search/code", json!({"query": "a[", "regex": true})),
        ("/api/v1/search/code", json!({"query": ""})),
        ("/api/v1/search/code", json!({"query": "x", "limit": 0})),
        ("/api/v1/search/code", json!({"query": "x", "limit": -1})),
        (
            "/api/v1/search/code",
            json!({"query": "x", "limit": 1_000_000_000u64}),
        ),
        ("/api/v1/symbols/search", json!({"pattern": ""})),
        (
            "/api/v1/symbols/search",
            json!({"pattern": "x", "limit": 0}),
        ),
        ("/api/v1/references", json!({"symbol": " "})),
        (
            "/api/v1/dependencies",
            json!({"repository": f.repository_id, "path": "web/app.ts", "depth": 0}),
        ),
        (
            "/api/v1/dependencies",
            json!({"repository": f.repository_id, "path": "web/app.ts", "depth": 1000}),
        ),
        (
            "/api/v1/repositories",
            json!({"git_url": "http://169.254.169.254/x"}),
        ),
        ("/api/v1/repositories", json!({"git_url": "file:///etc"})),
        (
            "/api/v1/repositories",
            json!({"git_url": format!("{}/../outside.git", f.remotes.base_url())}),
        ),
        ("/api/v1/repositories", json!({"git_url": ""})),
    ] {
        assert_error(
            &server.post(path, admin, &body),
            400,
            &format!("POST {path} {body}"),
        );
    }

    // 404: unknown ids, ids that are not UUIDs, unknown endpoints.
    let unknown = "00000000-0000-4000-8000-000000000000";
    for (method, path) in [
        ("GET", format!("/api/v1/repositories/{unknown}")),
        ("DELETE", format!("/api/v1/repositories/{unknown}")),
        ("POST", format!("/api/v1/repositories/{unknown}/index")),
        ("GET", format!("/api/v1/jobs/{unknown}")),
        ("GET", "/api/v1/repositories/not-a-uuid".to_string()),
        ("DELETE", "/api/v1/repositories/not-a-uuid".to_string()),
        ("POST", "/api/v1/repositories/not-a-uuid/index".to_string()),
        ("GET", "/api/v1/jobs/not-a-uuid".to_string()),
        ("GET", "/api/v1/nothing-here".to_string()),
        ("POST", "/api/v2/search/code".to_string()),
        ("GET", "/no/such/endpoint".to_string()),
    ] {
        assert_error(
            &server.request(method, &path, Some(admin), None),
            404,
            &format!("{method} {path}"),
        );
    }
    for body in [
        json!({"query": "Parser", "repository": unknown}),
        json!({"query": "Parser", "repository": "no-such-repository"}),
    ] {
        assert_error(
            &server.post("/api/v1/search/code", admin, &body),
            404,
            &body.to_string(),
        );
    }
    assert_error(
        &server.post(
            "/api/v1/dependencies",
            admin,
            &json!({"repository": unknown, "path": "a"}),
        ),
        404,
        "dependencies of an unknown repository",
    );

    // 405 (a known path, another method): the JSON shape too, with `Allow`.
    for (method, path) in [
        ("PUT", "/api/v1/repositories"),
        ("GET", "/api/v1/search/code"),
    ] {
        let reply = server.request(method, path, Some(admin), None);
        assert_error(&reply, 405, &format!("{method} {path}"));
        assert!(
            reply.header("allow").is_some(),
            "{method} {path}: no Allow: {reply:?}"
        );
    }

    // 413: a body over KOTADB_MAX_BODY_BYTES.
    let big = json!({"query": "x".repeat(4096)});
    assert_error(
        &server.post("/api/v1/search/code", admin, &big),
        413,
        "4 KiB body",
    );
    let big = json!({"git_url": format!("{}/{}.git", f.remotes.base_url(), "y".repeat(4096))});
    assert_error(
        &server.post("/api/v1/repositories", admin, &big),
        413,
        "4 KiB registration",
    );

    // 415: a body without a JSON content type.
    let auth = format!("Bearer {admin}");
    for headers in [
        vec![("Authorization", auth.as_str())],
        vec![
            ("Authorization", auth.as_str()),
            ("Content-Type", "text/plain"),
        ],
    ] {
        let reply = common::http(
            "POST",
            &server.url("/api/v1/repositories"),
            &headers,
            Some(
                json!({"git_url": format!("{}/fixture.git", f.remotes.base_url())})
                    .to_string()
                    .as_bytes(),
            ),
        );
        assert_error(&reply, 415, &format!("content type {headers:?}"));
    }

    // 409: the same URL twice.
    let again = server.post(
        "/api/v1/repositories",
        admin,
        &json!({"git_url": format!("{}/fixture.git", f.remotes.base_url())}),
    );
    assert_error(&again, 409, "registering the same URL twice");

    // None of the rejected requests created a repository or a job.
    assert_eq!(repository_ids(server, admin), vec![f.repository_id.clone()]);
    assert_eq!(
        job_count(&f.kotadb),
        jobs_before,
        "a rejected request queued a job"
    );
    assert_eq!(jobs_before, 1);
}
