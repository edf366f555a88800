#!/usr/bin/env python3
"""Local HTTPS git server for integration tests (Python 3.11 stdlib only).

Why this exists: libgit2 (git2 with its `https` feature, OpenSSL backend)
speaks only the *smart* HTTP protocol, so proving that `https://` cloning
works needs a real smart-HTTP server behind real TLS.  This is not a stub:
every request is handed to `git http-backend` as a CGI program, exactly as
Apache/nginx would do it, and the TLS layer uses a caller-supplied
certificate so a test can show the certificate is really verified.

Usage:
    python3 tls_git_server.py --root DIR --cert CERT.pem --key KEY.pem [--port 0]

Repositories are served from DIR (e.g. DIR/repo.git ->
https://localhost:PORT/repo.git, DIR/org/repo.git -> .../org/repo.git).
Once listening on 127.0.0.1 it prints exactly one line `PORT <n>` to stdout.
Read-only (fetch/clone); push would additionally need http.receivepack.
Logs go to stderr.  SIGTERM/SIGINT shut it down cleanly.
"""

import argparse
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


def find_http_backend():
    """Return the argv prefix that runs git-http-backend."""
    exe = "/usr/lib/git-core/git-http-backend"
    if os.access(exe, os.X_OK):
        return [exe]
    try:
        exec_path = subprocess.run(["git", "--exec-path"], capture_output=True,
                                   text=True, check=True).stdout.strip()
        exe = os.path.join(exec_path, "git-http-backend")
        if os.access(exe, os.X_OK):
            return [exe]
    except (OSError, subprocess.CalledProcessError):
        pass
    return [shutil.which("git") or "git", "http-backend"]


class GitCGIHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive + chunked responses
    server_version = "KotaDBTestGit/1.0"
    timeout = 120                   # drop idle keep-alive connections

    def do_GET(self):
        self.run_cgi()

    def do_POST(self):
        self.run_cgi()

    def read_body(self):
        """Whole request body, de-chunked if needed (never decompressed:
        git-http-backend inflates gzip itself via HTTP_CONTENT_ENCODING)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size_line = self.rfile.readline(65537)
                if not size_line:
                    raise ConnectionError("EOF inside chunked body")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # skip trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)  # CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def cgi_env(self, body):
        path, _, query = self.path.partition("?")
        env = {k: v for k, v in os.environ.items()
               if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")}
        env.update({
            "GIT_PROJECT_ROOT": self.server.git_root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": self.request_version,
            "SERVER_SOFTWARE": self.server_version,
            "SERVER_NAME": "localhost",
            "SERVER_PORT": str(self.server.server_address[1]),
            "HTTPS": "on",
            "REQUEST_METHOD": self.command,
            "REQUEST_URI": self.path,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path),
            "QUERY_STRING": query,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_LENGTH": str(len(body)),
        })
        if self.headers.get("Content-Type"):
            env["CONTENT_TYPE"] = self.headers["Content-Type"]
        # Every other request header becomes HTTP_*; this carries
        # Git-Protocol (protocol v2) and Content-Encoding (gzip bodies).
        for name, value in self.headers.items():
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH", "TRANSFER_ENCODING",
                       "AUTHORIZATION", "PROXY"):
                continue
            env["HTTP_" + key] = value
        return env

    def run_cgi(self):
        body = self.read_body()
        proc = subprocess.Popen(self.server.backend, env=self.cgi_env(body),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        # Feed stdin and drain stderr from threads so a large request and a
        # large response cannot deadlock on full pipes.
        def feed():
            try:
                proc.stdin.write(body)
            except BrokenPipeError:
                pass
            finally:
                proc.stdin.close()
        def drain_stderr():
            for line in proc.stderr:
                self.log_message("git-http-backend: %s",
                                 line.decode("utf-8", "replace").rstrip())
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        threading.Thread(target=drain_stderr, daemon=True).start()
        try:
            status, headers = 200, []
            while True:  # CGI response headers up to the blank line
                line = proc.stdout.readline().rstrip(b"\r\n").decode("latin-1")
                if not line:
                    break
                name, _, value = line.partition(":")
                name, value = name.strip(), value.strip()
                if name.lower() == "status":
                    status = int(value.split()[0])
                else:
                    headers.append((name, value))
            names = {n.lower() for n, _ in headers}
            if "location" in names and status == 200:
                status = 302
            chunked = "content-length" not in names
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while True:  # stream the body; packs can be large
                data = proc.stdout.read1(65536)
                if not data:
                    break
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except BaseException:
            proc.kill()  # client went away mid-response, or similar
            raise
        finally:
            proc.stdout.close()
            feeder.join(timeout=5)
            try:
                rc = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
            if rc != 0:
                self.log_message("git-http-backend exited with %d", rc)

    def log_message(self, fmt, *args):
        sys.stderr.write("[tls_git_server] %s %s\n" % (self.address_string(), fmt % args))
        sys.stderr.flush()


class TLSGitServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port, root, context):
        super().__init__(("127.0.0.1", port), GitCGIHandler)
        self.git_root = os.path.abspath(root)
        self.backend = find_http_backend()
        # Handshake lazily in the per-connection thread, so a client that
        # rejects our certificate (or stalls) never blocks accept().
        self.socket = context.wrap_socket(self.socket, server_side=True,
                                          do_handshake_on_connect=False)

    def finish_request(self, request, client_address):
        request.do_handshake()
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, TimeoutError)):
            sys.stderr.write("[tls_git_server] %s connection error: %r\n"
                             % (client_address[0], exc))
        else:
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="directory holding bare repos")
    ap.add_argument("--cert", required=True, help="PEM certificate (chain)")
    ap.add_argument("--key", required=True, help="PEM private key")
    ap.add_argument("--port", type=int, default=0, help="0 = ephemeral")
    args = ap.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server = TLSGitServer(args.port, args.root, context)

    def stop(signum, frame):
        # shutdown() blocks until serve_forever() returns, so not in this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    sys.stderr.write("[tls_git_server] stopped\n")


if __name__ == "__main__":
    main()
