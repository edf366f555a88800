//! Differential test of symbol extraction against universal-ctags.
//!
//! Builds a corpus at test time from files already on the machine (about 150 C headers
//! from /usr/include, about 100 Python modules from the newest /usr/lib/python3.*, about
//! 150 Rust files from the crates cargo downloaded to build this project),
//! runs our [`Analyzer`] and `ctags` on the same files, and compares per kind the sets
//! of (path, name, line). Recall = share of ctags' tags we also report (same path, name,
//! line and kind category); precision = share of ours that ctags also reports.
//!
//! Our line for a symbol is `line_start` (start of the definition node); ctags reports
//! the line of the tag name. They agree for almost everything except definitions whose
//! name is not on the first line (e.g. a C function with its return type on its own line).
//!
//! Run with `cargo test --test symbols_ctags -- --nocapture` for the per-kind table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use kotadb::engine::lang::Language;
use kotadb::engine::parse::Analyzer;

const MAX_FILE_BYTES: u64 = 200 * 1024;
const C_TARGET: usize = 150;
const PY_TARGET: usize = 100;
const RUST_TARGET: usize = 150;

/// Minimum recall per (language, ctags kind): the value measured on Debian 12
/// (/usr/include, python3.11; 158 headers, 110 modules) rounded down to 5%, and one
/// step under when the measured value was 100% or within a point of the step. One kind is
/// below 80% and is set at its measured value (rounded down) so the test guards against
/// regressions:
/// * c/variable (58% of only 12 ctags tags): declarations behind an export macro
///   (`EXSLTPUBVAR const char *v;`) parse as errors and are skipped rather than reported
///   under the macro's name (which raised precision from 2% to 54%).
///
/// rust/variable (a `static`: 83% of only 12 ctags tags) has no threshold: the misses are
/// ctags reading `&'static str` as a variable named `str`.
///
/// c/typedef was 63% until the query learned the calling-convention macro forms
/// (`typedef T (EGLAPIENTRYP PFN..PROC)(..)`) and the `typedef` swallowed by a macro line
/// above it; it is now 95.5%.
const THRESHOLDS: &[(&str, &str, f64)] = &[
    ("c", "function", 0.95),
    ("c", "macro", 0.95),
    ("c", "struct", 0.95),
    ("c", "union", 0.95),
    ("c", "enum", 0.95),
    ("c", "enumerator", 0.95),
    ("c", "typedef", 0.90),
    ("c", "member", 0.95),
    ("c", "variable", 0.55),
    ("python", "class", 0.95),
    ("python", "function", 0.95),
    ("python", "member", 0.95),
    ("python", "variable", 0.95),
    ("rust", "module", 0.95),
    ("rust", "struct", 0.95),
    ("rust", "enum", 0.95),
    ("rust", "interface", 0.95),
    ("rust", "typedef", 0.95),
    ("rust", "function", 0.95),
    ("rust", "macro", 0.95),
    ("rust", "field", 0.95),
    ("rust", "enumerator", 0.95),
];

/// Maps our kind word to ctags' kind name for a language; `None` = not compared.
fn ours_to_ctags(language: &str, kind: &str) -> Option<&'static str> {
    match (language, kind) {
        ("c", "function") => Some("function"),
        ("c", "macro") => Some("macro"),
        ("c", "struct") => Some("struct"),
        ("c", "union") => Some("union"),
        ("c", "enum") => Some("enum"),
        ("c", "enumerator") => Some("enumerator"),
        ("c", "type") => Some("typedef"),
        ("c", "field") => Some("member"),
        ("c", "variable") => Some("variable"),
        ("python", "class") => Some("class"),
        ("python", "function") => Some("function"),
        ("python", "method") => Some("member"),
        ("python", "variable") => Some("variable"),
        ("rust", "module") => Some("module"),
        ("rust", "struct") => Some("struct"),
        ("rust", "enum") => Some("enum"),
        ("rust", "trait") => Some("interface"),
        ("rust", "type") => Some("typedef"),
        // ctags calls a function in an `impl` block a method or a function depending on
        // the shape of the impl (generic, trait, attributes); both count as functions.
        ("rust", "function" | "method") => Some("function"),
        ("rust", "macro") => Some("macro"),
        // ctags' "variable" is a `static`; it has no kind for `const`.
        ("rust", "variable") => Some("variable"),
        ("rust", "field") => Some("field"),
        ("rust", "enumerator") => Some("enumerator"),
        _ => None,
    }
}

