//! Code search is differential-tested: for every query, `kotadb search` must report
//! exactly the lines (and first-match columns) that ripgrep reports over a checkout of
//! the same commit, and, for a subset, exactly what a plain line scan written here finds.
//!
//! The corpus mixes a few hundred real source files copied from this machine
//! (`/usr/include`, the Python standard library) with hostile ones: a 1 MB minified line,
//! Latin-1, CRLF, UTF-8 and UTF-16 byte-order marks, binaries, empty files, odd paths,
//! symlinks inside and outside the repository, hidden directories.

mod common;

use common::{rg_columns, set_difference, GitRepo, Kotadb};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Planted in most hostile files; rare enough to occur nowhere else.
const NEEDLE: &str = "kotadb_needle_7f3a";

/// A committed, indexed corpus.
struct Corpus {
    repo: GitRepo,
    kotadb: Kotadb,
}

/// Regular files under `root`, recursively, sorted, relative to `root`.
fn files_under(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path().strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Copies about `want` files of at most `max_bytes` from `from` into `to/`, spread evenly
/// over the sorted listing so the choice is deterministic; returns how many were copied.
fn copy_sample(
    repo: &GitRepo,
    from: &Path,
    to: &str,
    want: usize,
    max_bytes: u64,
    keep: impl Fn(&Path) -> bool,
) -> usize {
    let candidates: Vec<_> = files_under(from)
        .into_iter()
        .filter(|p| keep(p))
        .filter(|p| std::fs::metadata(from.join(p)).is_ok_and(|m| m.len() <= max_bytes))
        .collect();
    let step = (candidates.len() / want.max(1)).max(1);
    let mut copied = 0;
    for path in candidates.iter().step_by(step).take(want) {
        if let Ok(bytes) = std::fs::read(from.join(path)) {
            repo.write(Path::new(to).join(path), bytes);
            copied += 1;
        }
    }
    copied
}

fn utf16le_with_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// The corpus, built and indexed once per run of this test binary.
fn corpus() -> &'static Corpus {
    static CORPUS: std::sync::OnceLock<Corpus> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| build_corpus(&common::shared_fixture_dir("search_differential")))
}

