-- Canonical records of the engine on the embedded database.
-- Names follow the Postgres schema (migrations/postgres), minus row-level security.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The organization that owns everything on a single-user installation.
INSERT INTO organizations (id, name) VALUES ('00000000-0000-0000-0000-000000000000', 'local');

CREATE TABLE repositories (
    id                   TEXT PRIMARY KEY,
    organization_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    git_url              TEXT NOT NULL,
    default_branch       TEXT,
    status               TEXT NOT NULL DEFAULT 'pending',
    last_indexed_commit  TEXT,
    last_indexed_at      TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (organization_id, git_url)
);

CREATE TABLE indexed_files (
    id             INTEGER PRIMARY KEY,
    repository_id  TEXT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    path           TEXT NOT NULL,
    content_hash   TEXT NOT NULL,   -- the git blob id
    language       TEXT,
    size_bytes     INTEGER NOT NULL,
    skipped        TEXT,            -- why the file has no searchable text: binary, too_large
    indexed_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (repository_id, path)
);
CREATE INDEX indexed_files_recent ON indexed_files (repository_id, indexed_at);

-- Symbols and references reach their repository through their file: a repository id
-- on millions of rows would double the database for nothing.
CREATE TABLE symbols (
    id             INTEGER PRIMARY KEY,
    file_id        INTEGER NOT NULL REFERENCES indexed_files(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    line_start     INTEGER NOT NULL,
    line_end       INTEGER NOT NULL
);
CREATE INDEX symbols_name ON symbols (name COLLATE NOCASE);
CREATE INDEX symbols_file ON symbols (file_id);

CREATE TABLE "references" (
    id             INTEGER PRIMARY KEY,
    file_id        INTEGER NOT NULL REFERENCES indexed_files(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    line           INTEGER NOT NULL,
    "column"       INTEGER NOT NULL
);
CREATE INDEX references_name ON "references" (name);
CREATE INDEX references_file ON "references" (file_id);

-- One row per import statement and resolved target; target_path is NULL when the import
-- names something outside the repository. The raw spec is kept so imports can be
-- resolved again when files appear or disappear, without parsing anything again.
CREATE TABLE dependencies (
    id             INTEGER PRIMARY KEY,
    repository_id  TEXT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    file_id        INTEGER NOT NULL REFERENCES indexed_files(id) ON DELETE CASCADE,
    source_path    TEXT NOT NULL,
    target_path    TEXT,
    spec           TEXT NOT NULL,
    import_kind    TEXT NOT NULL,
    line           INTEGER NOT NULL
);
CREATE INDEX dependencies_source ON dependencies (repository_id, source_path);
CREATE INDEX dependencies_target ON dependencies (repository_id, target_path);
CREATE INDEX dependencies_file ON dependencies (file_id);
