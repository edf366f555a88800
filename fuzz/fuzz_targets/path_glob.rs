//! The path and language filters of a search request: globs built from parts (whose
//! meaning the target states: ripgrep's `-g`, see `src/glob.rs`) or free text, language
//! names known, aliased or made up, with simple queries that match many lines, so the
//! fuzzer's effort goes into the filters. Same checks as `search_request`: every result
//! passes the filters and matches, and the total equals a naive scan of the admitted files.
#![no_main]

use arbitrary::Arbitrary;
use kotadb_fuzz::glob::GlobInput;
use kotadb_fuzz::run_checked;
use kotadb_fuzz::search_check::{self, LanguageInput, Request};
use libfuzzer_sys::fuzz_target;

/// `^` matches every line; the others some lines of most files.
const QUERIES: &[&str] = &["^", "NEEDLE", "e", "main", "(?i)x"];

#[derive(Arbitrary, Debug)]
struct Input {
    query: u8,
    language: LanguageInput,
    glob: GlobInput,
}

fuzz_target!(|input: Input| run_checked(|| {
    search_check::check(Request {
        query: QUERIES[input.query as usize % QUERIES.len()].to_string(),
        regex: true,
        case_sensitive: true,
        use_cache: false,
        limit: 199,
        language: input.language,
        path: Some(input.glob),
    })
}));