fn build_corpus(dir: &Path) -> Corpus {
    let repo = GitRepo::new_in(dir);

    // Real code: C headers, their `sys/` directory at the root (for the `sys/*.h` glob),
    // and Python modules.
    let mut real = copy_sample(
        &repo,
        Path::new("/usr/include"),
        "include",
        220,
        200_000,
        |_| true,
    );
    real += copy_sample(
        &repo,
        Path::new("/usr/include/x86_64-linux-gnu/sys"),
        "sys",
        40,
        200_000,
        |_| true,
    );
    let python = std::fs::read_dir("/usr/lib")
        .map(|entries| {
            let mut dirs: Vec<_> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("python3."))
                })
                .collect();
            dirs.sort();
            dirs
        })
        .unwrap_or_default();
    if let Some(dir) = python.first() {
        real += copy_sample(&repo, dir, "python", 120, 200_000, |p| {
            p.extension().is_some_and(|e| e == "py")
                && !p.starts_with("site-packages")
                && !p.starts_with("dist-packages")
        });
    }
    assert!(
        real >= 100,
        "expected real source files under /usr/include and /usr/lib/python3.*; copied {real}"
    );

    // A minified bundle: one 1 MB line, the needle near its end, no final newline.
    let mut minified = "var a=function(b){return b->c::d};".repeat(1_000_000 / 35);
    minified.push_str(&format!("window.{NEEDLE}=1;x.y()"));
    repo.write("web/bundle.min.js", minified);

    repo.write(
        "enc/latin1.txt",
        b"caf\xe9 au lait\nna\xefve caf\xc9 \xfc kotadb_needle_7f3a\nplain cafe\n",
    );
    repo.write(
        "enc/crlf.c",
        format!("#include <stdio.h>\r\nint main(void)\r\n{{\r\n  return 0; // {NEEDLE}\r\n}}\r\n"),
    );
    repo.write(
        "enc/bom.py",
        format!("\u{FEFF}import os\n{NEEDLE} = 'café'\n"),
    );
    repo.write(
        "enc/utf16.txt",
        utf16le_with_bom(&format!(
            "{NEEDLE} first\nΑλφα Ünïcode café\r\nsecond line {NEEDLE}\n"
        )),
    );
    repo.write(
        "bin/blob.bin",
        [
            b"\x7fELF\x00\x01\x02 ".as_slice(),
            NEEDLE.as_bytes(),
            b"\ninclude\n",
        ]
        .concat(),
    );
    // A NUL after 100 KB: ripgrep reports the lines of the first 64 KiB buffer only.
    let mut late = format!("{NEEDLE} early\n")
        .repeat(100_000 / 25)
        .into_bytes();
    late.extend_from_slice(b"\x00 binary tail kotadb_needle_7f3a\n");
    repo.write("bin/late_nul.log", late);
    repo.write("empty.txt", b"");
    repo.write(
        "no_newline.h",
        format!("#define LAST_ONE 1\n#define LAST {NEEDLE}"),
    );
    repo.write(
        "dir with spaces/file name.txt",
        format!("literal a.b(c)* here and {NEEDLE}\nab.b(c)* not\n"),
    );
    repo.write(
        "ünï/cødé.c",
        format!("int ü = 1; /* Ü CAFÉ café */ // {NEEDLE}\n"),
    );
    repo.write("-weird.txt", "-> :: foobaz barbaz bazbar\nx->y a|bc\n");
    repo.write(
        "colon:in:name.txt",
        format!("{NEEDLE} in a path with colons\n"),
    );
    repo.write(
        "a/b/c/d/e/f/g/h/i/j/deep.txt",
        format!("ABC_123 xyyz yz {NEEDLE}\n\n\nspin_lock(&l);\n"),
    );
    repo.write("greek.txt", "αβγ Δ kotadb\nplain\nΣίσυφος\n");
    repo.write("include_upper/OLD.H", "#define OLD_HEADER 1\nint old;\n");
    repo.write(
        "pkg/util.py",
        format!("def helper(self):\n    return '{NEEDLE}'\n"),
    );
    repo.write(
        "pkg/stubs.pyi",
        "def helper(self) -> str: ...\nimport typing\n",
    );
    repo.write("pkg/gui.pyw", "import tkinter\ndef run(self): pass\n");
    repo.write(
        ".hidden/secret.py",
        format!("def hidden(self): return '{NEEDLE}'\n"),
    );
    repo.write(
        ".github/workflows/ci.yml",
        format!("run: cargo test # {NEEDLE}\n"),
    );
    repo.symlink("links/inside.c", "../ünï/cødé.c");
    repo.symlink("links/outside", "/etc/passwd");
    repo.commit("corpus");

    let kotadb = Kotadb::new_in(dir);
    kotadb.index(repo.path());
    Corpus { repo, kotadb }
}

/// One search, as kotadb and ripgrep are asked for it.
#[derive(Clone, Copy)]
struct Case {
    query: &'static str,
    regex: bool,
    ignore_case: bool,
    path: Option<&'static str>,
    lang: Option<&'static str>,
}

const fn literal(query: &'static str) -> Case {
    Case {
        query,
        regex: false,
        ignore_case: false,
        path: None,
        lang: None,
    }
}

const fn regex(query: &'static str) -> Case {
    Case {
        query,
        regex: true,
        ignore_case: false,
        path: None,
        lang: None,
    }
}

impl Case {
    const fn i(self) -> Case {
        Case {
            ignore_case: true,
            ..self
        }
    }
    const fn path(self, glob: &'static str) -> Case {
        Case {
            path: Some(glob),
            ..self
        }
    }
    const fn lang(self, lang: &'static str) -> Case {
        Case {
            lang: Some(lang),
            ..self
        }
    }

