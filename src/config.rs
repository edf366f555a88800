//! Settings shared by every command, from flags and the environment (names in CONTRACT.md).

use std::path::PathBuf;

/// Where the service keeps its data and whom it may fetch from.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Data directory: the embedded database, clones and search indexes.
    #[arg(long, env = "KOTADB_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// A postgres:// URL selects Postgres; absent means the embedded SQLite database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,
    /// Remote repositories must be under this URL.
    #[arg(
        long,
        env = "KOTA_GIT_BASE_URL",
        default_value = "https://github.com",
        global = true
    )]
    pub git_base_url: String,
    /// Files larger than this many bytes are recorded but not searchable.
    #[arg(long, env = "KOTADB_MAX_FILE_BYTES", default_value_t = 20 << 20, global = true)]
    pub max_file_bytes: u64,
}

impl Config {
    /// The data directory's layout.
    pub fn data(&self) -> crate::layout::DataDir {
        crate::layout::DataDir::new(&self.data_dir)
    }
}
