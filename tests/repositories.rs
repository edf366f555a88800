//! Repositories over REST, end to end against the real `kotadb serve` binary: registering
//! a local git repository queues an index job that succeeds (its id, webhook URL and a
//! webhook secret shown once); a repository can be listed, fetched, reindexed (a new job)
//! and deleted, after which it is neither found nor searched.

mod common;

use common::rest::{assert_error, fixture_repo, hits, indexed_fixture, repository_ids};
use common::{Kotadb, Remotes, Server};
use serde_json::json;

#[test]
fn registering_a_repository_queues_an_index_job_that_succeeds() {
    let remotes = Remotes::new();
    let git_url = remotes.publish(&fixture_repo(), "fixture");
    let kotadb = Kotadb::new().git_base_url(remotes.base_url());
    let server = Server::start(&kotadb);
    let admin = server.admin_key();

    let created = server.register(&admin, &git_url);
    let id = created["id"].as_str().expect("id");
    assert!(uuid_like(id), "{created}");
    assert_eq!(created["git_url"], git_url.as_str(), "{created}");
    assert_eq!(created["name"], "fixture", "{created}");
    assert_eq!(
        created["webhook_url"],
        server.url(&format!("/webhooks/github/{id}")).as_str(),
        "{created}"
    );
    assert!(
        created["webhook_secret"]
            .as_str()
            .is_some_and(|s| s.len() >= 32),
        "{created}"
    );
    let job_id = created["job_id"].as_str().expect("job_id");
    let job = server.wait_for_job(&admin, job_id);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["id"], job_id, "{job}");
    assert_eq!(job["repository_id"], id, "{job}");
    for field in [
        "job_type",
        "attempts",
        "queued_at",
        "started_at",
        "finished_at",
    ] {
        assert!(!job[field].is_null(), "job has no {field}: {job}");
    }
    // The secret is shown once: never in GET.
    let fetched = server.get(&format!("/api/v1/repositories/{id}"), &admin);
    assert_eq!(fetched.status, 200, "{}", fetched.body);
    assert!(
        fetched.json().get("webhook_secret").is_none(),
        "{}",
        fetched.body
    );
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|&c| c == '-').count() == 4
}

#[test]
fn repositories_can_be_listed_fetched_reindexed_and_deleted() {
    let f = indexed_fixture(&[]);
    let (server, admin, id) = (&f.server, f.admin.as_str(), f.repository_id.as_str());

    assert_eq!(repository_ids(server, admin), vec![id.to_string()]);
    let fetched = f.ok(server.get(&format!("/api/v1/repositories/{id}"), admin));
    assert_eq!(fetched["id"], id);
    assert_eq!(fetched["name"], "fixture");
    assert!(fetched["last_indexed_commit"].is_string(), "{fetched}");

    let reply = server.request(
        "POST",
        &format!("/api/v1/repositories/{id}/index"),
        Some(admin),
        None,
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    let job_id = reply.json()["job_id"].as_str().expect("job_id").to_string();
    assert_ne!(job_id, f.job_id);
    let job = server.wait_for_job(admin, &job_id);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(hits(&f.search(json!({"query": "ParserConfig"}))).len(), 1);

    let reply = server.delete(&format!("/api/v1/repositories/{id}"), admin);
    assert!(reply.status == 204 || reply.status == 200, "{}", reply.body);
    assert_error(
        &server.get(&format!("/api/v1/repositories/{id}"), admin),
        404,
        "GET after DELETE",
    );
    assert_error(
        &server.delete(&format!("/api/v1/repositories/{id}"), admin),
        404,
        "DELETE twice",
    );
    assert!(repository_ids(server, admin).is_empty());
    let found = f.search(json!({"query": "Parser"}));
    assert_eq!(
        hits(&found),
        vec![],
        "a deleted repository is not searched: {found}"
    );
    let found = f.post_ok("/api/v1/symbols/search", json!({"pattern": "Parser"}));
    assert_eq!(found["results"], json!([]), "{found}");
    assert_error(
        &server.post(
            "/api/v1/search/code",
            admin,
            &json!({"query": "Parser", "repository": id}),
        ),
        404,
        "search scoped to a deleted repository",
    );
}
