//! What an API key gives access to, against the real `kotadb serve` binary: nothing
//! without a valid one (401 for a missing, malformed, wrong-tier or wrong-secret key and
//! for another scheme than Bearer, with no rate-limit headers); only its own
//! organization's repositories and jobs (another organization sees nothing, by id, name
//! or unscoped search, and may register the same URL for itself); and only so many
//! requests an hour (X-RateLimit-* headers, then 429 with Retry-After).

mod common;

use common::rest::{assert_error, hits, indexed_fixture, repository_ids};
use common::{Kotadb, Server};
use serde_json::json;

/// `kotadb keys create --tier TIER --org ORG` against the same data dir: the new key.
fn create_key(kotadb: &Kotadb, tier: &str, org: &str) -> String {
    let key = kotadb.create_key(&["--tier", tier, "--org", org]);
    assert!(
        key.starts_with(&format!("kota_{tier}_")),
        "no key printed: {key:?}"
    );
    key
}

#[test]
fn requests_without_a_valid_key_get_401() {
    let f = indexed_fixture(&[]);
    let server = &f.server;
    let search = json!({"query": "Parser"}).to_string();
    let id_part = f.admin.split('_').nth(2).expect("kota_team_ID_SECRET");
    let wrong_secret = format!("kota_team_{id_part}_{}", "0".repeat(64));
    for (what, key) in [
        ("no key", None),
        ("malformed key", Some("not-a-kotadb-key")),
        (
            "wrong tier prefix",
            Some(&*format!("kota_free_{id_part}_{}", "0".repeat(64))),
        ),
        (
            "wrong secret for an existing key id",
            Some(wrong_secret.as_str()),
        ),
    ] {
        for (method, path, body) in [
            ("POST", "/api/v1/search/code", Some(search.as_str())),
            ("GET", "/api/v1/repositories", None),
            (
                "GET",
                &*format!("/api/v1/repositories/{}", f.repository_id),
                None,
            ),
        ] {
            let reply = server.request(method, path, key, body);
            let error = assert_error(&reply, 401, &format!("{what}: {method} {path}"));
            assert_eq!(error["error"]["code"], "unauthorized");
            assert!(
                reply.header("x-ratelimit-limit").is_none(),
                "{what}: no limit headers on 401"
            );
        }
    }
    // A bearer scheme that is not Bearer.
    let reply = common::http(
        "GET",
        &server.url("/api/v1/repositories"),
        &[("Authorization", &format!("Basic {}", f.admin))],
        None,
    );
    assert_error(&reply, 401, "Basic scheme");
    // The right key still works after all of that.
    assert_eq!(
        repository_ids(server, &f.admin),
        vec![f.repository_id.clone()]
    );
}

#[test]
fn another_organization_sees_nothing_of_the_first() {
    let f = indexed_fixture(&[]);
    let (server, id, job) = (&f.server, f.repository_id.as_str(), f.job_id.as_str());
    let other = create_key(&f.kotadb, "solo", "other");

    assert_eq!(repository_ids(server, &other), Vec::<String>::new());
    assert_error(
        &server.get(&format!("/api/v1/repositories/{id}"), &other),
        404,
        "GET",
    );
    assert_error(
        &server.delete(&format!("/api/v1/repositories/{id}"), &other),
        404,
        "DELETE",
    );
    assert_error(
        &server.request(
            "POST",
            &format!("/api/v1/repositories/{id}/index"),
            Some(&other),
            None,
        ),
        404,
        "index",
    );
    assert_error(
        &server.get(&format!("/api/v1/jobs/{job}"), &other),
        404,
        "job",
    );
    for (path, body) in [
        (
            "/api/v1/search/code",
            json!({"query": "Parser", "repository": id}),
        ),
        (
            "/api/v1/symbols/search",
            json!({"pattern": "Parser", "repository": id}),
        ),
        (
            "/api/v1/references",
            json!({"symbol": "formatName", "repository": id}),
        ),
        (
            "/api/v1/dependencies",
            json!({"repository": id, "path": "web/app.ts"}),
        ),
        // By name or URL too.
        (
            "/api/v1/search/code",
            json!({"query": "Parser", "repository": "fixture"}),
        ),
    ] {
        assert_error(
            &server.post(path, &other, &body),
            404,
            &format!("{path} {body}"),
        );
    }
    for (path, body) in [
        ("/api/v1/search/code", json!({"query": "Parser"})),
        ("/api/v1/symbols/search", json!({"pattern": "Parser"})),
        ("/api/v1/references", json!({"symbol": "formatName"})),
    ] {
        let reply = server.post(path, &other, &body);
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(
            reply.json()["results"],
            json!([]),
            "{path} leaks: {}",
            reply.body
        );
    }
    // The other org can register the same URL for itself (no 409 across tenants).
    let own = server.register(&other, &format!("{}/fixture.git", f.remotes.base_url()));
    assert_ne!(own["id"], id);

    // And the first org still has everything.
    let fetched = server.get(&format!("/api/v1/repositories/{id}"), &f.admin);
    assert_eq!(fetched.status, 200, "{}", fetched.body);
    assert_eq!(repository_ids(server, &f.admin), vec![id.to_string()]);
    assert_eq!(
        hits(&f.search(json!({"query": "ParserConfig", "repository": id}))).len(),
        1
    );
}

#[test]
fn the_hourly_limit_is_announced_and_enforced_with_429() {
    let kotadb = Kotadb::new();
    let server = Server::start_with(&kotadb, &[("KOTA_RATE_LIMIT_TEAM_PER_HOUR", "5")]);
    let admin = server.admin_key();
    for n in 1..=5u64 {
        let reply = server.get("/api/v1/repositories", &admin);
        assert_eq!(reply.status, 200, "request {n}: {}", reply.body);
        assert_eq!(
            reply.header("x-ratelimit-limit"),
            Some("5"),
            "request {n}: {reply:?}"
        );
        assert_eq!(
            reply.header("x-ratelimit-remaining"),
            Some(&*(5 - n).to_string()),
            "request {n}: {reply:?}"
        );
        let reset: u64 = reply
            .header("x-ratelimit-reset")
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| panic!("request {n}: no numeric X-RateLimit-Reset: {reply:?}"));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(
            reset > now && reset <= now + 3600,
            "reset {reset} is within the hour"
        );
    }
    let reply = server.get("/api/v1/repositories", &admin);
    let error = assert_error(&reply, 429, "the 6th request");
    assert_eq!(error["error"]["code"], "rate_limited");
    let wait: u64 = reply
        .header("retry-after")
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("429 without a numeric Retry-After: {reply:?}"));
    assert!((1..=3600).contains(&wait), "Retry-After {wait}");
    assert_eq!(
        reply.header("x-ratelimit-remaining"),
        Some("0"),
        "{reply:?}"
    );
    assert!(
        reply.header("x-ratelimit-limit").is_some() && reply.header("x-ratelimit-reset").is_some()
    );
    // Public endpoints are not limited.
    assert_eq!(server.request("GET", "/health", None, None).status, 200);
}
