//! [`Server`]: a running `kotadb serve` on a free loopback port, and the REST helpers
//! that talk to it over HTTP from Rust ([`http`]).

use super::http::{http, try_http, Reply};
use super::Kotadb;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `kotadb serve --port 0` on loopback, killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The admin key printed on first start (`None` when the data dir already had keys).
    pub admin_key: Option<String>,
    /// What the server printed on stdout while starting.
    pub printed: Vec<String>,
    stderr_path: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `kotadb serve` on the data dir of `kotadb`; waits until it answers.
    pub fn start(kotadb: &Kotadb) -> Server {
        Server::start_with(kotadb, &[])
    }

    /// Like [`Server::start`], with extra environment variables (limits, fault hooks).
    pub fn start_with(kotadb: &Kotadb, env: &[(&str, &str)]) -> Server {
        let stderr_path = kotadb.data_dir().join(format!(
            "serve-{}.stderr",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let stderr = std::fs::File::create(&stderr_path).expect("creating the stderr log");
        let mut command = kotadb.command();
        command.args(["serve", "--port", "0", "--bind", "127.0.0.1"]);
        for var in [
            "KOTA_ALLOWED_ORIGINS",
            "KOTADB_ALLOWED_HOSTS",
            "KOTADB_PUBLIC_URL",
            "PORT",
            "KOTADB_FAULT_PANIC_ON",
            "KOTADB_FAULT_PUBLISH_DELAY_MS",
            "KOTADB_MAX_CONCURRENT_REQUESTS",
            "KOTADB_MAX_BODY_BYTES",
            "KOTA_RATE_LIMIT_FREE_PER_HOUR",
            "KOTA_RATE_LIMIT_SOLO_PER_HOUR",
            "KOTA_RATE_LIMIT_TEAM_PER_HOUR",
            "KOTADB_KEY_CACHE_TTL_SECS",
            "SUPABASE_URL",
            "SUPABASE_ANON_KEY",
            "SUPABASE_SERVICE_KEY",
            "SUPABASE_JWT_SECRET",
            "KOTADB_WEBHOOK_KEY",
        ] {
            command.env_remove(var);
        }
        // Tests fire requests as fast as a loop can: the per-key burst limit (tested on
        // its own) would otherwise answer 429 in tests about other things.
        command
            .env("RUST_LOG", "warn")
            .env("KOTADB_BURST_PER_SECOND", "100000")
            .env("KOTADB_BURST", "100000")
            .envs(env.iter().copied());
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("starting kotadb serve");
        let stdout = child.stdout.take().expect("serve's stdout");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Keep draining after the receiver is gone so the server never blocks.
                let _ = tx.send(line);
            }
        });
        let fail = |child: &mut Child, seen: &[String], why: &str| -> ! {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "kotadb serve {why}\n--- stdout\n{}\n--- stderr\n{}",
                seen.join("\n"),
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut printed = Vec::new();
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let base = line
                        .split(" listening on ")
                        .nth(1)
                        .and_then(|rest| rest.split_whitespace().next())
                        .map(str::to_string);
                    printed.push(line);
                    if let Some(base) = base {
                        break base;
                    }
                }
                Err(_) => fail(&mut child, &printed, "did not print its address"),
            }
        };
        // Everything `serve` prints (the admin key too) is printed before it accepts
        // connections, so once /health answers, stdout holds all of it.
        loop {
            let reply = try_http("GET", &format!("{base}/health"), &[], None);
            if reply.is_ok_and(|reply| reply.status == 200) {
                break;
            }
            if Instant::now() > deadline {
                fail(&mut child, &printed, "never answered /health with 200");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
            printed.push(line);
        }
        let mut admin_key = printed
            .iter()
            .map(|l| l.trim())
            .find(|l| l.starts_with("kota_"))
            .map(str::to_string);
        if admin_key.is_none() && kotadb.on_test_postgres() {
            // On Postgres `serve` makes no first key (SaaS keys come from the CLI or
            // SQL): make the one the embedded default would have printed.
            let out = kotadb.cmd(["keys", "list", "--json"]);
            let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            if listed["keys"].as_array().is_some_and(|k| k.is_empty()) {
                admin_key = Some(kotadb.create_key(&["--tier", "team", "--name", "admin"]));
            }
        }
        Server {
            child,
            base,
            admin_key,
            printed,
            stderr_path,
        }
    }

    /// The admin key printed on first start.
    #[track_caller]
    pub fn admin_key(&self) -> String {
        self.admin_key.clone().unwrap_or_else(|| {
            panic!(
                "kotadb serve printed no admin key:\n{}",
                self.printed.join("\n")
            )
        })
    }

    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// `METHOD PATH` with `Authorization: Bearer KEY` (if any) and, with a body,
    /// `Content-Type: application/json`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let auth = key.map(|k| format!("Bearer {k}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth));
        }
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        http(method, &self.url(path), &headers, body.map(str::as_bytes))
    }

    pub fn get(&self, path: &str, key: &str) -> Reply {
        self.request("GET", path, Some(key), None)
    }

    pub fn post(&self, path: &str, key: &str, body: &serde_json::Value) -> Reply {
        self.request("POST", path, Some(key), Some(&body.to_string()))
    }

    pub fn delete(&self, path: &str, key: &str) -> Reply {
        self.request("DELETE", path, Some(key), None)
    }

    /// `POST /api/v1/repositories {"git_url"}`, asserting 201: the reply's JSON.
    #[track_caller]
    pub fn register(&self, key: &str, git_url: &str) -> serde_json::Value {
        let reply = self.post(
            "/api/v1/repositories",
            key,
            &serde_json::json!({ "git_url": git_url }),
        );
        assert_eq!(
            reply.status,
            201,
            "registering {git_url}: {}\n--- server stderr\n{}",
            reply.body,
            self.stderr()
        );
        reply.json()
    }

    /// Polls `GET /api/v1/jobs/{job}` until the job succeeds or fails; returns it.
    #[track_caller]
    pub fn wait_for_job(&self, key: &str, job: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let reply = self.get(&format!("/api/v1/jobs/{job}"), key);
            assert_eq!(reply.status, 200, "job {job}: {}", reply.body);
            let value = reply.json();
            if value["status"] == "succeeded" || value["status"] == "failed" {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "job {job} did not finish in time: {value}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Registers `git_url` and waits for its first index job to succeed: (repository id,
    /// job id).
    #[track_caller]
    pub fn register_and_index(&self, key: &str, git_url: &str) -> (String, String) {
        let created = self.register(key, git_url);
        let id = created["id"].as_str().expect("an id").to_string();
        let job = created["job_id"].as_str().expect("a job_id").to_string();
        let finished = self.wait_for_job(key, &job);
        assert_eq!(
            finished["status"],
            "succeeded",
            "indexing {git_url}: {finished}\n--- server stderr\n{}",
            self.stderr()
        );
        (id, job)
    }

    /// Sends SIGTERM and waits up to `within` for the process to exit.
    pub fn terminate(mut self, within: Duration) -> Option<ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("waiting for kotadb serve") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}
