//! HTTP for the tests, made from Rust ([`http`], with ureq): one request on one fresh
//! connection, any method, headers in order (repeated names sent repeatedly), any body
//! bytes; every status is an answer ([`Reply`]), never an error.
//!
//! [`run_curl`] runs the curl command line instead, for the tests whose point is that a
//! command someone types works (see `seed_curl`).

use super::assert_success;
use std::process::Command;
use std::time::Duration;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, NextTimeout, TcpConnector, Transport,
};

/// The answer to one HTTP request, whatever its status.
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

/// `METHOD URL` with `headers` and `body`: status, content type, headers and body.
///
/// - Headers are sent in the given order; a name given twice is sent twice. A `Host`
///   given here replaces the one from the URL.
/// - The body is sent byte for byte (invalid UTF-8 or malformed JSON too) with its
///   Content-Length; no Content-Type is added. No `Expect: 100-continue` is sent, so a
///   large body gets the server's own answer. Methods other than POST, PUT and PATCH
///   send a body only when one is given.
/// - A fresh connection each time (nothing pooled, nothing kept open after the answer:
///   like the one-curl-per-request helper this replaces, a server being shut down sees
///   no idle connection of ours), no proxy (`http_proxy` and friends are ignored), no
///   redirect followed, 60 seconds at most.
/// - 4xx and 5xx are answers. Only no answer at all (connection refused or reset, a
///   timeout) panics, naming the request.
#[track_caller]
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Reply {
    match try_http(method, url, headers, body) {
        Ok(reply) => reply,
        Err(e) => panic!("{method} {url}: no HTTP answer: {e}"),
    }
}

/// Like [`http`], the transport error returned instead of panicking (for polling a
/// server that may not be listening yet).
pub fn try_http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<Reply, ureq::Error> {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .max_redirects(0)
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build();
    let agent = ureq::Agent::with_parts(
        config,
        TcpConnector::default().chain(KeepReading),
        DefaultResolver::default(),
    );
    // ureq types requests by whether their method carries a body: POST, PUT and PATCH
    // always do (empty when none is given), the others only when forced to.
    macro_rules! without_body {
        ($builder:expr) => {{
            let mut builder = $builder;
            for (name, value) in headers {
                builder = builder.header(*name, *value);
            }
            match body {
                Some(body) => builder.force_send_body().send(body),
                None => builder.call(),
            }
        }};
    }
    macro_rules! with_body {
        ($builder:expr) => {{
            let mut builder = $builder;
            for (name, value) in headers {
                builder = builder.header(*name, *value);
            }
            match body {
                Some(body) => builder.send(body),
                None => builder.send_empty(),
            }
        }};
    }
    let response = match method {
        "GET" => without_body!(agent.get(url)),
        "DELETE" => without_body!(agent.delete(url)),
        "HEAD" => without_body!(agent.head(url)),
        "OPTIONS" => without_body!(agent.options(url)),
        "TRACE" => without_body!(agent.trace(url)),
        "POST" => with_body!(agent.post(url)),
        "PUT" => with_body!(agent.put(url)),
        "PATCH" => with_body!(agent.patch(url)),
        other => panic!("http(): unsupported method {other:?}"),
    }?;
    let (parts, mut response_body) = response.into_parts();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(value.as_bytes()).trim().to_string(),
            )
        })
        .collect();
    let bytes = response_body.with_config().limit(u64::MAX).read_to_vec()?;
    let content_type = headers
        .iter()
        .find(|(name, _)| name == "content-type")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    Ok(Reply {
        status: parts.status.as_u16(),
        content_type,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// Wraps each connection so that a request whose body the server stopped reading still
/// gets the server's answer. A server that refuses a body early (413 after its first
/// megabyte) answers and closes while a large body is still being sent: the write fails
/// (broken pipe, reset), but the answer is already in our receive buffer. ureq would
/// return the write error; here the rest of the body is dropped and the answer read, as
/// curl does ("HTTP error before end of send, stop sending").
#[derive(Debug)]
struct KeepReading;

impl<In: Transport> Connector<In> for KeepReading {
    type Out = KeepReadingTransport<In>;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| KeepReadingTransport {
            inner,
            write_failed: false,
        }))
    }
}