fn compared_ctags_kinds(language: &str) -> &'static [&'static str] {
    match language {
        "c" => &[
            "function",
            "macro",
            "struct",
            "union",
            "enum",
            "enumerator",
            "typedef",
            "member",
            "variable",
        ],
        "python" => &["class", "function", "member", "variable"],
        "rust" => &[
            "module",
            "struct",
            "enum",
            "interface",
            "typedef",
            "function",
            "macro",
            "variable",
            "field",
            "enumerator",
        ],
        _ => &[],
    }
}

/// All regular files under `root` with the extension, sorted, at most MAX_FILE_BYTES.
fn collect(root: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(ft) = entry.file_type() else { continue };
        let path = entry.path();
        if ft.is_dir() {
            collect(&path, ext, out);
        } else if ft.is_file() && path.extension().and_then(|e| e.to_str()) == Some(ext) {
            if let Ok(meta) = entry.metadata() {
                if meta.len() > 0 && meta.len() <= MAX_FILE_BYTES {
                    if ext == "h" && looks_like_cpp(&path) {
                        continue;
                    }
                    out.push(path);
                }
            }
        }
    }
}

/// /usr/include holds many C++ headers with a `.h` name (libstdc++, LLVM, V8, Qt...);
/// they are not C, so leave them out of the C corpus.
fn looks_like_cpp(path: &Path) -> bool {
    let text = path.to_string_lossy();
    if ["/c++/", "/llvm", "/clang", "/node/", "/qt", "/boost/"]
        .iter()
        .any(|d| text.contains(d))
    {
        return true;
    }
    let Ok(bytes) = std::fs::read(path) else {
        return true;
    };
    let src = String::from_utf8_lossy(&bytes);
    src.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("namespace ")
            || l.starts_with("template<")
            || l.starts_with("template <")
            || l.starts_with("class ")
            || l.starts_with("public:")
            || l.starts_with("private:")
    })
}

/// Every Nth file of the sorted list so that about `target` remain.
fn pick(mut files: Vec<PathBuf>, target: usize) -> Vec<PathBuf> {
    files.sort();
    let step = (files.len() / target).max(1);
    files
        .into_iter()
        .step_by(step)
        .take(target + target / 10)
        .collect()
}

/// `$CARGO_HOME/registry/src/<index>`: the sources of every crate this project builds with.
fn cargo_registry_sources() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let mut indexes: Vec<PathBuf> = std::fs::read_dir(home.join("registry/src"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    indexes.sort();
    indexes.into_iter().next()
}

fn newest_python_lib() -> Option<PathBuf> {
    let mut best: Option<(u32, PathBuf)> = None;
    for entry in std::fs::read_dir("/usr/lib").ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(minor) = name
            .strip_prefix("python3.")
            .and_then(|m| m.parse::<u32>().ok())
        {
            if best.as_ref().is_none_or(|(b, _)| minor > *b) {
                best = Some((minor, entry.path()));
            }
        }
    }
    best.map(|(_, p)| p)
}

/// Copies the files into `dir` under flattened names; returns the relative names.
fn copy_corpus(files: &[PathBuf], root: &Path, dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let mut names = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(root)
            .unwrap_or(f)
            .to_string_lossy()
            .replace('/', "__");
        if std::fs::copy(f, dir.join(&rel)).is_ok() {
            names.push(rel);
        }
    }
    names
}

type Tag = (String, String, u32); // (path, name, line)

/// Our definition spans by (ctags kind, path, name), for the line-convention diagnostic.
type Spans = BTreeMap<(String, String, String), Vec<(u32, u32)>>;

