//! A whole search request, compiled and run over a small two-segment index.
//!
//! Covers the facets of a request at once: query text (free, snippets of regex syntax,
//! slices of the corpus), regex flag, case sensitivity, path glob (free, or built from
//! parts so the target knows its meaning), language name, limit, with or without the
//! shared text cache. Checks:
//! - `CompiledSearch::new` and `run` never panic; `run` never fails on a good index;
//! - a literal query (no line feed, within the size limit) with no filters is accepted;
//! - every result is a real match: the file is live, passes the path and language
//!   filters, the line exists and matches the `regex` crate built the same way (case
//!   folding included), at the reported column, with the line's text;
//! - nothing is missed: `total` equals a naive scan of the corpus (all lines of live files
//!   passing the filters that the reference regex matches), so the trigram plan never
//!   drops a file that has a match; results are in path/line order, unique, and exactly
//!   `min(limit, total)` of them.
#![no_main]

use arbitrary::Arbitrary;
use kotadb_fuzz::glob::GlobInput;
use kotadb_fuzz::search_check::{self, LanguageInput, Request};
use kotadb_fuzz::{render_query_or_default, run_checked, QueryPiece};
use libfuzzer_sys::fuzz_target;

/// Small fixed-size fields first: `arbitrary` gives the last field the rest of the input,
/// and fields after an exhausted input get default values (no glob, no query).
#[derive(Arbitrary, Debug)]
struct Input {
    regex: bool,
    case_sensitive: bool,
    use_cache: bool,
    limit: u16,
    language: LanguageInput,
    path: Option<GlobInput>,
    query: Vec<QueryPiece>,
}

fuzz_target!(|input: Input| run_checked(|| {
    let query = render_query_or_default(&input.query, &search_check::world().files, input.limit);
    search_check::check(Request {
        query,
        regex: input.regex,
        case_sensitive: input.case_sensitive,
        use_cache: input.use_cache,
        limit: input.limit,
        language: input.language,
        path: input.path,
    })
}));