    fn kotadb_args(&self) -> Vec<&'static str> {
        let mut args = Vec::new();
        if self.regex {
            args.push("--regex");
        }
        if self.ignore_case {
            args.push("-i");
        }
        if let Some(glob) = self.path {
            args.extend(["--path", glob]);
        }
        if let Some(lang) = self.lang {
            args.extend(["--lang", lang]);
        }
        args
    }

    /// The same search for ripgrep. A kotadb glob follows .gitignore rules (without '/'
    /// it matches the file name anywhere, with '/' the whole path from the root), which
    /// is what `rg -g` does. Languages are detected by extension, case-insensitively.
    fn rg_flags(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        if !self.regex {
            flags.push("-F");
        }
        if self.ignore_case {
            flags.push("-i");
        }
        if let Some(glob) = self.path {
            flags.extend(["-g", glob]);
        }
        match self.lang {
            None => {}
            Some("c") => flags.extend(["--glob-case-insensitive", "-g", "*.c", "-g", "*.h"]),
            Some("python") => flags.extend([
                "--glob-case-insensitive",
                "-g",
                "*.py",
                "-g",
                "*.pyi",
                "-g",
                "*.pyw",
            ]),
            Some(other) => panic!("no rg mapping for language {other}"),
        }
        flags
    }

    fn describe(&self) -> String {
        format!("kotadb search {:?} -- {:?}", self.kotadb_args(), self.query)
    }
}

/// `(path, line) -> column` from kotadb's JSON, checking the answer is complete (not
/// truncated, `total` = number of results), in path then line order, without repeats.
fn kotadb_columns(
    case: &Case,
    body: &serde_json::Value,
    problems: &mut Vec<String>,
) -> BTreeMap<(String, u64), u64> {
    let results = body["results"].as_array().expect("results array");
    let mut got = BTreeMap::new();
    let mut order = Vec::new();
    for r in results {
        let key = (
            r["path"].as_str().expect("path").to_string(),
            r["line"].as_u64().expect("line"),
        );
        order.push(key.clone());
        if got
            .insert(key.clone(), r["column"].as_u64().expect("column"))
            .is_some()
        {
            problems.push(format!("{}: line {key:?} reported twice", case.describe()));
        }
    }
    if !order.windows(2).all(|w| w[0] < w[1]) {
        problems.push(format!(
            "{}: results are not in path, line order",
            case.describe()
        ));
    }
    if body["truncated"] != serde_json::json!(false) {
        problems.push(format!(
            "{}: truncated is {} with --limit 100000",
            case.describe(),
            body["truncated"]
        ));
    }
    if body["total"].as_u64() != Some(results.len() as u64) {
        problems.push(format!(
            "{}: total {} but {} results",
            case.describe(),
            body["total"],
            results.len()
        ));
    }
    got
}

/// Compares lines and columns; pushes a readable description of any difference.
fn compare(
    case: &Case,
    oracle: &str,
    got: &BTreeMap<(String, u64), u64>,
    expected: &BTreeMap<(String, u64), u64>,
    problems: &mut Vec<String>,
) {
    if expected.is_empty() {
        // Every case is chosen to match in the corpus: an empty oracle proves nothing.
        problems.push(format!(
            "{}: {oracle} finds nothing; the case proves nothing",
            case.describe()
        ));
    }
    let got_lines: BTreeSet<_> = got.keys().cloned().collect();
    let expected_lines: BTreeSet<_> = expected.keys().cloned().collect();
    if let Some(diff) = set_difference(&got_lines, &expected_lines, 20) {
        problems.push(format!(
            "{}: {} lines from kotadb, {} from {oracle}\n{diff}",
            case.describe(),
            got_lines.len(),
            expected_lines.len()
        ));
    }
    let wrong_columns: Vec<_> = got
        .iter()
        .filter_map(|(key, column)| match expected.get(key) {
            Some(want) if want != column => Some((key.clone(), *column, *want)),
            _ => None,
        })
        .collect();
    if !wrong_columns.is_empty() {
        problems.push(format!(
            "{}: {} columns differ from {oracle} ((path, line), kotadb, {oracle}), first 20: {:?}",
            case.describe(),
            wrong_columns.len(),
            &wrong_columns[..wrong_columns.len().min(20)]
        ));
    }
}