/// ctags' name for a language (for `--language-force`).
fn ctags_language(language: Language) -> &'static str {
    match language {
        Language::C => "C",
        Language::Python => "Python",
        Language::Rust => "Rust",
        other => panic!("no ctags comparison for {other}"),
    }
}

/// ctags tags by ctags kind name.
fn run_ctags(dir: &Path, names: &[String], force: &str) -> BTreeMap<String, BTreeSet<Tag>> {
    let output = Command::new("ctags")
        .current_dir(dir)
        .arg(format!("--language-force={force}"))
        .args(["--output-format=json", "--fields=+nKe", "-f", "-"])
        .args(names)
        .output()
        .expect("install universal-ctags (apt-get install universal-ctags)");
    assert!(
        output.status.success(),
        "ctags failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut tags: BTreeMap<String, BTreeSet<Tag>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["_type"] != "tag" {
            continue;
        }
        let (Some(path), Some(name), Some(kind), Some(line)) = (
            v["path"].as_str(),
            v["name"].as_str(),
            v["kind"].as_str(),
            v["line"].as_u64(),
        ) else {
            continue;
        };
        // ctags names anonymous structs/enums "__anonXXXX"; we have no name for them.
        if name.starts_with("__anon") {
            continue;
        }
        let kind = match (force, kind) {
            ("Rust", "method") => "function",
            _ => kind,
        };
        tags.entry(kind.to_string()).or_default().insert((
            path.to_string(),
            name.to_string(),
            line as u32,
        ));
    }
    tags
}

/// Our symbols, by ctags kind name.
fn run_ours(
    analyzer: &Analyzer,
    dir: &Path,
    names: &[String],
    language: Language,
    spans: &mut Spans,
) -> BTreeMap<String, BTreeSet<Tag>> {
    let mut tags: BTreeMap<String, BTreeSet<Tag>> = BTreeMap::new();
    for name in names {
        let source = std::fs::read(dir.join(name)).unwrap();
        let Ok(analysis) = analyzer.analyze(language, &source) else {
            continue;
        };
        for s in analysis.symbols {
            if let Some(kind) = ours_to_ctags(language.name(), &s.kind) {
                spans
                    .entry((kind.to_string(), name.clone(), s.name.clone()))
                    .or_default()
                    .push((s.line_start, s.line_end));
                tags.entry(kind.to_string()).or_default().insert((
                    name.clone(),
                    s.name.clone(),
                    s.line_start,
                ));
            }
        }
    }
    tags
}

struct Row {
    language: &'static str,
    kind: &'static str,
    ctags: usize,
    ours: usize,
    matched: usize,
    in_span: usize,
    recall: f64,
    precision: f64,
}

/// Prints up to eight tags, each with where the other side has the same name in the
/// same file (`kind@line`).
fn print_samples<'a>(
    tags: impl Iterator<Item = &'a Tag>,
    other_side: &str,
    other: &BTreeMap<String, BTreeSet<Tag>>,
) {
    for (p, n, l) in tags.take(8) {
        let same_name: Vec<String> = other
            .iter()
            .flat_map(|(k, set)| {
                set.iter()
                    .filter(move |(pp, nn, _)| pp == p && nn == n)
                    .map(move |(_, _, ll)| format!("{k}@{ll}"))
            })
            .collect();
        println!("    {p}:{l} {n}  {other_side}: [{}]", same_name.join(", "));
    }
}

