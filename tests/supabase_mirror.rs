//! `supabase/migrations` (what the Supabase CLI applies) must be byte-identical to
//! `migrations/postgres` (what the server embeds with sqlx): same file names, same bytes.
//! No database needed.

use std::collections::BTreeMap;
use std::path::Path;

fn sql_files(dir: &str) -> BTreeMap<String, Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let entries = std::fs::read_dir(&path).unwrap_or_else(|e| panic!("{dir}: {e}"));
    entries
        .map(|entry| entry.unwrap_or_else(|e| panic!("{dir}: {e}")))
        .filter(|entry| entry.path().is_file())
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(entry.path()).unwrap_or_else(|e| panic!("{dir}/{name}: {e}"));
            (name, bytes)
        })
        .collect()
}

#[test]
fn supabase_migrations_mirror_the_server_migrations() {
    let server = sql_files("migrations/postgres");
    let supabase = sql_files("supabase/migrations");
    assert!(!server.is_empty(), "migrations/postgres has no files");

    let mut differences = Vec::new();
    for (name, bytes) in &server {
        match supabase.get(name) {
            None => differences.push(format!("supabase/migrations lacks {name}")),
            Some(copy) if copy != bytes => differences.push(format!(
                "supabase/migrations/{name} differs from migrations/postgres/{name}"
            )),
            Some(_) => {}
        }
    }
    for name in supabase.keys().filter(|name| !server.contains_key(*name)) {
        differences.push(format!(
            "supabase/migrations/{name} has no counterpart in migrations/postgres"
        ));
    }
    assert!(
        differences.is_empty(),
        "the Supabase CLI's migrations must be byte-identical copies of migrations/postgres \
         (cp migrations/postgres/*.sql supabase/migrations/):\n  {}",
        differences.join("\n  ")
    );

    // Every name suits both sqlx and the Supabase CLI: <14-digit timestamp>_<name>.sql.
    for name in server.keys() {
        let (version, rest) = name.split_once('_').unwrap_or((name, ""));
        assert!(
            version.len() == 14
                && version.bytes().all(|b| b.is_ascii_digit())
                && rest.ends_with(".sql")
                && rest.len() > ".sql".len(),
            "migration {name} is not named YYYYMMDDHHMMSS_name.sql"
        );
    }
}
