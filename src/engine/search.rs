//! Code search: the index narrows the candidate files, ripgrep's own matcher confirms.
//!
//! Every result is a real match found by `grep-regex`/`grep-searcher`, the crates `rg` is
//! built from, run over the same text `rg` would read (see `text`); so line numbers,
//! columns and regex semantics are ripgrep's by construction. The trigram plan (see
//! `trigram`) only ever removes files that cannot match, so nothing is missed.

use crate::engine::lang::Language;
use crate::engine::segment::TextCache;
use crate::engine::snapshot::Snapshot;
use crate::engine::text::display_line;
use crate::engine::trigram::{self, Query, Trigram};
use grep_matcher::Matcher;
use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkMatch};
use rayon::prelude::*;
use serde::Serialize;

/// The largest `limit` a caller may ask for.
pub const MAX_LIMIT: usize = 100_000;
pub const DEFAULT_LIMIT: usize = 50;
/// The longest query: far beyond any real search, small enough that compiling it is cheap.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;
/// The longest path glob, and the deepest nesting of `{a,b}` alternations in it: globset
/// recurses once per level, and a few hundred levels panic inside it.
pub const MAX_GLOB_BYTES: usize = 1024;
pub const MAX_GLOB_NESTING: usize = 8;
/// The most memory a compiled regex may take (the regex crate's own default, stated so
/// the bound is ours): a larger one is a 400, not an allocation storm.
const REGEX_SIZE_LIMIT: usize = 10 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("query is empty")]
    EmptyQuery,
    #[error("invalid regex: {0}")]
    InvalidRegex(String),
    #[error("invalid path glob: {0}")]
    InvalidGlob(String),
    #[error("query is longer than {MAX_QUERY_BYTES} bytes")]
    QueryTooLong,
    #[error("unknown language {0:?}; known: rust, python, javascript, typescript, tsx, go, c, cpp, java, ruby, csharp, php")]
    UnknownLanguage(String),
    #[error("limit must be between 1 and {MAX_LIMIT}")]
    BadLimit,
    #[error(transparent)]
    Index(#[from] crate::engine::segment::SegmentError),
}

/// What to search for, as callers (REST, MCP, CLI) state it.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: String,
    pub regex: bool,
    pub case_sensitive: bool,
    pub path: Option<String>,
    pub language: Option<String>,
    pub limit: usize,
}