fn compare(
    language: &'static str,
    ctags: &BTreeMap<String, BTreeSet<Tag>>,
    ours: &BTreeMap<String, BTreeSet<Tag>>,
    spans: &Spans,
    rows: &mut Vec<Row>,
) {
    let empty = BTreeSet::new();
    for &kind in compared_ctags_kinds(language) {
        let theirs = ctags.get(kind).unwrap_or(&empty);
        let mine = ours.get(kind).unwrap_or(&empty);
        let matched = theirs.intersection(mine).count();
        // Looser diagnostic: ctags' line falls inside one of our same-name definitions.
        let in_span = theirs
            .iter()
            .filter(|(p, n, l)| {
                spans
                    .get(&(kind.to_string(), p.clone(), n.clone()))
                    .is_some_and(|v| v.iter().any(|(a, b)| a <= l && l <= b))
            })
            .count();
        let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
        let row = Row {
            language,
            kind,
            ctags: theirs.len(),
            ours: mine.len(),
            matched,
            in_span,
            recall: ratio(matched, theirs.len()),
            precision: ratio(matched, mine.len()),
        };
        if row.precision < 0.95 {
            println!("  {language}/{kind}: sample extras (we have, ctags doesn't):");
            print_samples(mine.difference(theirs), "ctags", ctags);
        }
        if row.recall < 0.95 {
            // Show where the misses are: ours under another kind, same name on another
            // line, or absent altogether.
            println!("  {language}/{kind}: sample misses (ctags has, we don't):");
            print_samples(theirs.difference(mine), "ours", ours);
        }
        rows.push(row);
    }
}

#[test]
fn symbols_agree_with_ctags() {
    let version = Command::new("ctags").arg("--version").output();
    match version {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains("Universal Ctags") => {}
        _ => panic!("install universal-ctags (apt-get install universal-ctags)"),
    }

    let work = tempfile::tempdir().unwrap();
    let analyzer = Analyzer::new();
    let mut rows = Vec::new();

    let mut spans = Spans::new();
    let mut corpora = Vec::new();
    let mut sample = |language: Language, root: &Path, ext: &str, target: usize| {
        let mut files = Vec::new();
        collect(root, ext, &mut files);
        let dir = work.path().join(language.name());
        let names = copy_corpus(&pick(files, target), root, &dir);
        assert!(
            names.len() >= 50,
            "too few {language} files under {}: {}",
            root.display(),
            names.len()
        );
        let theirs = run_ctags(&dir, &names, ctags_language(language));
        let ours = run_ours(&analyzer, &dir, &names, language, &mut spans);
        compare(language.name(), &theirs, &ours, &spans, &mut rows);
        corpora.push(format!(
            "{} {language} files ({})",
            names.len(),
            root.display()
        ));
    };
    sample(Language::C, Path::new("/usr/include"), "h", C_TARGET);
    let pylib = newest_python_lib().expect("no /usr/lib/python3.* on this machine");
    sample(Language::Python, &pylib, "py", PY_TARGET);
    // Rust: the crates cargo downloaded to build this project.
    let registry =
        cargo_registry_sources().expect("no crate sources under CARGO_HOME/registry/src");
    sample(Language::Rust, &registry, "rs", RUST_TARGET);

    println!("\ncorpus: {}", corpora.join(", "));
    println!(
        "{:<7} {:<11} {:>6} {:>6} {:>7} {:>7} {:>9} {:>6} {:>8}",
        "lang", "kind", "ctags", "ours", "matched", "recall", "precision", "min", "in-span"
    );
    let mut failures = Vec::new();
    for r in &rows {
        let min = THRESHOLDS
            .iter()
            .find(|(l, k, _)| *l == r.language && *k == r.kind)
            .map(|t| t.2)
            .unwrap_or(0.0);
        println!(
            "{:<7} {:<11} {:>6} {:>6} {:>7} {:>6.1}% {:>8.1}% {:>5.0}% {:>7.1}%",
            r.language,
            r.kind,
            r.ctags,
            r.ours,
            r.matched,
            r.recall * 100.0,
            r.precision * 100.0,
            min * 100.0,
            if r.ctags == 0 {
                100.0
            } else {
                r.in_span as f64 * 100.0 / r.ctags as f64
            }
        );
        if r.recall + 1e-9 < min {
            failures.push(format!(
                "{}/{}: recall {:.1}% < {:.0}%",
                r.language,
                r.kind,
                r.recall * 100.0,
                min * 100.0
            ));
        }
    }
    assert!(failures.is_empty(), "recall below threshold: {failures:?}");
}
