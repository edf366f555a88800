//! The checks of one search request over the corpus index, shared by `search_request`
//! (every facet at once) and `path_glob` (the path and language filters, with simple
//! queries). What is checked is listed in `fuzz_targets/search_request.rs`.

use crate::corpus::{self, File};
use crate::glob::{self, GlobInput};
use crate::{lines_of, note_caught_panic, reference_regex};
use arbitrary::Arbitrary;
use kotadb::engine::lang::Language;
use kotadb::engine::search::{CompiledSearch, SearchError, SearchRequest, MAX_QUERY_BYTES};
use kotadb::engine::segment::TextCache;
use kotadb::engine::snapshot::Snapshot;
use std::sync::OnceLock;

pub const LANGUAGE_NAMES: &[&str] = &[
    "rust",
    "rs",
    "python",
    "py",
    "javascript",
    "js",
    "jsx",
    "typescript",
    "ts",
    "tsx",
    "go",
    "golang",
    "c",
    "cpp",
    "c++",
    "cxx",
    "java",
    "ruby",
    "rb",
    "csharp",
    "c#",
    "cs",
    "php",
    " Rust ",
    "PYTHON",
    "Go",
    "TSX",
    "markdown",
    "",
    "C",
];

#[derive(Arbitrary, Debug)]
pub enum LanguageInput {
    None,
    Known(u8),
    Raw(String),
}

impl LanguageInput {
    pub fn name(&self) -> Option<String> {
        match self {
            LanguageInput::None => None,
            LanguageInput::Known(i) => {
                Some(LANGUAGE_NAMES[*i as usize % LANGUAGE_NAMES.len()].to_string())
            }
            LanguageInput::Raw(s) => Some(s.clone()),
        }
    }
}

/// A request as the targets make it.
#[derive(Debug)]
pub struct Request {
    pub query: String,
    pub regex: bool,
    pub case_sensitive: bool,
    pub use_cache: bool,
    /// Mapped: 65534 is 0, 65535 is beyond MAX_LIMIT, n is n % 200 + 1.
    pub limit: u16,
    pub language: LanguageInput,
    pub path: Option<GlobInput>,
}

pub struct World {
    pub snapshot: Snapshot,
    pub files: Vec<File>,
    pub cache: TextCache,
}

pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| World {
        snapshot: corpus::snapshot(),
        files: corpus::live_files(),
        cache: TextCache::new(4 << 20),
    })
}

