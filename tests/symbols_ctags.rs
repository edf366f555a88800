//! Differential test of symbol extraction against universal-ctags.
//!
//! Builds a corpus at test time from files already on the machine (about 150 C headers
//! from /usr/include, about 100 Python modules from the newest /usr/lib/python3.*, about
//! 150 Rust files from the crates cargo downloaded to build this project) and from npm
//! packages installed at test time into `target/ctags-npm` (the JavaScript sources of
//! undici, about 150 TypeScript sources of rxjs, mobx and zod: see [`NPM_PACKAGES`]),
//! runs our [`Analyzer`] and `ctags` on the same files, and compares per kind the sets
//! of (path, name, line). Recall = share of ctags' tags we also report (same path, name,
//! line and kind category); precision = share of ours that ctags also reports.
//!
//! Our line for a symbol is `line_start` (start of the definition node); ctags reports
//! the line of the tag name. They agree for almost everything except definitions whose
//! name is not on the first line (e.g. a C function with its return type on its own line).
//!
//! Run with `cargo test --test symbols_ctags -- --nocapture` for the per-kind table.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use kotadb::engine::lang::Language;
use kotadb::engine::parse::Analyzer;

const MAX_FILE_BYTES: u64 = 200 * 1024;
const C_TARGET: usize = 150;
const PY_TARGET: usize = 100;
const RUST_TARGET: usize = 150;
const JS_TARGET: usize = 150;
const TS_TARGET: usize = 150;

/// npm packages whose published tarballs carry real modern source, at exact versions so
/// that the measured recall stays put. Installed with `npm install --no-save` into
/// `target/ctags-npm` on first use (a rerun finds them there and skips npm).
/// * undici: Node's HTTP client, plain modern JavaScript (CommonJS) full of `#private`
///   fields and methods, class fields, static members, getters and setters and
///   symbol-named (`[kFoo]`) methods; its `lib/` is the JavaScript corpus.
/// * rxjs, mobx, zod: ship their TypeScript sources (`src/`) beside the compiled output:
///   overloaded functions (rxjs), `declare global`/`declare module`, getters and setters
///   (mobx, zod), abstract classes and static members (zod).
const NPM_PACKAGES: &[(&str, &str)] = &[
    ("undici", "7.30.2"),
    ("rxjs", "7.8.2"),
    ("mobx", "6.15.0"),
    ("zod", "4.6.7"),
];
const JS_SOURCES: &[&str] = &["undici/lib"];
const TS_SOURCES: &[&str] = &["rxjs/src", "mobx/src", "zod/src"];

