//! Shared pieces of the fuzz targets: panic reporting, the small corpus searched by
//! `search_request`, structured query/glob inputs and the reference ("oracle")
//! implementations the targets compare KotaDB against.

pub mod corpus;
pub mod glob;
pub mod search_check;

use arbitrary::Arbitrary;
use std::cell::RefCell;

// ---------------------------------------------------------------------------------------
// Panics.
//
// libfuzzer-sys installs a panic hook that aborts at once, before unwinding. KotaDB runs
// the third-party compilers (regex, globset) under `catch_unwind` so that their panics
// become 400s (`search::without_panic`); with libfuzzer-sys' hook that catch could never
// run and every such panic would look like a crash. So the targets replace the hook with
// one that only records the message and a backtrace, and run their body under their own
// `catch_unwind`: a panic that escapes KotaDB is printed with its stack and aborts (a
// crash for libFuzzer); a panic KotaDB caught itself is reported once on stderr, as a
// note, and the run goes on.

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let backtrace = std::backtrace::Backtrace::force_capture();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{info}\n{backtrace}")));
        }));
    });
}

/// Runs one fuzz input's checks; a panic escaping them aborts with its message and stack.
pub fn run_checked(body: impl FnOnce()) {
    install_hook();
    LAST_PANIC.with(|p| *p.borrow_mut() = None);
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).is_err() {
        let report = LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "(no panic message recorded)".to_string());
        eprintln!("==== panic escaped (crash) ====\n{report}");
        std::process::abort();
    }
}

/// Called when KotaDB returned an error that says it caught a panic: reported once per
/// process (with the stack recorded by the hook) so that it is visible, not fatal.
pub fn note_caught_panic(what: &str) {
    static SEEN: std::sync::Once = std::sync::Once::new();
    let report = LAST_PANIC.with(|p| p.borrow_mut().take());
    SEEN.call_once(|| {
        eprintln!(
            "==== note: a third-party panic was caught by KotaDB and became an error: {what}\n{}",
            report.unwrap_or_default()
        );
    });
}

// ---------------------------------------------------------------------------------------
// Structured query text.

/// Regex fragments worth combining: operators, classes, anchors, Unicode case-folding
/// traps (KELVIN SIGN folds to `k`, LONG S to `s`, final sigma), a line feed.
pub const QUERY_SNIPPETS: &[&str] = &[
    ".",
    ".*",
    ".+",
    "\\w+",
    "\\w",
    "\\W",
    "[a-z]",
    "[A-Z]+",
    "[^x]",
    "\\s",
    "\\S",
    "\\d",
    "\\b",
    "\\B",
    "^",
    "$",
    "|",
    "(",
    ")",
    "(?:",
    "?",
    "*",
    "+",
    "{2}",
    "{1,3}",
    "{0}",
    "(?i)",
    "(?-i)",
    "(?s)",
    "(?-u)",
    "(?-u:\\w)",
    "\\p{Greek}",
    "\\p{L}",
    "[[:alpha:]]",
    "\\x{212A}",
    "ſ",
    "K",
    "σ",
    "ς",
    "Σ",
    "ß",
    "ẞ",
    "İ",
    "ı",
    "ǅ",
    "é",
    "\\xe9",
    "\\n",
    "\n",
    "\r",
    "\t",
    " ",
    "\\.",
    "\\\\",
    "[",
    "]",
    "{",
    "}",
    "fn",
    "main",
    "kotadb",
    "KotaDB",
    "value_",
    "_",
    "ab",
    "abc",
    "struct",
    "def ",
    "println!",
    "NEEDLE",
    "caf",
    "()",
    "[]",
    "a{0,0}",
    "(a|)",
    "(|a)",
    "x*y",
    "\\Qa.b\\E",
    "\\pL",
    "[\\s\\S]",
    "(?m)",
    "\\A",
    "\\z",
];