#[derive(Debug)]
struct KeepReadingTransport<T> {
    inner: T,
    /// The server closed its side: what is left to send is dropped.
    write_failed: bool,
}

impl<T: Transport> Transport for KeepReadingTransport<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if self.write_failed {
            return Ok(());
        }
        match self.inner.transmit_output(amount, timeout) {
            Err(ureq::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                ) =>
            {
                self.write_failed = true;
                Ok(())
            }
            other => other,
        }
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        !self.write_failed && self.inner.is_open()
    }
}

/// Runs `curl ARGS` (as someone would type them: `-X`, the URL, `-H`s, `-d`) with
/// `-q -sS --max-time 60 -D - -w ...` added to read the answer (and no proxy from the
/// environment): status, content type,
/// headers and body. Asserts curl itself succeeded (an HTTP error status is an answer).
#[track_caller]
pub fn run_curl(args: &[&str]) -> Reply {
    let output = match Command::new("curl")
        // -q first: no ~/.curlrc changes the command.
        .args(["-q", "-sS", "--max-time", "60", "-D", "-"])
        .args(["-w", "\n%{http_code} %{content_type}"])
        .args(args)
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .output()
    {
        Ok(output) => output,
        Err(e) => panic!("running curl (is it installed?): {e}"),
    };
    assert_success(&format!("curl {args:?}"), &output);
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

#[cfg(test)]
mod tests {
    use super::http;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// Accepts one connection, reads the request head and up to `read_body` bytes of the
    /// body, answers `answer` and closes. Returns the URL and what was read.
    fn one_shot(
        read_body: usize,
        answer: &'static str,
    ) -> (String, std::thread::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let url = format!("http://{}/x", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accepting");
            let mut seen = Vec::new();
            let mut buf = [0u8; 65536];
            let head_end = loop {
                let n = stream.read(&mut buf).expect("reading the request");
                assert!(n > 0, "the request ended before its head did");
                seen.extend_from_slice(&buf[..n]);
                if let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            while seen.len() < head_end + read_body {
                let n = stream.read(&mut buf).expect("reading the body");
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
            }
            stream.write_all(answer.as_bytes()).expect("answering");
            seen
        });
        (url, server)
    }

    #[test]
    fn http_sends_repeated_headers_a_host_and_raw_bytes_as_given() {
        let body: &[u8] = b"{\"query\": \"\xff\xfe\" trailing";
        let (url, server) = one_shot(
            body.len(),
            "HTTP/1.1 418 I'm a teapot\r\nContent-Type: text/x-tea\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 3\r\n\r\ntea",
        );
        let reply = http(
            "DELETE",
            &url,
            &[
                ("X-Twice", "one"),
                ("Host", "other.example"),
                ("X-Twice", "two"),
            ],
            Some(body),
        );
        let seen = server.join().unwrap();
        let head_end = seen.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8_lossy(&seen[..head_end]).to_ascii_lowercase();
        assert!(head.starts_with("delete /x http/1.1\r\n"), "{head}");
        assert!(head.contains("\r\nx-twice: one\r\n"), "{head}");
        assert!(head.contains("\r\nx-twice: two\r\n"), "{head}");
        assert!(head.contains("\r\nhost: other.example\r\n"), "{head}");
        assert_eq!(head.matches("\r\nhost:").count(), 1, "{head}");
        assert!(!head.contains("expect:"), "{head}");
        assert_eq!(&seen[head_end..], body);
        assert_eq!(reply.status, 418);
        assert_eq!(reply.content_type, "text/x-tea");
        assert_eq!(reply.body, "tea");
        let x_a: Vec<&str> = reply
            .headers
            .iter()
            .filter(|(n, _)| n == "x-a")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(x_a, ["1", "2"]);
        assert_eq!(reply.header("X-A"), Some("1"));
    }

    #[test]
    fn http_reads_the_answer_to_a_body_the_server_stopped_reading() {
        let (url, server) = one_shot(
            100_000,
            "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large",
        );
        let body = vec![b'x'; 32 << 20];
        let reply = http("POST", &url, &[], Some(&body));
        server.join().unwrap();
        assert_eq!(reply.status, 413, "{reply:?}");
        assert_eq!(reply.body, "too large");
    }
}
