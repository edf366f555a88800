//! What a network caller may register: only repositories under `KOTA_GIT_BASE_URL`, after
//! decoding and normalising, one registration per repository, and errors that reveal
//! neither server paths nor whether a path exists.

mod common;

use common::{GitRepo, Kotadb, Remotes, Server};
use serde_json::json;

#[test]
fn encoded_dot_segments_symlinks_and_credentials_cannot_leave_the_base() {
    let remotes = Remotes::new();
    let repo = GitRepo::new();
    repo.write("a.txt", "inside\n");
    repo.commit("one");
    let inside = remotes.publish(&repo, "inside");

    // A repository outside the base, reachable by dot segments and through a symlink.
    let outside_parent = tempfile::tempdir().unwrap();
    let secret = GitRepo::new_in(outside_parent.path());
    secret.write("secret.txt", "outside_secret_marker\n");
    secret.commit("secret");
    let base_dir = remotes.base_url().trim_start_matches("file://").to_string();
    std::os::unix::fs::symlink(secret.path(), format!("{base_dir}/link")).unwrap();
    let secret_name = secret.path().file_name().unwrap().to_str().unwrap();
    let ups = "../".repeat(base_dir.matches('/').count());
    let outside_abs = secret.path().to_str().unwrap().trim_start_matches('/');

    let kotadb = Kotadb::new().git_base_url(remotes.base_url());
    let server = Server::start(&kotadb);
    let key = server.admin_key();
    let base = remotes.base_url();
    let hostile = [
        format!("{base}/%2e%2e/{secret_name}"),
        format!("{base}/%2E%2E/{secret_name}"),
        format!("{base}/..%2f{secret_name}"),
        format!("{base}/inside.git/%2e%2e/%2e%2e/{secret_name}"),
        format!("{base}/{ups}{outside_abs}"),
        format!("{base}/%2e%2e%2f%2e%2e%2f{outside_abs}"),
        format!("{base}/link"),
        format!("{base}/inside.git%00"),
        format!("{base}/inside.git?x=1"),
        "file:///etc".to_string(),
        "https://github.com/x/y".to_string(),
        "file://user:pw@/x".to_string(),
    ];
    let mut messages = Vec::new();
    for url in &hostile {
        let reply = server.post("/api/v1/repositories", &key, &json!({ "git_url": url }));
        assert_eq!(reply.status, 400, "{url} was not refused: {}", reply.body);
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        // Only what the caller sent is echoed: never where a link or `..` leads.
        let secret_path = secret.path().to_str().unwrap();
        if !url.contains(secret_path) {
            assert!(!message.contains(secret_path), "{message}");
        }
        messages.push(message);
    }
    let listed = server.get("/api/v1/repositories", &key).json();
    assert_eq!(listed["repositories"].as_array().unwrap().len(), 0);

    // A missing repository and one reached through a link out of the base get the
    // same answer (nothing tells whether a path exists).
    let missing = server
        .post(
            "/api/v1/repositories",
            &key,
            &json!({ "git_url": format!("{base}/nothing") }),
        )
        .json()["error"]["message"]
        .as_str()
        .unwrap()
        .replace("nothing", "X");
    let link = messages[6].replace("link", "X");
    assert_eq!(missing, link);

    server.register_and_index(&key, &inside);
    let found = server.post(
        "/api/v1/search/code",
        &key,
        &json!({ "query": "outside_secret_marker" }),
    );
    assert_eq!(found.json()["total"], 0);
}

#[test]
fn one_repository_has_one_registration_whatever_the_spelling() {
    let remotes = Remotes::new();
    let repo = GitRepo::new();
    repo.write("a.txt", "x\n");
    repo.commit("one");
    let url = remotes.publish(&repo, "project");
    let base = remotes.base_url();

    let kotadb = Kotadb::new().git_base_url(&base);
    let server = Server::start(&kotadb);
    let key = server.admin_key();
    server.register(&key, &url);
    for twin in [
        format!("{base}//project.git"),
        format!("{base}/project.git/"),
        format!("{base}/./project.git"),
        format!("{base}/project"),
    ] {
        let reply = server.post("/api/v1/repositories", &key, &json!({ "git_url": twin }));
        assert!(
            reply.status == 409 || reply.status == 400,
            "{twin} registered a second time: {} {}",
            reply.status,
            reply.body
        );
    }
    let listed = server.get("/api/v1/repositories", &key).json();
    assert_eq!(listed["repositories"].as_array().unwrap().len(), 1);
}

#[test]
fn names_with_control_characters_are_refused() {
    let remotes = Remotes::new();
    let repo = GitRepo::new();
    repo.write("a.txt", "x\n");
    repo.commit("one");
    let url = remotes.publish(&repo, "named");
    let kotadb = Kotadb::new().git_base_url(remotes.base_url());
    let server = Server::start(&kotadb);
    let key = server.admin_key();
    let reply = server.post(
        "/api/v1/repositories",
        &key,
        &json!({ "git_url": url, "name": "evil\u{1b}[31mname" }),
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
}

#[test]
fn job_errors_name_no_server_paths() {
    let remotes = Remotes::new();
    let repo = GitRepo::new();
    repo.write("a.txt", "x\n");
    repo.commit("one");
    let url = remotes.publish(&repo, "doomed");
    let kotadb = Kotadb::new().git_base_url(remotes.base_url());
    let server = Server::start_with(&kotadb, &[("KOTADB_JOB_MAX_ATTEMPTS", "1")]);
    let key = server.admin_key();
    let (id, _) = server.register_and_index(&key, &url);
    // The remote disappears: the next fetch fails, and the job says so without the
    // location of the server's data directory (where the clone is).
    std::fs::remove_dir_all(url.trim_start_matches("file://")).unwrap();
    let reply = server.post(
        &format!("/api/v1/repositories/{id}/index"),
        &key,
        &json!({}),
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    let job = server.wait_for_job(&key, reply.json()["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    let data = std::fs::canonicalize(kotadb.data_dir()).unwrap();
    assert!(
        !error.contains(data.to_str().unwrap())
            && !error.contains(kotadb.data_dir().to_str().unwrap()),
        "job error shows the data dir: {error}"
    );
}
