//! The `kotadb` command line: thin glue from arguments to the engine and the store.

pub mod serve;

use crate::answers::{self, CodeSearchBody};
use crate::engine::git::Source;
use crate::engine::parse::Analyzer;
use crate::indexer::{Indexer, Progress};
use crate::service::{Service, ServiceSettings, Workers};
use crate::settings::{ServeSettings, Settings};
use crate::store::postgres::PostgresStore;
use crate::store::prelude::*;
use crate::store::sqlite::SqliteStore;
use crate::store::{NewRepository, OrganizationId};
use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "kotadb",
    version,
    about = "Code intelligence for AI coding agents"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Settings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: REST, MCP, /health, /metrics, and the indexing workers.
    Serve(ServeSettings),
    /// Serve the MCP tools over stdio for a local agent.
    Mcp {
        /// Speak MCP on stdin/stdout (the only transport of this command).
        #[arg(long)]
        stdio: bool,
        #[command(flatten)]
        serve: ServeSettings,
    },
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Recent indexing jobs.
    Jobs {
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Index a local git repository (its HEAD) or a git URL under KOTA_GIT_BASE_URL.
    Index {
        /// A local repository path or a git URL.
        source: String,
        /// Display name (default: the last path segment).
        #[arg(long)]
        name: Option<String>,
        /// Branch, tag or commit to index (default: HEAD / the remote's default branch).
        #[arg(long)]
        branch: Option<String>,
    },
    /// Search code (or symbols with --symbols) in the indexed repositories.
    Search(SearchArgs),
    /// Where a symbol is used (calls, references, imports).
    References {
        symbol: String,
        /// A repository id, name or URL (default: all).
        #[arg(long)]
        repository: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// What a file imports and what imports it, transitively up to --depth.
    Dependencies {
        /// The file, relative to the repository root.
        path: String,
        /// A repository id, name or URL (needed when several are indexed).
        #[arg(long)]
        repository: Option<String>,
        /// dependencies, dependents or both.
        #[arg(long, default_value = "both")]
        direction: String,
        #[arg(long, default_value_t = 1)]
        depth: u32,
        #[arg(long)]
        json: bool,
    },
    /// List the registered repositories.
    Repositories {
        #[arg(long)]
        json: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; prints it once, alone on the last line.
    Create {
        #[arg(long, value_parser = ["free", "solo", "team"])]
        tier: String,
        /// Organization name (created if missing; default: the local organization).
        #[arg(long)]
        org: Option<String>,
        /// A label for the key.
        #[arg(long, default_value = "")]
        name: String,
        /// A Supabase user (an auth.users id) who becomes a member of the organization.
        #[arg(long)]
        user: Option<String>,
        /// The key can read but not register, re-index or delete.
        #[arg(long)]
        read_only: bool,
    },
    /// List keys (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by its key_id (the third part of kota_{tier}_{key_id}_{secret}).
    Revoke { key_id: String },
}

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// The text (or regex with --regex, or symbol pattern with --symbols) to find.
    pub query: String,
    /// Treat the query as a regular expression (Rust regex syntax, as ripgrep).
    #[arg(long)]
    pub regex: bool,
    /// Case-insensitive.
    #[arg(short = 'i', long = "ignore-case")]
    pub ignore_case: bool,
    /// Only paths matching this glob (a glob without '/' matches file names).
    #[arg(long)]
    pub path: Option<String>,
    /// Only files of this language.
    #[arg(long = "lang")]
    pub language: Option<String>,
    /// Maximum results.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// A repository id, name or URL (default: all).
    #[arg(long)]
    pub repository: Option<String>,
    /// Print the JSON body the REST API returns.
    #[arg(long)]
    pub json: bool,
    /// Search symbol names instead of code.
    #[arg(long)]
    pub symbols: bool,
    /// With --symbols: only this kind (function, class, struct, ...).
    #[arg(long)]
    pub kind: Option<String>,
}

/// `println!` that returns an error instead of panicking when stdout is closed
/// (`kotadb search foo | head`); `main` treats a broken pipe as success.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// Opens the configured database: Postgres when DATABASE_URL is a `postgres://` (or
/// `postgresql://`) URL, else the embedded SQLite database in the data directory.
pub async fn open_store(config: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(url) = config.database_url.as_ref().map(|u| u.expose()) {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // The error names the host (StoreError::Unreachable), never the URL.
            let store = PostgresStore::open(url)
                .await
                .context("opening the Postgres database (DATABASE_URL)")?;
            return Ok(Arc::new(store));
        }
    }
    let path = config.data().database();
    let store = SqliteStore::open(&path)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    Ok(Arc::new(store))
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command {
        Command::Serve(args) => serve::serve(&config, args).await,
        Command::Mcp { stdio, serve: args } => {
            if !stdio {
                bail!("kotadb mcp speaks only stdio: run `kotadb mcp --stdio` (HTTP clients use /mcp of `kotadb serve`)");
            }
            serve::mcp_stdio(&config, args).await
        }
        Command::Keys(command) => keys(&config, command).await,
        Command::Jobs { limit, json } => {
            let store = open_store(&config).await?;
            let jobs = store
                .recent_jobs(&OrganizationId::local(), limit.clamp(1, 10_000))
                .await?;
            if json {
                outln!(
                    "{}",
                    serde_json::to_string(&serde_json::json!({ "jobs": jobs }))?
                );
            } else {
                for j in jobs {
                    outln!(
                        "{}\t{}\t{}\t{}\tattempts={}\t{}",
                        j.id,
                        j.repository_id,
                        j.job_type,
                        j.status,
                        j.attempts,
                        j.error.unwrap_or_default()
                    );
                }
            }
            Ok(())
        }
        Command::Index {
            source,
            name,
            branch,
        } => index(&config, &source, name, branch).await,
        Command::Search(args) => search(&config, args).await,
        Command::References {
            symbol,
            repository,
            limit,
            json,
        } => {
            let service = local_service(&config).await?;
            let body = answers::ReferencesBody {
                symbol,
                repository,
                limit: Some(limit.clamp(1, answers::MAX_RECORD_LIMIT)),
            };
            let response = service
                .find_references(&OrganizationId::local(), &body)
                .await?;
            if json {
                outln!("{}", serde_json::to_string(&response)?);
            } else {
                for r in response.results {
                    outln!("{}:{}:{}\t{}", r.path, r.line, r.column, r.kind);
                }
            }
            Ok(())
        }
        Command::Dependencies {
            path,
            repository,
            direction,
            depth,
            json,
        } => {
            let service = local_service(&config).await?;
            let org = OrganizationId::local();
            let repository = match repository {
                Some(selector) => selector,
                None => {
                    let all = service.repositories(&org).await?;
                    let [only] = all.as_slice() else {
                        bail!(
                            "{} repositories are indexed: name one with --repository",
                            all.len()
                        );
                    };
                    only.repository.id.0.clone()
                }
            };
            let direction: answers::Direction = serde_json::from_value(serde_json::Value::String(
                direction.clone(),
            ))
            .map_err(|_| {
                anyhow::anyhow!(
                    "--direction must be dependencies, dependents or both, not {direction:?}"
                )
            })?;
            let body = answers::DependenciesBody {
                repository,
                path,
                direction,
                depth,
            };
            let response = service.dependencies(&org, &body).await?;
            if json {
                outln!("{}", serde_json::to_string(&response)?);
            } else {
                for r in response.results {
                    outln!("{}\t{}\t{}", r.depth, r.direction, r.path);
                }
            }
            Ok(())
        }
        Command::Repositories { json } => {
            let store = open_store(&config).await?;
            let repositories = store.repositories(&OrganizationId::local()).await?;
            if json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "repositories": repositories })
                    )?
                );
            } else {
                for r in repositories {
                    outln!("{}\t{}\t{}\t{}", r.id, r.name, r.status, r.git_url);
                }
            }
            Ok(())
        }
        Command::Migrate => {
            open_store(&config).await?;
            outln!("migrations applied");
            Ok(())
        }
    }
}

struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn start(&self, files: u64, _bytes: u64) {
        self.0.set_length(files);
    }
    fn advance(&self, files: u64) {
        self.0.inc(files);
    }
}

async fn index(
    config: &Settings,
    input: &str,
    name: Option<String>,
    branch: Option<String>,
) -> anyhow::Result<()> {
    let _lock = config
        .data()
        .lock_for_writing(&format!("kotadb index (pid {})", std::process::id()))?;
    let store = open_store(config).await?;
    let org = OrganizationId::local();
    let base = config.git_base()?;
    let source = Source::parse(input, &base, true)?;
    let url = source.url();
    let (repository, created) = match store.repository_by_url(&org, &url).await? {
        Some(existing) => (existing, false),
        None => {
            let name = name.unwrap_or_else(|| crate::service::default_name(&url));
            let new = NewRepository {
                name,
                git_url: url,
                default_branch: branch.clone(),
            };
            (store.create_repository(&org, new).await?, true)
        }
    };
    let analyzer = Arc::new(Analyzer::new());
    let settings = crate::indexer::IndexSettings::from_settings(config, 0);
    let indexer = Indexer::new(Arc::clone(&store), analyzer, config.data(), settings)?;
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos}/{len} files {wide_bar} {elapsed_precise}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let progress = Arc::new(Bar(bar.clone()));
    let result = indexer.index(&repository, branch, progress).await;
    bar.finish_and_clear();
    let (summary, _) = match result {
        Ok(done) => done,
        Err(error) => {
            // A repository registered by this very run that could not be indexed (not a
            // git repository, no commits, unreachable) must not stay behind as a
            // never-indexed entry; everything under its fresh id was made by this run.
            if created {
                let _ = store.delete_repository(&org, &repository.id).await;
                let _ = std::fs::remove_dir_all(config.data().index(&repository.id));
                let _ = std::fs::remove_dir_all(config.data().clone(&repository.id));
            }
            return Err(error.into());
        }
    };
    let mb = summary.bytes_indexed as f64 / 1e6;
    outln!(
        "indexed {} at {}: {} files ({} {}, {} deleted), {:.1} MB, {} symbols, {} references in {:.2} s ({:.1} MB/s); index {:.1} MB; id {}",
        repository.name,
        &summary.commit[..summary.commit.len().min(12)],
        summary.files,
        summary.files_indexed,
        if summary.full { "read, full" } else { "changed" },
        summary.files_deleted,
        mb,
        summary.symbols,
        summary.references,
        summary.seconds,
        if summary.seconds > 0.0 { mb / summary.seconds } else { 0.0 },
        summary.index_bytes as f64 / 1e6,
        repository.id,
    );
    // Closing checkpoints the write-ahead log into the database file and removes it;
    // a process that just exits can leave a WAL as large as the whole run behind.
    store.close().await;
    Ok(())
}

