//! Cloning over https, as every GitHub repository is registered (the default
//! `KOTA_GIT_BASE_URL` is `https://github.com`). This machine has no internet, so a local
//! TLS git server stands in for GitHub: `git http-backend` (real smart HTTP, the only
//! protocol libgit2 speaks) behind TLS with a self-signed certificate
//! (`tests/support/tls_git_server.py`), trusted through `SSL_CERT_FILE` as OpenSSL reads it.
//! Without that trust the clone must fail: the certificate is really checked.

mod common;

use common::{assert_success, GitRepo, Kotadb, Server};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The TLS git server, killed when dropped.
struct TlsGitServer {
    child: Child,
    port: u16,
    cert: PathBuf,
    root: tempfile::TempDir,
    _tls: tempfile::TempDir,
}

impl Drop for TlsGitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TlsGitServer {
    fn start() -> TlsGitServer {
        let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
        let tls = tempfile::tempdir().unwrap();
        let made = Command::new("sh")
            .arg(support.join("make_tls_cert.sh"))
            .arg(tls.path())
            .output()
            .expect("running make_tls_cert.sh (needs openssl)");
        assert_success("make_tls_cert.sh", &made);
        let root = tempfile::tempdir().unwrap();
        let mut child = Command::new("python3")
            .arg(support.join("tls_git_server.py"))
            .arg("--root")
            .arg(root.path())
            .arg("--cert")
            .arg(tls.path().join("cert.pem"))
            .arg("--key")
            .arg(tls.path().join("key.pem"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting tls_git_server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("tls_git_server.py printed {line:?}"));
        TlsGitServer {
            child,
            port,
            cert: tls.path().join("cert.pem"),
            root,
            _tls: tls,
        }
    }

    /// Publishes `repo` as `ROOT/org/NAME.git`; returns its https URL.
    fn publish(&self, repo: &GitRepo, name: &str) -> String {
        std::fs::create_dir_all(self.root.path().join("org")).unwrap();
        let bare = self.root.path().join("org").join(format!("{name}.git"));
        let output = Command::new("git")
            .args(["clone", "-q", "--bare"])
            .arg(repo.path())
            .arg(&bare)
            .output()
            .unwrap();
        assert_success("git clone --bare", &output);
        format!("https://localhost:{}/org/{name}.git", self.port)
    }

    fn base(&self) -> String {
        format!("https://localhost:{}", self.port)
    }
}

fn fixture() -> GitRepo {
    let repo = GitRepo::new();
    repo.write("src/lib.rs", "pub fn fetched_over_tls() {}\n");
    repo.commit("one");
    repo
}

#[test]
fn the_cli_clones_over_https_and_checks_the_certificate() {
    let tls = TlsGitServer::start();
    let url = tls.publish(&fixture(), "project");

    let trusted = Kotadb::new().git_base_url(tls.base());
    let output = trusted
        .command()
        .env("SSL_CERT_FILE", &tls.cert)
        .args(["index", &url])
        .output()
        .unwrap();
    assert_success("kotadb index https://…", &output);
    assert_eq!(trusted.search_json("fetched_over_tls", &[])["total"], 1);

    // The system's CA bundle does not hold the self-signed certificate: refused.
    let untrusted = Kotadb::new().git_base_url(tls.base());
    let output = untrusted
        .command()
        .env("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
        .args(["index", &url])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
    assert!(stderr.contains("certificate"), "{stderr}");
}

#[test]
fn the_service_registers_and_indexes_an_https_repository() {
    let tls = TlsGitServer::start();
    let url = tls.publish(&fixture(), "served");
    let kotadb = Kotadb::new().git_base_url(tls.base());
    let cert = tls.cert.to_str().unwrap().to_string();
    let server = Server::start_with(&kotadb, &[("SSL_CERT_FILE", cert.as_str())]);
    let key = server.admin_key();
    server.register_and_index(&key, &url);
    let found = server.post(
        "/api/v1/search/code",
        &key,
        &serde_json::json!({"query": "fetched_over_tls"}),
    );
    assert_eq!(found.json()["results"][0]["path"], "src/lib.rs");
}
