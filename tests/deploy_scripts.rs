//! The operator scripts and `justfile` recipes of the seeds, checked without Fly.io:
//! every script parses (`bash -n`) and answers `--help`; every script a recipe names
//! exists; the deploy script picks the manifest, app and strategy of each environment; the
//! secrets script checks values like `serve` does and never prints one; the pooler check
//! tells a direct connection from the transaction pooler on a real test Postgres; the
//! reset recipe rebuilds a local database with the Supabase CLI; the generator writes one
//! migration into both folders.

mod common;

use common::{assert_success, npm_install};
use kotadb::testing::postgres::TestDatabase;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SCRIPTS: &[&str] = &[
    "deploy-fly.sh",
    "fly-secrets.sh",
    "check_pooler_connection.sh",
    "supabase-apply-remote.sh",
    "supabase-reset.sh",
    "supabase-generate.sh",
    "saas_smoke.sh",
];

const RECIPES: &[&str] = &[
    "test",
    "ci-fast",
    "supabase-reset",
    "supabase-generate",
    "supabase-apply",
    "deploy",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `bash SCRIPT ARGS` with `env`, stdin closed, no secrets from the caller's shell.
fn script(name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new("bash");
    command
        .arg(root().join("scripts").join(name))
        .args(args)
        .current_dir(root())
        .stdin(std::process::Stdio::null());
    for var in [
        "DATABASE_URL",
        "SUPABASE_URL",
        "SUPABASE_ANON_KEY",
        "SUPABASE_SERVICE_KEY",
        "SUPABASE_JWT_SECRET",
        "KOTADB_WEBHOOK_KEY",
        "KOTADB_PUBLIC_URL",
        "KOTA_ALERT_WEBHOOK_URL",
        "KOTA_API_KEY",
        "KOTADB_DEPLOY_URL",
        "SUPABASE_DB_URL",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.output().expect("running bash")
}

/// The recipes of the justfile: `name` of every unindented `name args...:` line.
fn recipes() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(root().join("justfile")).unwrap();
    let mut recipes: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = recipes.last_mut() {
                last.1.push(line.trim().to_string());
            }
        } else if !line.starts_with('#') && line.trim_end().ends_with(':') {
            let name = line.split([' ', ':']).next().unwrap().to_string();
            recipes.push((name, Vec::new()));
        }
    }
    recipes
}

/// `scripts/...` paths named in a text.
fn named_scripts(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in text.match_indices("scripts/") {
        let rest = &text[i..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "/_-.".contains(c)))
            .unwrap_or(rest.len());
        let path = rest[..end].trim_end_matches('.');
        if path.ends_with(".sh") {
            found.push(path.to_string());
        }
    }
    found
}

#[test]
fn every_script_parses_and_answers_help() {
    for name in SCRIPTS {
        let path = root().join("scripts").join(name);
        assert!(path.exists(), "scripts/{name} is missing");
        let body = std::fs::read_to_string(&path).unwrap();
        assert!(
            body.contains("set -euo pipefail"),
            "scripts/{name} lacks set -euo pipefail"
        );
        let syntax = Command::new("bash").arg("-n").arg(&path).output().unwrap();
        assert_success(&format!("bash -n scripts/{name}"), &syntax);
        let help = script(name, &["--help"], &[]);
        assert_success(&format!("scripts/{name} --help"), &help);
        assert!(
            !help.stdout.is_empty(),
            "scripts/{name} --help printed nothing"
        );
    }
}

#[test]
fn the_justfile_has_the_seed_recipes_and_every_script_they_call_exists() {
    let recipes = recipes();
    let names: Vec<&str> = recipes.iter().map(|(n, _)| n.as_str()).collect();
    for recipe in RECIPES {
        assert!(names.contains(recipe), "the justfile lacks `{recipe}`");
    }
    for (name, body) in &recipes {
        for path in named_scripts(&body.join("\n")) {
            assert!(
                root().join(&path).exists(),
                "recipe {name} calls {path}, which does not exist"
            );
        }
    }
    // With just installed, just itself must accept the file.
    if let Ok(output) = Command::new("just")
        .args(["--list", "--justfile"])
        .arg(root().join("justfile"))
        .output()
    {
        assert_success("just --list", &output);
        let listed = String::from_utf8_lossy(&output.stdout);
        for recipe in RECIPES {
            assert!(listed.contains(recipe), "just --list lacks {recipe}");
        }
    }
}