/// One request's checks (see the crate's targets for what is checked).
pub fn check(input: Request) {
    let world = world();
    let query = input.query.clone();
    let (glob_text, glob_meaning) = match &input.path {
        None => (None, None),
        Some(g) => {
            let (text, meaning) = glob::render(g);
            (Some(text), meaning)
        }
    };
    let language = input.language.name();
    // Mostly valid limits (an exhausted input reads 0: limit 1), sometimes 0 or beyond MAX_LIMIT.
    let limit = match input.limit {
        65534 => 0,
        65535 => kotadb::engine::search::MAX_LIMIT + 1,
        n => (n % 200) as usize + 1,
    };
    let request = SearchRequest {
        query: query.clone(),
        regex: input.regex,
        case_sensitive: input.case_sensitive,
        path: glob_text.clone(),
        language: language.clone(),
        limit,
    };
    let compiled = match CompiledSearch::new(&request) {
        Ok(compiled) => compiled,
        Err(error) => {
            let message = error.to_string();
            if message.contains("could not be compiled (") {
                note_caught_panic(&message);
            }
            // Refusals that must not happen: a plain literal with no filters.
            let plain = !input.regex
                && !query.is_empty()
                && !query.contains('\n')
                && query.len() <= MAX_QUERY_BYTES
                && (1..=kotadb::engine::search::MAX_LIMIT).contains(&limit);
            if plain
                && glob_text.as_deref().is_none_or(str::is_empty)
                && language.as_deref().is_none_or(str::is_empty)
            {
                panic!("literal request refused: {request:?}: {error}");
            }
            if let SearchError::UnknownLanguage(name) = &error {
                assert!(
                    Language::parse(name).is_none(),
                    "{name:?} refused but parses"
                );
            }
            return;
        }
    };
    assert!(!query.is_empty() && (1..=kotadb::engine::search::MAX_LIMIT).contains(&limit));
    let Some(reference) = reference_regex(&query, input.regex, input.case_sensitive) else {
        // KotaDB (grep-regex) accepted what the regex crate refuses (size limits): nothing to compare.
        return;
    };
    let language = language.as_deref().filter(|l| !l.is_empty()).map(|l| {
        Language::parse(l).unwrap_or_else(|| panic!("language {l:?} accepted but does not parse"))
    });

    // Which files the filters admit, by the reference rules.
    let glob_text = glob_text.filter(|g| !g.is_empty());
    let mirror = match (&glob_text, &glob_meaning) {
        (Some(g), None) => match glob::mirror(g) {
            Some(m) => Some(m),
            // KotaDB accepted a glob globset refuses: impossible by construction.
            None => panic!("glob {g:?} accepted by KotaDB but globset refuses it"),
        },
        _ => None,
    };
    let admitted = |path: &str| -> bool {
        if language.is_some_and(|l| Language::from_path(path) != Some(l)) {
            return false;
        }
        match (&glob_text, &glob_meaning, &mirror) {
            (None, _, _) => true,
            (Some(g), Some(meaning), _) => glob::reference_matches(g, meaning, path),
            (Some(g), None, Some(m)) => glob::mirror_matches(g, m, path),
            (Some(_), None, None) => unreachable!(),
        }
    };

    let cache = input.use_cache.then_some(&world.cache);
    let found = match compiled.run(&world.snapshot, cache) {
        Ok(found) => found,
        Err(error) => panic!("search failed on a good index: {error}"),
    };

    // Naive scan.
    let mut expected_total = 0u64;
    for (path, text) in &world.files {
        if !admitted(path) {
            continue;
        }
        for line in lines_of(text) {
            if reference.is_match(line) {
                expected_total += 1;
            }
        }
    }

    // Every result is a real match.
    let mut previous: Option<(&str, u64)> = None;
    for m in &found.matches {
        let Some((path, text)) = world.files.iter().find(|(p, _)| *p == m.path) else {
            panic!("result in a file that is not live: {m:?}");
        };
        assert!(
            admitted(path),
            "result in a filtered-out file: {m:?} for {request:?}"
        );
        let lines = lines_of(text);
        assert!(
            m.line >= 1 && (m.line as usize) <= lines.len(),
            "no such line: {m:?}"
        );
        let line = lines[m.line as usize - 1];
        let Some(hit) = reference.find(line) else {
            panic!("line does not match: {m:?} for {request:?}");
        };
        assert_eq!(
            m.column,
            hit.start() as u64 + 1,
            "column of {m:?} for {request:?}"
        );
        assert_eq!(
            m.text,
            kotadb::engine::text::display_line(line, hit.start()),
            "text of {m:?}"
        );
        if line.len() <= kotadb::engine::text::MAX_LINE_TEXT {
            let body = line.strip_suffix(b"\r").unwrap_or(line);
            assert_eq!(
                m.text,
                String::from_utf8_lossy(body),
                "short line shown whole"
            );
        }
        if let Some(previous) = previous {
            assert!(
                previous < (m.path.as_str(), m.line),
                "results out of order or repeated: {previous:?} then {m:?}"
            );
        }
        previous = Some((m.path.as_str(), m.line));
    }
    assert_eq!(
        found.total,
        expected_total,
        "total differs from a naive scan for {request:?} (plan {:?})",
        compiled.plan()
    );
    assert_eq!(
        found.matches.len() as u64,
        expected_total.min(limit as u64),
        "results vs limit"
    );
}
