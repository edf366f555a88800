//! Times `Analyzer::analyze` per file over a directory tree (single thread) and prints
//! the totals per language and the slowest files. A tool for tuning the query files:
//! `cargo run --release --example parse_profile -- DIR [TOP]`.

use std::time::Instant;

use kotadb::engine::lang::Language;
use kotadb::engine::parse::Analyzer;

fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && entry.file_name() != ".git" {
            walk(&entry.path(), out);
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = std::path::PathBuf::from(args.next().ok_or("usage: parse_profile DIR [TOP]")?);
    let top: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(15);
    let started = Instant::now();
    let analyzer = Analyzer::new();
    eprintln!("queries compiled in {:?}", started.elapsed());
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut timings = Vec::new();
    let mut per_language: std::collections::BTreeMap<&str, (usize, u64, f64, usize, usize)> =
        Default::default();
    for path in files {
        let relative = path.strip_prefix(&root)?.to_string_lossy().into_owned();
        let Some(language) = Language::from_path(&relative) else {
            continue;
        };
        let Ok(source) = std::fs::read(&path) else {
            continue;
        };
        let t = Instant::now();
        let analysis = analyzer.analyze(language, &source);
        let seconds = t.elapsed().as_secs_f64();
        let entry = per_language.entry(language.name()).or_default();
        entry.0 += 1;
        entry.1 += source.len() as u64;
        entry.2 += seconds;
        if let Ok(a) = &analysis {
            entry.3 += a.symbols.len();
            entry.4 += a.references.len();
        }
        timings.push((seconds, source.len(), relative));
    }
    for (language, (files, bytes, seconds, symbols, references)) in &per_language {
        println!(
            "{language}: {files} files, {:.1} MB, {seconds:.2} s, {:.2} MB/s, {symbols} symbols, {references} references",
            *bytes as f64 / 1e6,
            *bytes as f64 / 1e6 / seconds
        );
    }
    timings.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (seconds, bytes, path) in timings.iter().take(top) {
        println!("{:8.1} ms {:9} B {path}", seconds * 1e3, bytes);
    }
    Ok(())
}
