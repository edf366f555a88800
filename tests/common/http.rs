//! One HTTP exchange made with curl ([`curl`]), its answer a [`Reply`].

use super::assert_success;
use std::io::Write;
use std::process::{Command, Stdio};

/// One HTTP exchange made with curl.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    /// Response headers, names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected a JSON body ({e}), got HTTP {}: {}",
                self.status, self.body
            )
        })
    }

    /// The value of response header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `curl -sS -D - -X METHOD URL -H ...` with `body` sent on stdin: status, content
/// type, headers and body. `Expect: 100-continue` is turned off so a large body gets the
/// server's own answer.
pub fn curl(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
    let mut command = Command::new("curl");
    command.args([
        "-sS",
        "--max-time",
        "60",
        "-D",
        "-",
        "-H",
        "Expect:",
        "-X",
        method,
        url,
        "-w",
        "\n%{http_code} %{content_type}",
    ]);
    for (name, value) in headers {
        command.arg("-H").arg(format!("{name}: {value}"));
    }
    if body.is_some() {
        command.args(["--data-binary", "@-"]);
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => panic!("running curl (is it installed?): {e}"),
    };
    let mut stdin = child.stdin.take().expect("curl's stdin");
    if let Some(body) = body {
        stdin
            .write_all(body.as_bytes())
            .expect("writing curl's stdin");
    }
    drop(stdin);
    let output = child.wait_with_output().expect("waiting for curl");
    assert_success(&format!("curl {method} {url}"), &output);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (mut rest, trailer) = text.rsplit_once('\n').unwrap_or(("", &text));
    let (status, content_type) = trailer.split_once(' ').unwrap_or((trailer, ""));
    let mut headers = Vec::new();
    // `-D -` prints every header block (a `100 Continue` one too) before the body.
    while rest.starts_with("HTTP/") {
        let (block, after) = rest.split_once("\r\n\r\n").unwrap_or((rest, ""));
        headers = block
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        rest = after;
    }
    Reply {
        status: status
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("curl printed no status: {text}")),
        content_type: content_type.trim().to_string(),
        headers,
        body: rest.to_string(),
    }
}