impl SearchRequest {
    pub fn literal(query: &str) -> SearchRequest {
        SearchRequest {
            query: query.to_string(),
            regex: false,
            case_sensitive: true,
            path: None,
            language: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

/// A request parsed and compiled once, then run over any number of snapshots.
pub struct CompiledSearch {
    matcher: RegexMatcher,
    plan: Query,
    path: Option<PathFilter>,
    language: Option<Language>,
    pub limit: usize,
}

struct PathFilter {
    glob: globset::GlobMatcher,
    /// A glob without '/' matches the file name in any directory, as in .gitignore.
    basename_only: bool,
    /// A glob ending in '/' names directories only, so it matches no file, as
    /// `rg -g 'src/'` matches none (globset alone would let `**/` match every file).
    directories_only: bool,
}

impl PathFilter {
    fn new(glob: &str) -> Result<PathFilter, SearchError> {
        if glob.len() > MAX_GLOB_BYTES {
            return Err(SearchError::InvalidGlob(format!(
                "longer than {MAX_GLOB_BYTES} bytes"
            )));
        }
        if brace_nesting(glob) > MAX_GLOB_NESTING {
            return Err(SearchError::InvalidGlob(format!(
                "{{…}} alternations nested deeper than {MAX_GLOB_NESTING}"
            )));
        }
        let matcher = without_panic(|| {
            globset::GlobBuilder::new(glob.trim_start_matches('/'))
                .literal_separator(true)
                .build()
                .map(|g| g.compile_matcher())
                .map_err(|e| e.to_string())
        })
        .map_err(SearchError::InvalidGlob)?;
        Ok(PathFilter {
            glob: matcher,
            basename_only: !glob.contains('/'),
            directories_only: glob.ends_with('/'),
        })
    }

    fn matches(&self, path: &str) -> bool {
        if self.directories_only {
            return false;
        }
        if self.basename_only {
            self.glob.is_match(path.rsplit('/').next().unwrap_or(path))
        } else {
            self.glob.is_match(path)
        }
    }
}

/// The deepest nesting of unescaped `{` in a glob.
fn brace_nesting(glob: &str) -> usize {
    let (mut depth, mut deepest, mut escaped) = (0usize, 0usize, false);
    for c in glob.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Runs a third-party compiler (regex, glob) so that a panic inside it, on input we did
/// not foresee, is an error for the caller instead of a lost request.
fn without_panic<T>(compile: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(compile)).unwrap_or_else(|panic| {
        Err(format!(
            "could not be compiled ({})",
            crate::panic_message(panic.as_ref())
        ))
    })
}

impl CompiledSearch {
    pub fn new(request: &SearchRequest) -> Result<CompiledSearch, SearchError> {
        if request.query.is_empty() {
            return Err(SearchError::EmptyQuery);
        }
        if request.limit == 0 || request.limit > MAX_LIMIT {
            return Err(SearchError::BadLimit);
        }
        if request.query.len() > MAX_QUERY_BYTES {
            return Err(SearchError::QueryTooLong);
        }
        let case_insensitive = !request.case_sensitive;
        // Parse first: its errors point into the pattern as the user wrote it.
        let pattern = if request.regex {
            request.query.clone()
        } else {
            regex_syntax::escape(&request.query)
        };
        let hir = without_panic(|| {
            regex_syntax::ParserBuilder::new()
                .case_insensitive(case_insensitive)
                .build()
                .parse(&pattern)
                .map_err(|e| e.to_string())
        })
        .map_err(SearchError::InvalidRegex)?;
        let matcher = without_panic(|| {
            RegexMatcherBuilder::new()
                .case_insensitive(case_insensitive)
                .fixed_strings(!request.regex)
                .line_terminator(Some(b'\n'))
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build(&request.query)
                .map_err(|e| e.to_string())
        })
        .map_err(SearchError::InvalidRegex)?;
        let plan = trigram::plan(&hir);
        let path = match request.path.as_deref().filter(|p| !p.is_empty()) {
            None => None,
            Some(glob) => Some(PathFilter::new(glob)?),
        };
        let language = match request.language.as_deref().filter(|l| !l.is_empty()) {
            None => None,
            Some(name) => Some(
                Language::parse(name)
                    .ok_or_else(|| SearchError::UnknownLanguage(name.to_string()))?,
            ),
        };
        Ok(CompiledSearch {
            matcher,
            plan,
            path,
            language,
            limit: request.limit,
        })
    }

    /// The trigram condition candidates must satisfy (for tests and `--explain`).
    pub fn plan(&self) -> &Query {
        &self.plan
    }
}

/// One matching line. `line` and `column` are 1-based; `column` is the byte column of
/// the first match on the line, as `rg --column` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineMatch {
    pub path: String,
    pub line: u64,
    pub column: u64,
    pub text: String,
}

/// The matches of one snapshot, in path then line order.
#[derive(Debug, Default)]
pub struct SnapshotMatches {
    /// At most the request's limit.
    pub matches: Vec<LineMatch>,
    /// Every matching line, including those beyond the limit.
    pub total: u64,
    /// Files the index admitted and the matcher then read.
    pub candidates: usize,
}

enum DocSet {
    All,
    Ids(Vec<u32>),
}

/// Candidate text below which verification stays on the calling thread.
const PARALLEL_BYTES: u64 = 4 << 20;

/// Posting entries worth decoding to rule out one candidate block (decoding an entry
/// costs a few nanoseconds; reading a 16 KiB block costs microseconds).
const DECODE_PER_CANDIDATE: usize = 2000;

fn evaluate(query: &Query, segment: &crate::engine::segment::Segment) -> DocSet {
    match query {
        Query::All => DocSet::All,
        Query::None => DocSet::Ids(Vec::new()),
        Query::Trigram(t) => DocSet::Ids(segment.postings(*t)),
        Query::And(parts) => {
            // Trigram conditions rarest first, from the dictionary's counts (no decoding).
            // Once few blocks remain, decoding a long list costs more than reading the
            // blocks it would rule out: stop narrowing there; verification is exact anyway.
            let mut trigrams: Vec<(usize, Trigram)> = parts
                .iter()
                .filter_map(|part| match part {
                    Query::Trigram(t) => Some((segment.posting_count(*t), *t)),
                    _ => None,
                })
                .collect();
            trigrams.sort_unstable();
            let mut acc = DocSet::All;
            for (count, t) in trigrams {
                if let DocSet::Ids(ids) = &acc {
                    if ids.is_empty() || count > DECODE_PER_CANDIDATE * ids.len() {
                        break;
                    }
                }
                acc = match acc {
                    DocSet::All => DocSet::Ids(segment.postings(t)),
                    DocSet::Ids(a) => DocSet::Ids(intersect(&a, &segment.postings(t))),
                };
            }
            for part in parts.iter().filter(|p| !matches!(p, Query::Trigram(_))) {
                acc = match (acc, evaluate(part, segment)) {
                    (DocSet::All, other) | (other, DocSet::All) => other,
                    (DocSet::Ids(a), DocSet::Ids(b)) => DocSet::Ids(intersect(&a, &b)),
                };
                if matches!(&acc, DocSet::Ids(ids) if ids.is_empty()) {
                    break;
                }
            }
            acc
        }
        Query::Or(parts) => {
            let mut acc = Vec::new();
            for part in parts {
                match evaluate(part, segment) {
                    DocSet::All => return DocSet::All,
                    DocSet::Ids(ids) => acc = union(&acc, &ids),
                }
            }
            DocSet::Ids(acc)
        }
    }
}

fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut out = Vec::with_capacity(small.len());
    let mut from = 0;
    for &x in small {
        match large[from..].binary_search(&x) {
            Ok(i) => {
                out.push(x);
                from += i + 1;
            }
            Err(i) => from += i,
        }
        if from >= large.len() {
            break;
        }
    }
    out
}

fn union(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

struct Collector<'a> {
    matcher: &'a RegexMatcher,
    path: &'a str,
    /// Line number of the block's first line in its file.
    first_line: u64,
    keep: usize,
    matches: Vec<LineMatch>,
    total: u64,
}

impl Sink for Collector<'_> {
    type Error = std::io::Error;

