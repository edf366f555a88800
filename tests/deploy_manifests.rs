//! The deployment files are checked against the binary they deploy, since no Docker engine
//! or Fly.io account is reachable here: `fly.toml` (production, `kotadb-api`) and
//! `fly.staging.toml` (`kotadb-api-staging`) must name the port, health path, metrics path,
//! stop signal and data directory that `kotadb serve` really uses, and the Dockerfile must
//! set the same values. The paths are checked on a running server, not by string only.

mod common;

use common::{http, Kotadb, Server};
use std::path::Path;

fn manifest(name: &str) -> toml::Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    text.parse::<toml::Table>()
        .unwrap_or_else(|e| panic!("{name} is not valid TOML: {e}"))
}

fn dockerfile() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile")).unwrap()
}

/// `KEY=VALUE` from the Dockerfile's `ENV` lines.
fn docker_env(key: &str) -> Option<String> {
    let text = dockerfile().replace("\\\n", " ");
    text.lines()
        .filter(|l| l.trim_start().starts_with("ENV "))
        .flat_map(|l| {
            l.split_whitespace()
                .skip(1)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .find_map(|pair| pair.strip_prefix(&format!("{key}=")).map(str::to_string))
}

fn seconds(value: &toml::Value) -> u64 {
    let text = value.as_str().expect("a duration string");
    text.trim_end_matches('s').parse().expect("seconds")
}

/// The binary's own default port, from `kotadb serve --help`.
fn default_port() -> u16 {
    let help = Kotadb::new().cmd_ok(["serve", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout).into_owned();
    // clap prints the default on the line after the flag, or on the same line.
    let from_flag = text
        .split("--port")
        .nth(1)
        .expect("serve --help lists --port");
    let after = from_flag
        .split("[default: ")
        .nth(1)
        .expect("a default port");
    after.split(']').next().unwrap().parse().unwrap()
}

#[test]
fn fly_manifests_agree_with_the_binary_and_the_dockerfile() {
    let port = default_port();
    let data_dir = docker_env("KOTADB_DATA_DIR").expect("the Dockerfile sets KOTADB_DATA_DIR");
    assert_eq!(docker_env("PORT"), Some(port.to_string()));
    assert_eq!(docker_env("KOTADB_BIND").as_deref(), Some("0.0.0.0"));

    // Run the binary the way the manifests do and ask it the paths they name.
    let kotadb = Kotadb::new();
    let server = Server::start(&kotadb);
    let mut paths = Vec::new();

    for (file, app, strategy, min_machines) in [
        ("fly.toml", "kotadb-api", "rolling", 2),
        ("fly.staging.toml", "kotadb-api-staging", "immediate", 1),
    ] {
        let fly = manifest(file);
        assert_eq!(fly["app"].as_str(), Some(app), "{file}");
        assert_eq!(
            fly["kill_signal"].as_str(),
            Some("SIGTERM"),
            "{file}: serve stops on SIGTERM"
        );
        assert!(
            seconds(&fly["kill_timeout"]) >= 15,
            "{file}: the kill timeout must cover the 10 s job grace and the usage flush"
        );
        let deploy = fly["deploy"].as_table().unwrap();
        assert_eq!(
            deploy["release_command"].as_str(),
            Some("kotadb migrate"),
            "{file}"
        );
        assert_eq!(deploy["strategy"].as_str(), Some(strategy), "{file}");

        let env = fly["env"].as_table().unwrap();
        assert_eq!(
            env["PORT"].as_str(),
            Some(port.to_string().as_str()),
            "{file}"
        );
        assert_eq!(
            env["KOTADB_DATA_DIR"].as_str(),
            Some(data_dir.as_str()),
            "{file}"
        );
        assert_eq!(env["KOTADB_BIND"].as_str(), Some("0.0.0.0"), "{file}");

        let service = fly["http_service"].as_table().unwrap();
        assert_eq!(
            service["internal_port"].as_integer(),
            Some(port as i64),
            "{file}"
        );
        assert!(service["min_machines_running"].as_integer().unwrap() >= min_machines);
        let checks = service["checks"]
            .as_array()
            .expect("[[http_service.checks]]");
        assert!(
            !checks.is_empty(),
            "{file}: traffic is gated on a health check"
        );
        for check in checks {
            assert_eq!(check["method"].as_str(), Some("GET"));
            paths.push((file, check["path"].as_str().unwrap().to_string(), "health"));
        }
        let metrics = fly["metrics"].as_table().unwrap();
        assert_eq!(metrics["port"].as_integer(), Some(port as i64), "{file}");
        paths.push((
            file,
            metrics["path"].as_str().unwrap().to_string(),
            "metrics",
        ));

        let mounts = fly["mounts"].as_array().expect("[[mounts]]");
        assert_eq!(
            mounts[0]["destination"].as_str(),
            Some(data_dir.as_str()),
            "{file}"
        );
    }

    for (file, path, what) in paths {
        let reply = http("GET", &server.url(&path), &[], None);
        assert_eq!(
            reply.status, 200,
            "{file}'s {what} path {path}: {}",
            reply.body
        );
        if what == "health" {
            assert_eq!(reply.json()["status"], "ok", "{}", reply.body);
        } else {
            assert!(
                reply.body.contains("# TYPE"),
                "{path} is not Prometheus text"
            );
        }
    }

    // The release command works on a fresh data directory.
    Kotadb::new().cmd_ok(["migrate"]);
}

#[test]
fn the_dockerfile_runs_the_service_as_a_non_root_user_with_what_git_needs() {
    let text = dockerfile();
    let runtime = text
        .split("FROM debian:bookworm-slim AS runtime")
        .nth(1)
        .expect("a slim runtime stage");
    assert!(text.contains("cargo build --release --locked"));
    for package in ["ca-certificates", "libssl3"] {
        assert!(
            runtime.contains(package),
            "the runtime image lacks {package}"
        );
    }
    let user = runtime
        .lines()
        .find_map(|l| l.trim().strip_prefix("USER "))
        .expect("a USER line");
    assert_ne!(user.trim(), "root");
    assert!(runtime.contains("HEALTHCHECK") && runtime.contains("/health"));
    assert!(runtime.contains("STOPSIGNAL SIGTERM"));
    assert!(runtime.contains(r#"CMD ["kotadb", "serve"]"#));
    let ignore =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".dockerignore"))
            .unwrap();
    for entry in ["target", ".git", "data"] {
        assert!(
            ignore.lines().any(|l| l.trim() == entry),
            ".dockerignore lacks {entry}"
        );
    }
}
