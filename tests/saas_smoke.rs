//! `scripts/saas_smoke.sh`, the post-deploy smoke test the seeds run, against a local
//! instance: it passes with the admin key (also from `KOTA_API_KEY`) and `--mcp`, and fails
//! with a bad key or an unreachable server.

mod common;

use common::{GitRepo, Kotadb, Server};
use std::path::Path;
use std::process::{Command, Output};

fn smoke(args: &[&str], key_env: Option<&str>) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/saas_smoke.sh");
    let mut command = Command::new("bash");
    command.arg(script).args(args).env_remove("KOTA_API_KEY");
    if let Some(key) = key_env {
        command.env("KOTA_API_KEY", key);
    }
    command.output().expect("running saas_smoke.sh")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_smoke_script_passes_against_a_running_instance_and_fails_with_a_bad_key() {
    let repo = GitRepo::new();
    repo.write("src/router.rs", "pub struct Router;\n");
    repo.commit("router");
    let kotadb = Kotadb::new();
    kotadb.index(repo.path());
    let server = Server::start(&kotadb);
    let key = server.admin_key();

    let passed = smoke(&["-u", &server.base, "--mcp", "-k", &key], None);
    assert!(passed.status.success(), "{}", text(&passed));
    let printed = text(&passed);
    assert!(printed.contains("ok: health ok"), "{printed}");
    assert!(printed.contains("(1 repositories)"), "{printed}");
    assert!(
        printed.contains("MCP search_code Router (1 matching lines)"),
        "{printed}"
    );

    let from_env = smoke(&["-u", &server.base], Some(&key));
    assert!(from_env.status.success(), "{}", text(&from_env));

    let bad = smoke(
        &["-u", &server.base, "--mcp", "-k", "kota_team_nope_nope"],
        None,
    );
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(text(&bad).contains("FAIL: GET /api/v1/repositories answered 401"));

    drop(server);
    let gone = smoke(&["-u", "http://127.0.0.1:9", "-k", &key], None);
    assert_eq!(gone.status.code(), Some(1), "{}", text(&gone));
}
