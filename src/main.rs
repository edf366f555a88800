//! The `kotadb` binary: parses arguments and hands over to `kotadb::cli`.

use clap::Parser;

/// Indexing allocates and frees millions of small tree nodes and rows on several threads;
/// mimalloc does that with less time in the allocator than glibc's malloc (measured in
/// BENCHMARKS.md: about 7% less CPU for a full index, a third of it in tree-sitter).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// tree-sitter's C core allocates through its own hooks; these route it to mimalloc too.
/// tree-sitter requires that they never return null for a non-zero size (its default
/// hooks abort on exhaustion, and so do these).
mod tree_sitter_alloc {
    use std::ffi::c_void;

    fn checked(ptr: *mut c_void, size: usize) -> *mut c_void {
        if ptr.is_null() && size != 0 {
            std::process::abort();
        }
        ptr
    }

    pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
        // SAFETY: plain allocation; the result is checked.
        checked(unsafe { libmimalloc_sys::mi_malloc(size) }, size)
    }

    pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
        // SAFETY: as above; mi_calloc checks `count * size` for overflow.
        checked(
            unsafe { libmimalloc_sys::mi_calloc(count, size) },
            count.saturating_mul(size),
        )
    }

    pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
        // SAFETY: tree-sitter only passes pointers it got from these hooks.
        checked(unsafe { libmimalloc_sys::mi_realloc(ptr, size) }, size)
    }

    pub unsafe extern "C" fn free(ptr: *mut c_void) {
        // SAFETY: as above.
        unsafe { libmimalloc_sys::mi_free(ptr) }
    }

    /// Installs the hooks. Must run before any other tree-sitter call.
    pub fn install() {
        // SAFETY: called first thing in `main`, before any tree-sitter object exists and
        // before any thread that could use tree-sitter is started; the four functions
        // belong to one allocator (mimalloc), whose alignment is at least malloc's.
        unsafe {
            tree_sitter::set_allocator(Some(tree_sitter::Allocator {
                malloc,
                calloc,
                realloc,
                free,
            }));
        }
    }
}

fn main() -> std::process::ExitCode {
    // Before the runtime starts any thread.
    tree_sitter_alloc::install();
    init_logging();
    let cli = kotadb::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("kotadb: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(kotadb::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kotadb: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs on stderr, filtered by `RUST_LOG` (default `warn`): human-readable lines, or one
/// JSON object per line with the current span (request id, job id) when
/// `KOTADB_LOG_FORMAT=json` (the Docker image's default). Read here, before the command
/// line, because logging starts before anything else.
fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("KOTADB_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init();
    } else {
        builder.init();
    }
}

/// A reader that closed our stdout early (`| head`) is not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