/// Runs every case through kotadb and rg; panics listing every difference at once.
fn assert_agrees_with_rg(cases: &[Case]) {
    let corpus = corpus();
    let mut problems = Vec::new();
    for case in cases {
        let body = corpus.kotadb.search_json(case.query, &case.kotadb_args());
        let got = kotadb_columns(case, &body, &mut problems);
        let expected = rg_columns(corpus.repo.path(), case.query, &case.rg_flags());
        compare(case, "rg", &got, &expected, &mut problems);
    }
    assert!(
        problems.is_empty(),
        "{} of {} queries disagree with rg:\n\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n\n")
    );
}

const LITERALS: &[Case] = &[
    literal("include"),
    literal("return"),
    literal(NEEDLE),
    literal("->"),
    literal("::"),
    literal("#include <"),
    literal("a.b(c)*"),
    literal("x"),
    literal("if"),
    literal(");"),
    literal("café"),
    literal("ü"),
    literal("__init__"),
    literal("\t"),
    literal("a|bc"),
    literal("Σίσυφος"),
];

const CASE_INSENSITIVE: &[Case] = &[
    literal("café").i(),
    literal("ü").i(),
    literal("Include").i(),
    literal("KOTADB_NEEDLE_7F3A").i(),
    literal("x").i(),
    literal("Self").i(),
    literal("ΣΊΣΥΦΟΣ").i(),
    regex(r"errno\w*").i(),
    regex(r"^#\s*DEFINE\s+\w+").i(),
];

const REGEXES: &[Case] = &[
    regex(r"\w+_lock\("),
    regex(r"^#define\s+\w+"),
    regex(r"(foo|bar)baz"),
    regex(r"[A-Z]{3,}_[0-9]+"),
    regex(r"x?y+z"),
    // `$` matches every line: more than the 100000 a search may return, so per directory.
    regex(r"$").path("*.txt"),
    regex(r"$").path("enc/*"),
    regex(r"^$"),
    regex(r"\r$"),
    regex(r"\bint\b"),
    regex(r"a|bc|def"),
    regex(r"[[:upper:]][[:digit:]]{2}"),
    regex(r"def .*\(self"),
    regex(r"kotadb.*$"),
    regex(r"\p{Greek}+"),
    regex(r"[^\x00-\x7F]"),
    regex(r"\d{4,}"),
    regex(r"^\s*#\s*if(def|ndef)?\b"),
    regex(r"café|ü"),
    regex(r"(?i)errno"),
    regex(r"struct\s+\w+\s*\{"),
    regex(r"[a-z]+\.[a-z]+\("),
];

const GLOBS: &[Case] = &[
    literal("include").path("*.h"),
    literal("define").path("sys/*.h"),
    literal("def").path("**/*.py"),
    literal(NEEDLE).path("*.txt"),
    literal("int").path("include/*.h"),
    literal(NEEDLE).path("**/deep.txt"),
    regex(r"^#define\s+\w+").i().path("*.h"),
];

const LANGUAGES: &[Case] = &[
    literal("int").lang("c"),
    literal("import").lang("python"),
    regex(r"def \w+\(self").lang("python"),
    literal("OLD").i().lang("c"),
];

#[test]
fn literal_search_finds_exactly_the_lines_rg_finds() {
    assert_agrees_with_rg(LITERALS);
}

#[test]
fn case_insensitive_search_finds_exactly_the_lines_rg_i_finds() {
    assert_agrees_with_rg(CASE_INSENSITIVE);
}

#[test]
fn regex_search_finds_exactly_the_lines_rg_finds() {
    assert_agrees_with_rg(REGEXES);
}