fn manifest_app(file: &str) -> String {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let table: toml::Table = text.parse().unwrap();
    table["app"].as_str().unwrap().to_string()
}

#[test]
fn the_deploy_script_deploys_each_environment_with_its_own_manifest() {
    for (env, file, strategy, ha) in [
        ("staging", "fly.staging.toml", "immediate", "false"),
        ("production", "fly.toml", "rolling", "true"),
    ] {
        let app = manifest_app(file);
        let dry = script("deploy-fly.sh", &[env, "--dry-run"], &[]);
        assert_success("deploy-fly.sh --dry-run", &dry);
        let printed = text(&dry);
        let expected =
            format!("flyctl deploy --config {file} --app {app} --strategy {strategy} --ha={ha}");
        assert!(printed.contains(&expected), "{expected}\nnot in\n{printed}");
        assert!(printed.contains(&format!("https://{app}.fly.dev/health")));
    }
    let rollback = script(
        "deploy-fly.sh",
        &[
            "production",
            "--dry-run",
            "--image",
            "registry.fly.io/kotadb-api:v1",
        ],
        &[],
    );
    assert!(text(&rollback).contains("--image registry.fly.io/kotadb-api:v1"));

    // Production without --yes and without a terminal: refused before anything runs.
    let unconfirmed = script("deploy-fly.sh", &["production"], &[("KOTA_API_KEY", "k")]);
    assert_eq!(unconfirmed.status.code(), Some(2), "{}", text(&unconfirmed));
    let no_env = script("deploy-fly.sh", &[], &[]);
    assert_eq!(no_env.status.code(), Some(2));
}

#[test]
fn the_secrets_script_checks_values_like_serve_and_never_prints_one() {
    let secret = "s3cr3t-value-that-must-not-appear";
    let webhook_key = format!("{secret}-0123456789abcdef");
    let good = [
        (
            "DATABASE_URL",
            format!("postgres://postgres:{secret}@db.example.supabase.co:5432/postgres"),
        ),
        ("SUPABASE_URL", "https://example.supabase.co".to_string()),
        ("SUPABASE_ANON_KEY", format!("anon-{secret}")),
        ("SUPABASE_SERVICE_KEY", format!("service-{secret}")),
        ("KOTADB_WEBHOOK_KEY", webhook_key),
        (
            "KOTADB_PUBLIC_URL",
            "https://kotadb-api-staging.fly.dev".to_string(),
        ),
    ];
    let env: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dry = script("fly-secrets.sh", &["staging", "set", "--dry-run"], &env);
    assert_success("fly-secrets.sh staging set --dry-run", &dry);
    let printed = text(&dry);
    assert!(
        !printed.contains(secret),
        "a secret was printed:\n{printed}"
    );
    assert!(printed.contains("flyctl secrets import --app kotadb-api-staging"));
    for (name, _) in &good {
        assert!(printed.contains(name), "{name} not named in\n{printed}");
    }
    // The temporary directory is gone.
    let dir = printed
        .lines()
        .find_map(|l| l.strip_prefix("--- "))
        .and_then(|l| l.strip_suffix("/apply.sh"))
        .expect("the script's path");
    assert!(!Path::new(dir).exists(), "{dir} was left behind");

    let mut bad = env.clone();
    bad.retain(|(k, _)| *k != "SUPABASE_ANON_KEY" && *k != "KOTADB_WEBHOOK_KEY");
    bad.push(("KOTADB_WEBHOOK_KEY", "short"));
    bad.push(("SUPABASE_JWT_SECRET", "also-short"));
    let refused = script("fly-secrets.sh", &["production", "set", "--dry-run"], &bad);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let printed = text(&refused);
    for problem in [
        "SUPABASE_ANON_KEY is missing",
        "KOTADB_WEBHOOK_KEY must have at least 32 characters",
        "SUPABASE_JWT_SECRET must have at least 32 characters",
    ] {
        assert!(printed.contains(problem), "{problem} not in\n{printed}");
    }
    assert!(
        !printed.contains("short"),
        "a value was printed:\n{printed}"
    );
}

