//! The small index `search_request` searches: two segments written to a temporary
//! directory once per process (then unlinked: the mappings stay valid), the second one
//! replacing `src/lib.rs`, so the first segment has a dead document the search must skip.

use kotadb::engine::lang::Language;
use kotadb::engine::segment::{self, DocInput, Segment};
use kotadb::engine::snapshot::Snapshot;
use kotadb::engine::trigram::{distinct_trigrams, TrigramBitmap};
use std::sync::Arc;

/// A file of the corpus: path and text (bytes: some are not UTF-8).
pub type File = (&'static str, Vec<u8>);

fn big_c() -> Vec<u8> {
    // Three blocks of about 16 KiB; markers on lines near the block cuts.
    let mut text = Vec::new();
    for i in 1..=2400u32 {
        match i {
            1 | 999 | 1000 | 1001 | 1199 | 1200 | 2400 => {
                text.extend_from_slice(format!("/* NEEDLE at line {i} */\n").as_bytes())
            }
            _ => text.extend_from_slice(format!("int value_{i} = {i};\n").as_bytes()),
        }
    }
    text
}

fn long_js() -> Vec<u8> {
    let mut line = "x".repeat(1500);
    line.push_str("NEEDLE ünïcödé ");
    line.push_str(&"y".repeat(1500));
    format!("const a = 1;\n{line}\nconst b = 'NEEDLE';\n").into_bytes()
}

/// The files of the live snapshot (after `src/lib.rs` was replaced), sorted by path.
pub fn live_files() -> Vec<File> {
    let mut files = first_segment();
    files.retain(|(path, _)| *path != "src/lib.rs");
    files.extend(second_segment());
    files.sort_by(|a, b| a.0.cmp(b.0));
    files
}

fn first_segment() -> Vec<File> {
    vec![
        (
            "src/main.rs",
            b"use kotadb::engine;\n\nfn main() {\n    println!(\"KotaDB {}\", kotadb::VERSION);\n    let \xc5\xbftruct = \"Stra\xc3\x9fe STRASSE\";\n}\n".to_vec(),
        ),
        ("src/lib.rs", b"pub fn old_version() {}\n// OLDNEEDLE only in the dead copy\n".to_vec()),
        (
            "src/engine/search.rs",
            b"pub struct CompiledSearch;\nimpl CompiledSearch {\n\tpub fn new() -> Self { CompiledSearch }\n}\n".to_vec(),
        ),
        (
            "README.md",
            "# KotaDB\nKelvin: \u{212A}otadb and kotadb and KOTADB\n\u{03A3}\u{038A}\u{03A3}\u{03A5}\u{03A6}\u{039F}\u{03A3} \u{03C3}\u{03AF}\u{03C3}\u{03C5}\u{03C6}\u{03BF}\u{03C2}\n\u{0130}stanbul \u{0131} i I\n\u{01C5} \u{01C6} \u{01C4}\nfoo(bar) [baz] {qux} a.b a*b a+b a?b \\d $x ^y\n"
                .as_bytes()
                .to_vec(),
        ),
        ("include/x.h", b"#ifndef X_H\n#define X_H\nint x(void);\n#endif\n".to_vec()),
        ("web/App.TSX", b"export const App = () => <div>NEEDLE</div>;\n".to_vec()),
        ("app/models.py", b"class Model:\n    def save(self):\n        return NEEDLE\n".to_vec()),
        ("cmd/main.go", b"package main\n\nfunc main() {}\n".to_vec()),
        ("Weird Dir/[x]{y},z.rs", b"fn weird() { /* NEEDLE */ }\n".to_vec()),
        ("\u{00fc}mlaut/\u{00e4}.py", b"\xc3\xa4 = 'NEEDLE'\n".to_vec()),
        ("noext", b"no extension NEEDLE\n".to_vec()),
        (".rs", b"dotfile\n".to_vec()),
        ("data/latin1.txt", b"caf\xe9 na\xefve NEEDLE\n\xff\xfe\n".to_vec()),
        ("crlf.txt", b"one NEEDLE\r\ntwo\r\n\r\nthree$\r\n".to_vec()),
        ("empty.txt", Vec::new()),
        ("only-newlines.txt", b"\n\n\n".to_vec()),
        ("nonl.js", b"function f() {}\nlast line without newline NEEDLE".to_vec()),
        ("long.js", long_js()),
        ("big.c", big_c()),
    ]
}

fn second_segment() -> Vec<File> {
    vec![
        (
            "src/lib.rs",
            b"pub fn new_version() {}\n// NEEDLE in the live copy\n".to_vec(),
        ),
        (
            "lib/tool.rb",
            b"module Tool\n  def self.run; end # NEEDLE\nend\n".to_vec(),
        ),
    ]
}

fn docs(files: &[File], bitmap: &mut TrigramBitmap) -> Vec<DocInput> {
    let mut out = Vec::new();
    for (path, text) in files {
        // As the indexer cuts a file (`Indexer::process`).
        for (first_line, range) in segment::blocks(text) {
            let block = &text[range];
            out.push(DocInput {
                path: path.to_string(),
                blob_id: [0; 20],
                language: Language::from_path(path),
                first_line,
                text_len: block.len() as u32,
                compressed: lz4_flex::block::compress(block),
                trigrams: distinct_trigrams(block, bitmap),
            });
        }
    }
    out
}

/// Writes, opens and unlinks one segment.
fn segment(
    dir: &std::path::Path,
    name: &str,
    files: &[File],
    bitmap: &mut TrigramBitmap,
) -> Arc<Segment> {
    let path = dir.join(name);
    segment::write(&path, docs(files, bitmap)).expect("write segment");
    let opened = Segment::open(&path).expect("open segment");
    let _ = std::fs::remove_file(&path);
    Arc::new(opened)
}

pub fn snapshot() -> Snapshot {
    let dir = std::env::temp_dir().join(format!("kotadb-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut bitmap = TrigramBitmap::default();
    let first = segment(&dir, "one.kseg", &first_segment(), &mut bitmap);
    let second = segment(&dir, "two.kseg", &second_segment(), &mut bitmap);
    let _ = std::fs::remove_dir_all(&dir);
    Snapshot::empty()
        .apply("c1", Some(("one.kseg".into(), first)), &[])
        .apply(
            "c2",
            Some(("two.kseg".into(), second)),
            &["src/lib.rs".to_string()],
        )
}