#[derive(Arbitrary, Debug, Clone)]
pub enum QueryPiece {
    /// Any text the fuzzer makes up.
    Raw(String),
    /// One of `QUERY_SNIPPETS`.
    Snippet(u8),
    /// A slice of a corpus line, so that literal searches find something.
    Slice {
        file: u8,
        line: u16,
        start: u16,
        len: u8,
    },
}

pub fn render_query(pieces: &[QueryPiece], corpus: &[(&str, Vec<u8>)]) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            QueryPiece::Raw(s) => out.push_str(s),
            QueryPiece::Snippet(i) => {
                out.push_str(QUERY_SNIPPETS[*i as usize % QUERY_SNIPPETS.len()])
            }
            QueryPiece::Slice {
                file,
                line,
                start,
                len,
            } => {
                if corpus.is_empty() {
                    continue;
                }
                let text = &corpus[*file as usize % corpus.len()].1;
                let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
                let line = lines[*line as usize % lines.len()];
                if line.is_empty() {
                    continue;
                }
                let start = *start as usize % line.len();
                let end = (start + 1 + *len as usize).min(line.len());
                out.push_str(&String::from_utf8_lossy(&line[start..end]));
            }
        }
    }
    out
}

/// Stand-ins for a query that came out empty: the last field of an input takes what the
/// fields before it left, often nothing, and an empty query only tests one refusal.
const DEFAULT_QUERIES: &[&str] = &[
    "NEEDLE", "main", "kotadb", "fn ", "value_1", "e", "\\w+\\(", "(?i)k",
];

/// `render_query`, with an empty result replaced by a stand-in unless `keep_empty`.
pub fn render_query_or_default(
    pieces: &[QueryPiece],
    corpus: &[(&str, Vec<u8>)],
    seed: u16,
) -> String {
    let query = render_query(pieces, corpus);
    if query.is_empty() && seed % 8 != 0 {
        return DEFAULT_QUERIES[seed as usize % DEFAULT_QUERIES.len()].to_string();
    }
    query
}

/// The matcher a search request means, built independently of KotaDB with the `regex`
/// crate: the query as a regex or as an escaped literal, Unicode-aware, case-insensitive
/// unless asked otherwise. Matched per line, without the line feed (grep semantics).
pub fn reference_regex(
    query: &str,
    regex: bool,
    case_sensitive: bool,
) -> Option<regex::bytes::Regex> {
    let pattern = if regex {
        query.to_string()
    } else {
        regex::escape(query)
    };
    regex::bytes::RegexBuilder::new(&pattern)
        .case_insensitive(!case_sensitive)
        .size_limit(64 << 20)
        .dfa_size_limit(64 << 20)
        .build()
        .ok()
}

/// The lines of a text as grep numbers them: split at `\n`; a final empty piece after
/// the last line feed is not a line; an empty text has no lines.
pub fn lines_of(text: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

// ---------------------------------------------------------------------------------------
// Trigram plans.

/// Whether a set of trigrams (sorted) satisfies a plan.
pub fn plan_admits(query: &kotadb::engine::trigram::Query, trigrams: &[u32]) -> bool {
    use kotadb::engine::trigram::Query;
    match query {
        Query::All => true,
        Query::None => false,
        Query::Trigram(t) => trigrams.binary_search(t).is_ok(),
        Query::And(parts) => parts.iter().all(|q| plan_admits(q, trigrams)),
        Query::Or(parts) => parts.iter().any(|q| plan_admits(q, trigrams)),
    }
}

/// The trigrams the index would store for a text: every 3-byte window without a line
/// feed, ASCII letters folded to lower case. Written here from the module's doc, not
/// taken from `distinct_trigrams`, so a bug there shows up too.
pub fn reference_trigrams(text: &[u8]) -> Vec<u32> {
    let mut out: Vec<u32> = text
        .windows(3)
        .filter(|w| !w.contains(&b'\n'))
        .map(|w| {
            (w[0].to_ascii_lowercase() as u32) << 16
                | (w[1].to_ascii_lowercase() as u32) << 8
                | w[2].to_ascii_lowercase() as u32
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}