#[test]
fn the_pooler_check_connects_and_names_the_transaction_pooler() {
    let db = TestDatabase::create();
    let direct = script(
        "check_pooler_connection.sh",
        &[],
        &[("DATABASE_URL", &db.url)],
    );
    assert_success("check_pooler_connection.sh", &direct);
    assert!(text(&direct).contains("ok: select 1 answered; direct connection"));

    // From an env file, as the seeds keep it.
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join(".env");
    std::fs::write(&env_file, format!("OTHER=1\nDATABASE_URL=\"{}\"\n", db.url)).unwrap();
    let from_file = script(
        "check_pooler_connection.sh",
        &["--env-file", env_file.to_str().unwrap()],
        &[],
    );
    assert_success("check_pooler_connection.sh --env-file", &from_file);

    // Port 6543 is the transaction pooler; nothing listens here, so it fails, naming it,
    // without the password.
    let pooler = script(
        "check_pooler_connection.sh",
        &[],
        &[(
            "DATABASE_URL",
            "postgres://postgres.ref:hunter2-secret@127.0.0.1:6543/postgres",
        )],
    );
    assert_eq!(pooler.status.code(), Some(1), "{}", text(&pooler));
    let printed = text(&pooler);
    assert!(
        printed.contains("transaction pooler (port 6543): no LISTEN/NOTIFY"),
        "{printed}"
    );
    assert!(
        !printed.contains("hunter2"),
        "the password was printed:\n{printed}"
    );
}

fn supabase_bin() -> PathBuf {
    npm_install("supabase-cli", &[("supabase", "2.117.0")]).join(".bin/supabase")
}

#[test]
fn the_reset_recipe_rebuilds_a_local_database_and_refuses_a_remote_one() {
    let db = TestDatabase::create();
    let bin = supabase_bin();
    let bin = bin.to_str().unwrap();
    for _ in 0..2 {
        let reset = script("supabase-reset.sh", &[&db.url], &[("SUPABASE_BIN", bin)]);
        assert_success("supabase-reset.sh", &reset);
    }
    let count = Command::new("psql")
        .args([
            "-X",
            "-qAt",
            "-c",
            "select count(*) from supabase_migrations.schema_migrations",
        ])
        .arg(&db.url)
        .output()
        .unwrap();
    let migrations = std::fs::read_dir(root().join("migrations/postgres"))
        .unwrap()
        .count();
    assert_eq!(
        String::from_utf8_lossy(&count.stdout).trim(),
        migrations.to_string()
    );

    let remote = script(
        "supabase-reset.sh",
        &["postgres://postgres:pw@db.example.supabase.co:5432/postgres"],
        &[],
    );
    assert_eq!(remote.status.code(), Some(2), "{}", text(&remote));
    assert!(text(&remote).contains("refusing"));
}

#[test]
fn the_generator_writes_one_identical_migration_into_both_folders() {
    let copy = tempfile::tempdir().unwrap();
    for dir in ["scripts", "migrations/postgres", "supabase/migrations"] {
        std::fs::create_dir_all(copy.path().join(dir)).unwrap();
    }
    std::fs::copy(
        root().join("scripts/supabase-generate.sh"),
        copy.path().join("scripts/supabase-generate.sh"),
    )
    .unwrap();
    for entry in std::fs::read_dir(root().join("migrations/postgres")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            copy.path()
                .join("migrations/postgres")
                .join(entry.file_name()),
        )
        .unwrap();
    }
    let output = Command::new("bash")
        .arg(copy.path().join("scripts/supabase-generate.sh"))
        .arg("add_things")
        .output()
        .unwrap();
    assert_success("supabase-generate.sh add_things", &output);
    let printed = String::from_utf8_lossy(&output.stdout);
    let files: Vec<&str> = printed.lines().collect();
    assert_eq!(files.len(), 2, "{printed}");
    let a = std::fs::read(copy.path().join(files[0])).unwrap();
    let b = std::fs::read(copy.path().join(files[1])).unwrap();
    assert_eq!(a, b);
    let name = Path::new(files[0])
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(name.ends_with("_add_things.sql"), "{name}");
    // Its version sorts after every committed one.
    let newest = std::fs::read_dir(root().join("migrations/postgres"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .max()
        .unwrap();
    assert!(name > newest, "{name} does not sort after {newest}");

    let bad = Command::new("bash")
        .arg(copy.path().join("scripts/supabase-generate.sh"))
        .arg("Bad Name")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

fn yaml_str<'a>(node: &'a yaml_rust2::Yaml, path: &[&str]) -> &'a yaml_rust2::Yaml {
    path.iter().fold(node, |node, key| &node[*key])
}

