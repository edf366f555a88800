#!/bin/sh
# Create a throw-away self-signed TLS certificate for tls_git_server.py.
# Usage: make_tls_cert.sh DIR   -> DIR/cert.pem, DIR/key.pem
# The certificate is its own CA: clients trust it via GIT_SSL_CAINFO,
# http.sslCAInfo, SSL_CERT_FILE or curl --cacert. Valid for localhost and
# 127.0.0.1 for two days.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
mkdir -p "$dir"
# openssl prints key-generation progress on stderr; show it only on failure.
if ! log=$(openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
        -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>&1); then
    echo "$log" >&2
    exit 1
fi
echo "$dir/cert.pem"