#[test]
fn path_globs_select_the_same_files_as_rg_globs() {
    assert_agrees_with_rg(GLOBS);
}

#[test]
fn language_filter_selects_the_same_files_as_rg_extension_globs() {
    assert_agrees_with_rg(LANGUAGES);
}

/// The text a plain reader takes from a file, by the rules ripgrep follows: a UTF-8 BOM
/// is dropped, UTF-16 with a BOM is decoded, and a NUL ends the text at the start of the
/// 64 KiB read buffer that holds it (cut back to the last complete line; so a NUL in the
/// first 64 KiB means no text at all).
fn plain_text(bytes: &[u8]) -> Vec<u8> {
    let decoded: Vec<u8> = if let Some(body) = bytes.strip_prefix(b"\xFF\xFE".as_slice()) {
        decode_utf16(body, u16::from_le_bytes)
    } else if let Some(body) = bytes.strip_prefix(b"\xFE\xFF".as_slice()) {
        decode_utf16(body, u16::from_be_bytes)
    } else {
        bytes
            .strip_prefix(b"\xEF\xBB\xBF".as_slice())
            .unwrap_or(bytes)
            .to_vec()
    };
    match decoded.iter().position(|&b| b == 0) {
        None => decoded,
        Some(nul) => {
            let buffer_start = nul - nul % (64 * 1024);
            match decoded[..buffer_start].iter().rposition(|&b| b == b'\n') {
                Some(last) => decoded[..=last].to_vec(),
                None => Vec::new(),
            }
        }
    }
}

fn decode_utf16(body: &[u8], unit: fn([u8; 2]) -> u16) -> Vec<u8> {
    let units = body
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| unit([c[0], c[1]]));
    let mut text: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    if body.len() % 2 == 1 {
        text.push(char::REPLACEMENT_CHARACTER);
    }
    text.into_bytes()
}

/// Every tracked regular file (no symlinks), each line (split on '\n', terminator
/// excluded) matched on its own: `(path, line) -> column of the first match`.
fn plain_scan(repo: &GitRepo, case: &Case) -> BTreeMap<(String, u64), u64> {
    let pattern = if case.regex {
        case.query.to_string()
    } else {
        regex::escape(case.query)
    };
    let matcher = regex::bytes::RegexBuilder::new(&pattern)
        .case_insensitive(case.ignore_case)
        .build()
        .expect("pattern compiles");
    let mut out = BTreeMap::new();
    for raw in repo.tracked_paths() {
        let full = repo.path().join(std::ffi::OsStr::from_bytes(&raw));
        let meta = std::fs::symlink_metadata(&full).expect("tracked file exists");
        if meta.file_type().is_symlink() || !meta.is_file() {
            continue;
        }
        let text = plain_text(&std::fs::read(&full).expect("readable"));
        let path = String::from_utf8_lossy(&raw).into_owned();
        let body = text.strip_suffix(b"\n").unwrap_or(&text);
        if text.is_empty() {
            continue;
        }
        for (index, line) in body.split(|&b| b == b'\n').enumerate() {
            if let Some(m) = matcher.find(line) {
                out.insert((path.clone(), index as u64 + 1), m.start() as u64 + 1);
            }
        }
    }
    out
}

#[test]
fn search_agrees_with_a_plain_line_scan_of_the_tracked_files() {
    let corpus = corpus();
    let cases = [
        literal(NEEDLE),
        literal("include"),
        literal("->"),
        literal("a.b(c)*"),
        literal("x"),
        literal("café"),
        literal("ü").i(),
        literal("KOTADB_NEEDLE_7F3A").i(),
        regex(r"^#define\s+\w+"),
        regex(r"x?y+z"),
        regex(r"^$"),
        regex(r"kotadb.*$"),
        regex(r"\r$"),
        regex(r"\bint\b"),
        regex(r"a|bc|def"),
        regex(r"\p{Greek}+"),
        regex(r"[A-Z]{3,}_[0-9]+"),
    ];
    let mut problems = Vec::new();
    for case in &cases {
        let body = corpus.kotadb.search_json(case.query, &case.kotadb_args());
        let got = kotadb_columns(case, &body, &mut problems);
        compare(
            case,
            "plain scan",
            &got,
            &plain_scan(&corpus.repo, case),
            &mut problems,
        );
    }
    assert!(
        problems.is_empty(),
        "{} of {} queries disagree with the plain scan:\n\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n\n")
    );
}