fn strings(node: &yaml_rust2::Yaml) -> Vec<String> {
    node.as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_deploy_workflow_parses_and_calls_only_what_exists() {
    let text = std::fs::read_to_string(root().join(".github/workflows/deploy.yml")).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("deploy.yml is valid YAML");
    let workflow = &docs[0];

    // Staging on develop, production on main, a manual run with a rollback input.
    let on = &workflow["on"];
    let branches = strings(yaml_str(on, &["push", "branches"]));
    assert_eq!(branches, ["develop", "main"]);
    let inputs = yaml_str(on, &["workflow_dispatch", "inputs"]);
    assert_eq!(
        strings(&inputs["environment"]["options"]),
        ["staging", "production"]
    );
    assert!(strings(&inputs["action"]["options"]).contains(&"rollback".to_string()));
    assert!(!inputs["image"].is_badvalue());
    assert!(text.contains("github.ref_name == 'main' && 'production' || 'staging'"));

    // tests -> build -> migrate -> deploy, each needing the one before.
    let jobs = workflow["jobs"].as_hash().expect("jobs");
    let order = ["test", "build", "migrate", "deploy"];
    for pair in order.windows(2) {
        let needs = &workflow["jobs"][pair[1]]["needs"];
        assert_eq!(
            needs.as_str(),
            Some(pair[0]),
            "{} must need {}",
            pair[1],
            pair[0]
        );
    }
    assert!(jobs.contains_key(&yaml_rust2::Yaml::String("rollback".into())));

    // Every script, recipe and file the steps run exists; health and smoke are in the deploy.
    let mut runs = String::new();
    for (_, job) in jobs {
        for step in job["steps"].as_vec().expect("steps") {
            if let Some(run) = step["run"].as_str() {
                runs.push_str(run);
                runs.push('\n');
            }
        }
    }
    let named = named_scripts(&runs);
    assert!(named.contains(&"scripts/deploy-fly.sh".to_string()));
    assert!(named.contains(&"scripts/supabase-apply-remote.sh".to_string()));
    for path in named
        .iter()
        .map(String::as_str)
        .chain([".ci/run", "Dockerfile"])
    {
        assert!(
            root().join(path).exists(),
            "deploy.yml runs {path}, which does not exist"
        );
    }
    let recipes: Vec<String> = recipes().into_iter().map(|(n, _)| n).collect();
    for word in runs.split_whitespace().collect::<Vec<_>>().windows(2) {
        if word[0] == "just" {
            assert!(
                recipes.contains(&word[1].to_string()),
                "deploy.yml runs just {}",
                word[1]
            );
        }
    }
    let deploy_script = std::fs::read_to_string(root().join("scripts/deploy-fly.sh")).unwrap();
    assert!(deploy_script.contains("/health") && deploy_script.contains("scripts/saas_smoke.sh"));
    assert!(runs.contains("supabase@2.117.0"));

    // Every app the workflow names is one of the manifests'.
    let apps = [manifest_app("fly.toml"), manifest_app("fly.staging.toml")];
    for (i, _) in text.match_indices("kotadb-api") {
        let name: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        assert!(
            apps.contains(&name),
            "deploy.yml names app {name}, not in the manifests"
        );
    }
}