/// The service's operations for the CLI's read commands: the same code REST and MCP
/// run, on the saved snapshots, without workers.
async fn local_service(config: &Settings) -> anyhow::Result<Service> {
    Ok(Service::new(
        open_store(config).await?,
        Workers::None,
        ServiceSettings {
            git_base: config.git_base()?,
            public_url: String::new(),
            webhook_key: crate::settings::Secret::new(""),
        },
        config.data(),
        None,
    ))
}

async fn search(config: &Settings, args: SearchArgs) -> anyhow::Result<()> {
    let service = local_service(config).await?;
    let org = OrganizationId::local();
    if args.symbols {
        let body = answers::SymbolSearchBody {
            pattern: args.query.clone(),
            kind: args.kind.clone(),
            repository: args.repository.clone(),
            limit: Some(u32::try_from(args.limit).unwrap_or(u32::MAX)),
        };
        let response = service.search_symbols(&org, &body).await?;
        if args.json {
            outln!("{}", serde_json::to_string(&response)?);
        } else {
            for s in response.results {
                outln!(
                    "{}:{}-{}\t{}\t{}",
                    s.path,
                    s.line_start,
                    s.line_end,
                    s.kind,
                    s.name
                );
            }
        }
        return Ok(());
    }
    let body = CodeSearchBody {
        query: args.query,
        repository: args.repository,
        regex: args.regex,
        case_sensitive: !args.ignore_case,
        path: args.path,
        language: args.language,
        limit: args.limit,
    };
    let response = service.search_code(&org, &body).await?;
    if args.json {
        outln!("{}", serde_json::to_string(&response)?);
    } else {
        use std::io::Write;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        for r in &response.results {
            writeln!(out, "{}:{}:{}:{}", r.path, r.line, r.column, r.text)?;
        }
        if response.truncated {
            writeln!(
                out,
                "[{} of {} matching lines shown; raise --limit]",
                response.results.len(),
                response.total
            )?;
        }
        if let Some(notice) = &response.notice {
            writeln!(out, "[{notice}]")?;
        }
    }
    Ok(())
}

async fn keys(config: &Settings, command: KeysCommand) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    match command {
        KeysCommand::Create {
            tier,
            org,
            name,
            user,
            read_only,
        } => {
            let tier = crate::store::Tier::parse(&tier)
                .ok_or_else(|| anyhow::anyhow!("unknown tier {tier:?}"))?;
            let user_id = user
                .map(|text| {
                    uuid::Uuid::parse_str(text.trim())
                        .map(|u| u.to_string())
                        .map_err(|_| {
                            anyhow::anyhow!(
                                "--user must be a Supabase user id (a UUID), not {text:?}"
                            )
                        })
                })
                .transpose()?;
            let org = match org {
                Some(name) => store.ensure_organization(&name).await?,
                None => OrganizationId::local(),
            };
            let created = crate::keys::create(
                store.as_ref(),
                &org,
                crate::keys::NewKey {
                    tier,
                    name,
                    permissions: if read_only {
                        crate::store::Permissions::READ_ONLY
                    } else {
                        crate::store::Permissions::READ_WRITE
                    },
                    is_admin: false,
                    user_id,
                },
            )
            .await?;
            outln!(
                "created {} key {} for organization {}",
                tier.name(),
                created.record.key_id,
                org.0
            );
            outln!("{}", created.text);
        }
        KeysCommand::List { json } => {
            let mut all = Vec::new();
            for org in store.organizations().await? {
                all.extend(store.keys(&org).await?);
            }
            if json {
                outln!(
                    "{}",
                    serde_json::to_string(&serde_json::json!({ "keys": all }))?
                );
            } else {
                for k in all {
                    let state = if k.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    outln!(
                        "{}\t{}\t{}\t{}\t{}\tused {} times",
                        k.key_id,
                        k.tier.name(),
                        state,
                        k.organization_id,
                        k.name,
                        k.usage_count
                    );
                }
            }
        }
        KeysCommand::Revoke { key_id } => {
            let key = store
                .key(&key_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no key {key_id:?}"))?;
            store
                .revoke_key(&OrganizationId(key.organization_id.clone()), &key_id)
                .await?;
            outln!("revoked {key_id}");
        }
    }
    Ok(())
}