/// Minimum recall per (language, ctags kind): the value measured on Debian 12
/// (/usr/include, python3.11; 158 headers, 110 modules; npm packages below) rounded down to 5%, and one
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
/// JavaScript (undici 7.30.2, 109 files) and TypeScript (rxjs, mobx, zod: 165 files),
/// measured with universal-ctags 5.9.0. Low or missing thresholds, all from ctags' quirks:
/// * javascript/class (49%): ctags also calls an object literal assigned to a name a class
///   (`const STATES = {..}`, `module.exports = {..}`, even a local `const options = {..}`)
///   and a function using `this` (a constructor function); we report every `class`.
/// * javascript/field (65%): ctags also tags as fields the names of
///   `module.exports = { a, b }` and, after a class with private members, the parameters
///   and locals of its methods; every miss is one of those.
/// * javascript/constant (84%), javascript/variable (60%), typescript/constant (24%),
///   typescript/variable (21%): ctags reports the `const`/`let` of function bodies (and
///   `for (const x of ..)`) too; we keep locals out, as for every language.
/// * typescript/method (89%): ctags tags construct signatures (`new (): T`) as methods
///   named `new`, and some statements (`if`) after code it misreads.
/// * typescript/property (95%, set at 90%): the misses are members of an interface the
///   TypeScript grammar fails to parse (mobx's generic object method `box<T = any>()`
///   spoils the declaration around it) and ctags reading binary literals as names.
/// * typescript/enum, enumerator, namespace: no threshold, the sample has none or one.
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
    ("javascript", "class", 0.45),
    ("javascript", "method", 0.95),
    ("javascript", "function", 0.95),
    ("javascript", "field", 0.60),
    ("javascript", "constant", 0.80),
    ("javascript", "variable", 0.55),
    ("typescript", "class", 0.95),
    ("typescript", "interface", 0.95),
    ("typescript", "alias", 0.95),
    ("typescript", "function", 0.95),
    ("typescript", "method", 0.85),
    ("typescript", "property", 0.90),
    ("typescript", "constant", 0.20),
    ("typescript", "variable", 0.15),
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
        // ctags' getters, setters and generator methods count as methods, its generator
        // functions as functions (see `run_ctags`).
        ("javascript" | "typescript", "class") => Some("class"),
        ("javascript" | "typescript", "method") => Some("method"),
        ("javascript" | "typescript", "function") => Some("function"),
        ("javascript" | "typescript", "constant") => Some("constant"),
        ("javascript" | "typescript", "variable") => Some("variable"),
        ("javascript", "field") => Some("field"),
        ("typescript", "property") => Some("property"),
        ("typescript", "interface") => Some("interface"),
        ("typescript", "type") => Some("alias"),
        ("typescript", "enum") => Some("enum"),
        ("typescript", "enumerator") => Some("enumerator"),
        // ctags has no module kind: `declare module "x"` and `namespace N` are namespaces.
        ("typescript", "namespace" | "module") => Some("namespace"),
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
        // Not compared: ctags' "property" in JavaScript (every key of an object literal).
        "javascript" => &[
            "class", "method", "function", "field", "constant", "variable",
        ],
        "typescript" => &[
            "class",
            "interface",
            "alias",
            "enum",
            "enumerator",
            "namespace",
            "function",
            "method",
            "property",
            "constant",
            "variable",
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
            // Test suites are not the library's own source (zod ships its tests in src/).
            if ["js", "ts"].contains(&ext) && is_test_dir(&path) {
                continue;
            }
            collect(&path, ext, out);
        } else if ft.is_file() && path.extension().and_then(|e| e.to_str()) == Some(ext) {
            if let Ok(meta) = entry.metadata() {
                if meta.len() > 0 && meta.len() <= MAX_FILE_BYTES {
                    if ext == "h" && looks_like_cpp(&path) {
                        continue;
                    }
                    if ["js", "ts"].contains(&ext) && !is_handwritten_source(&path) {
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

fn is_test_dir(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    ["test", "tests", "__tests__"].contains(&name.as_ref())
}

/// A JavaScript/TypeScript file written by hand: not a declaration file (`.d.ts`), not
/// minified (`.min.js`) and not generated or bundled (undici's `llhttp-wasm.js` is a
/// base64 blob on one line): no line longer than 1000 bytes.
fn is_handwritten_source(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    if name.ends_with(".d.ts") || name.contains(".min.") || name.contains(".bundle.") {
        return false;
    }
    std::fs::read(path).is_ok_and(|bytes| bytes.split(|&b| b == b'\n').all(|l| l.len() <= 1000))
}

/// `target/ctags-npm/node_modules` holding [`NPM_PACKAGES`] (`common::npm_install`).
fn npm_modules() -> PathBuf {
    common::npm_install("ctags-npm", NPM_PACKAGES)
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
        Language::JavaScript => "JavaScript",
        Language::TypeScript => "TypeScript",
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
        // ctags names anonymous structs/enums "__anonXXXX", and anonymous JavaScript
        // classes and functions (`export default class {}`, callbacks) "AnonymousClassXXXX"
        // and "AnonymousFunctionXXXX"; we have no name for them.
        if ["__anon", "AnonymousClass", "AnonymousFunction"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            continue;
        }
        let in_class = matches!(v["scopeKind"].as_str(), Some("class" | "interface"));
        let kind = match (force, kind) {
            ("Rust", "method") => "function",
            ("JavaScript", "getter" | "setter") => "method",
            ("JavaScript" | "TypeScript", "generator") if in_class => "method",
            ("JavaScript" | "TypeScript", "generator") => "function",
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
        for mut s in analysis.symbols {
            // ctags' JavaScript parser names a private member `#x` without its `#` (its
            // TypeScript parser keeps it, as we do).
            if language == Language::JavaScript {
                s.name = s.name.trim_start_matches('#').to_string();
            }
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

/// Prints up to eight tags (`CTAGS_SAMPLES=n`: n), each with where the other side has
/// the same name in the same file (`kind@line`).
fn print_samples<'a>(
    tags: impl Iterator<Item = &'a Tag>,
    other_side: &str,
    other: &BTreeMap<String, BTreeSet<Tag>>,
) {
    let limit = std::env::var("CTAGS_SAMPLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(8);
    for (p, n, l) in tags.take(limit) {
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
        // `CTAGS_SAMPLES=n` shows n samples of every kind's extras and misses.
        let all = std::env::var_os("CTAGS_SAMPLES").is_some();
        if row.precision < 0.95 || all {
            println!("  {language}/{kind}: sample extras (we have, ctags doesn't):");
            print_samples(mine.difference(theirs), "ctags", ctags);
        }
        if row.recall < 0.95 || all {
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
    // Files with the extension under `root`'s folders `sources` (all of `root` for `[""]`).
    let mut sample =
        |language: Language, root: &Path, sources: &[&str], ext: &str, target: usize| {
            let mut files = Vec::new();
            for source in sources {
                collect(&root.join(source), ext, &mut files);
            }
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
    sample(Language::C, Path::new("/usr/include"), &[""], "h", C_TARGET);
    let pylib = newest_python_lib().expect("no /usr/lib/python3.* on this machine");
    sample(Language::Python, &pylib, &[""], "py", PY_TARGET);
    // Rust: the crates cargo downloaded to build this project.
    let registry =
        cargo_registry_sources().expect("no crate sources under CARGO_HOME/registry/src");
    sample(Language::Rust, &registry, &[""], "rs", RUST_TARGET);
    let modules = npm_modules();
    sample(Language::JavaScript, &modules, JS_SOURCES, "js", JS_TARGET);
    sample(Language::TypeScript, &modules, TS_SOURCES, "ts", TS_TARGET);

    println!("\ncorpus: {}", corpora.join(", "));
    println!(
        "{:<10} {:<11} {:>6} {:>6} {:>7} {:>7} {:>9} {:>6} {:>8}",
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
            "{:<10} {:<11} {:>6} {:>6} {:>7} {:>6.1}% {:>8.1}% {:>5.0}% {:>7.1}%",
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