    fn matched(
        &mut self,
        _searcher: &Searcher,
        found: &SinkMatch<'_>,
    ) -> Result<bool, Self::Error> {
        let first_line = self.first_line + found.line_number().unwrap_or(1) - 1;
        for (offset, line) in found.lines().enumerate() {
            self.total += 1;
            if self.matches.len() < self.keep {
                // Without its terminator, so that `$` (the matcher is not multi-line)
                // matches before the '\n', where `rg --column` puts it.
                let body = line.strip_suffix(b"\n").unwrap_or(line);
                let start = match self.matcher.find(body) {
                    Ok(Some(m)) => m.start(),
                    _ => 0,
                };
                self.matches.push(LineMatch {
                    path: self.path.to_string(),
                    line: first_line + offset as u64,
                    column: start as u64 + 1,
                    text: display_line(line, start),
                });
            }
        }
        Ok(true)
    }
}

fn new_searcher() -> Searcher {
    SearcherBuilder::new()
        .line_number(true)
        // Binary data was cut when the file was indexed, exactly where ripgrep stops.
        .binary_detection(BinaryDetection::none())
        .build()
}

impl CompiledSearch {
    /// Runs the search over one snapshot on the rayon pool.
    ///
    /// With a `cache`, block texts are taken from it (and added to it) instead of being
    /// decompressed for this search alone.
    pub fn run(
        &self,
        snapshot: &Snapshot,
        cache: Option<&TextCache>,
    ) -> Result<SnapshotMatches, SearchError> {
        let started = std::time::Instant::now();
        let mut candidates: Vec<(usize, u32)> = Vec::new();
        for (index, live) in snapshot.segments.iter().enumerate() {
            let ids: Box<dyn Iterator<Item = u32>> = match evaluate(&self.plan, &live.segment) {
                DocSet::All => Box::new(0..live.segment.doc_count()),
                DocSet::Ids(ids) => Box::new(ids.into_iter()),
            };
            for id in ids {
                if !live.is_live(id) {
                    continue;
                }
                let doc = live.segment.doc(id);
                if self.language.is_some_and(|l| doc.language != Some(l)) {
                    continue;
                }
                if self.path.as_ref().is_some_and(|f| !f.matches(doc.path)) {
                    continue;
                }
                candidates.push((index, id));
            }
        }
        let order = |&(segment, id): &(usize, u32)| {
            let doc = snapshot.segments[segment].segment.doc(id);
            (doc.path, doc.first_line)
        };
        candidates.sort_by(|a, b| order(a).cmp(&order(b)));
        let planned = started.elapsed();
        let keep = self.limit;
        let verify = |(searcher, buf): &mut (Searcher, Vec<u8>), &(index, id): &(usize, u32)| {
            let segment = &snapshot.segments[index].segment;
            let cached;
            let text: &[u8] = match cache {
                Some(cache) => {
                    cached = segment.cached_text(id, cache)?;
                    &cached
                }
                None => segment.text(id, buf)?,
            };
            let doc = segment.doc(id);
            let mut collector = Collector {
                matcher: &self.matcher,
                path: doc.path,
                first_line: doc.first_line as u64,
                keep,
                matches: Vec::new(),
                total: 0,
            };
            // Searching an in-memory slice cannot fail with i/o errors.
            let _ = searcher.search_slice(&self.matcher, text, &mut collector);
            Ok((collector.matches, collector.total))
        };
        // Small jobs run on the calling thread: handing a few blocks to other threads
        // costs more than reading them, and concurrent requests already fill the cores.
        let volume: u64 = candidates
            .iter()
            .map(|&(index, id)| snapshot.segments[index].segment.doc(id).text_len as u64)
            .sum();
        let per_file: Vec<Result<(Vec<LineMatch>, u64), SearchError>> = if volume < PARALLEL_BYTES {
            let mut scratch = (new_searcher(), Vec::new());
            candidates
                .iter()
                .map(|candidate| verify(&mut scratch, candidate))
                .collect()
        } else {
            candidates
                .par_iter()
                .map_init(|| (new_searcher(), Vec::new()), verify)
                .collect()
        };
        tracing::debug!(
            candidates = candidates.len(),
            plan_us = planned.as_micros() as u64,
            verify_us = (started.elapsed() - planned).as_micros() as u64,
            plan = ?self.plan,
            "search"
        );
        let mut out = SnapshotMatches {
            candidates: candidates.len(),
            ..Default::default()
        };
        for result in per_file {
            let (matches, total) = result?;
            out.total += total;
            let room = keep.saturating_sub(out.matches.len());
            out.matches.extend(matches.into_iter().take(room));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_path(glob: &str) -> SearchRequest {
        SearchRequest {
            path: Some(glob.to_string()),
            ..SearchRequest::literal("x")
        }
    }

    #[test]
    fn hostile_globs_are_errors_not_panics() {
        for glob in [
            "{".repeat(300) + &"}".repeat(300),
            "{a,".repeat(300) + &"}".repeat(300),
            "*".repeat(MAX_GLOB_BYTES + 1),
            "[".repeat(500),
            "**/{a,{b,{c,{d,{e,{f,{g,{h,{i,j}}}}}}}}}".to_string(),
        ] {
            let error = CompiledSearch::new(&with_path(&glob)).err();
            assert!(
                matches!(error, Some(SearchError::InvalidGlob(_))),
                "{glob:.40}: {error:?}"
            );
        }
        assert!(CompiledSearch::new(&with_path("src/{a,{b,c}}/*.rs")).is_ok());
    }

    /// Found by the `path_glob` fuzz target: globset lets `**/` match a file at the root,
    /// while ripgrep's `-g` treats any glob ending in '/' as directories only.
    #[test]
    fn a_glob_ending_in_a_slash_matches_no_file_as_in_ripgrep() {
        for glob in ["/**/", "**/", "src/", "/src/"] {
            let filter = PathFilter::new(glob).unwrap();
            for path in [".rs", "src/a.rs", "src/x/c.rs", "b.rs"] {
                assert!(!filter.matches(path), "{glob} matched {path}");
            }
        }
        assert!(PathFilter::new("src/**").unwrap().matches("src/x/c.rs"));
    }

    #[test]
    fn oversized_queries_and_regexes_are_errors() {
        let long = SearchRequest::literal(&"a".repeat(MAX_QUERY_BYTES + 1));
        assert!(matches!(
            CompiledSearch::new(&long),
            Err(SearchError::QueryTooLong)
        ));
        let huge = SearchRequest {
            regex: true,
            ..SearchRequest::literal(r"\w{1000}\w{1000}\w{1000}")
        };
        assert!(matches!(
            CompiledSearch::new(&huge),
            Err(SearchError::InvalidRegex(_))
        ));
        let deep = SearchRequest {
            regex: true,
            ..SearchRequest::literal(&("(".repeat(2000) + &")".repeat(2000)))
        };
        assert!(matches!(
            CompiledSearch::new(&deep),
            Err(SearchError::InvalidRegex(_))
        ));
    }
}