#[test]
fn limit_keeps_the_first_matches_in_path_line_order_and_reports_the_true_total() {
    let corpus = corpus();
    let expected = rg_columns(corpus.repo.path(), "include", &["-F"]);
    assert!(
        expected.len() > 5,
        "the corpus should have many lines with 'include'"
    );
    let output = corpus
        .kotadb
        .cmd_ok(["search", "--json", "--limit", "5", "--", "include"]);
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let got: Vec<(String, u64)> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let first_five: Vec<(String, u64)> = expected.keys().take(5).cloned().collect();
    assert_eq!(
        got, first_five,
        "--limit 5 must return the first five matching lines in path, line order"
    );
    assert_eq!(body["truncated"], serde_json::json!(true));
    assert_eq!(
        body["total"].as_u64(),
        Some(expected.len() as u64),
        "total counts every matching line"
    );
}

#[test]
fn hostile_files_are_searched_as_text_and_binaries_and_symlinks_are_not() {
    let corpus = corpus();
    let body = corpus.kotadb.search_json(NEEDLE, &[]);
    let paths: BTreeSet<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    for found in [
        "web/bundle.min.js",
        "enc/latin1.txt",
        "enc/crlf.c",
        "enc/bom.py",
        "enc/utf16.txt",
        "bin/late_nul.log",
        "no_newline.h",
        "dir with spaces/file name.txt",
        "ünï/cødé.c",
        "colon:in:name.txt",
        "a/b/c/d/e/f/g/h/i/j/deep.txt",
        "pkg/util.py",
        ".hidden/secret.py",
        ".github/workflows/ci.yml",
    ] {
        assert!(
            paths.contains(found),
            "the needle in {found} was not found; found in {paths:?}"
        );
    }
    for absent in ["bin/blob.bin", "links/inside.c", "links/outside"] {
        assert!(
            !paths.contains(absent),
            "{absent} is binary or a symlink and must not be searched"
        );
    }
    let minified = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "web/bundle.min.js")
        .unwrap();
    let text = minified["text"].as_str().unwrap();
    assert!(
        text.contains(NEEDLE) && text.len() < 1_000,
        "a 1 MB line is shown cut around the match: {} bytes",
        text.len()
    );
    let passwd = corpus.kotadb.search_json("root:x:0:0:", &[]);
    assert_eq!(
        passwd["total"],
        serde_json::json!(0),
        "a symlink to /etc/passwd must not expose its content"
    );
}

/// Minimal reproduction: the column of a match that ends at `$` must be where rg puts it
/// (before the line terminator), not column 1 or one past the '\n'.
#[test]
fn end_anchored_regex_reports_the_column_rg_reports() {
    let repo = GitRepo::new();
    repo.write("f.txt", "#include <stdio.h>\r\nab\n");
    repo.commit("one file");
    let kotadb = Kotadb::new();
    kotadb.index(repo.path());
    for pattern in [r"\r$", r"b$", r"$", r"a.*$"] {
        let body = kotadb.search_json(pattern, &["--regex"]);
        let got: Vec<(u64, u64)> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["line"].as_u64().unwrap(), r["column"].as_u64().unwrap()))
            .collect();
        let expected: Vec<(u64, u64)> = rg_columns(repo.path(), pattern, &[])
            .into_iter()
            .map(|((_, line), column)| (line, column))
            .collect();
        assert_eq!(got, expected, "(line, column) for regex {pattern:?}");
    }
}
