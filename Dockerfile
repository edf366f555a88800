# KotaDB: one binary, built in a Rust image and run in a slim Debian one.
# Everything the build downloads comes from the package registries (crates.io, Debian).

FROM rust:1-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY actors actors
COPY src src
COPY queries queries
COPY migrations migrations
COPY examples examples
RUN cargo build --release --locked --bin kotadb \
    && cp target/release/kotadb /usr/local/bin/kotadb

FROM debian:bookworm-slim AS runtime
# ca-certificates and libssl3: git2 clones over https through the system OpenSSL.
# curl: the HEALTHCHECK.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --create-home kotadb \
    && mkdir -p /app/data && chown kotadb:kotadb /app/data
COPY --from=build /usr/local/bin/kotadb /usr/local/bin/kotadb
USER kotadb
WORKDIR /app
ENV PORT=8080 \
    KOTADB_BIND=0.0.0.0 \
    KOTADB_DATA_DIR=/app/data \
    KOTADB_LOG_FORMAT=json \
    RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${PORT}/health" || exit 1
STOPSIGNAL SIGTERM
CMD ["kotadb", "serve"]
