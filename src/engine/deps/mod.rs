//! Import resolution: which repository files an import statement refers to, and walks over
//! the resulting dependency graph.
//!
//! The resolver is pure and synchronous on purpose: the indexer calls it for every import of
//! every file of repositories with 100k files, so everything it needs (the path list and the few
//! configuration files that change resolution) is indexed once in [`Resolver::new`] and each
//! [`Resolver::resolve`] is a handful of hash lookups. It never touches the file system itself,
//! which also makes it trivially testable with in-memory path lists.
//!
//! Guiding rule: a wrong edge is worse than a missing one (it sends users to the wrong file and
//! pollutes "who depends on this"), so every rule declines to answer when it is ambiguous.
//! Repository content is untrusted: specs and configuration files may be huge, malformed or try
//! to escape the repository with `..`; nothing here panics on them and no result ever lies
//! outside the indexed path list.
//!
//! One submodule per language family holds that family's rules and their tests: `js`, `python`,
//! `rust`, `c`, `go`, `jvm` (Java, C#) and `ruby_php`; `config` parses the configuration files
//! some of them depend on (and defines [`Resolver::is_config_path`]), and `graph` walks the
//! resulting edges ([`Walk`]). Path helpers shared by several languages live here.

use std::collections::{HashMap, HashSet};

use crate::engine::lang::Language;
use crate::engine::model::{Import, ImportKind};

mod c;
mod config;
mod go;
mod graph;
mod js;
mod jvm;
mod python;
mod ruby_php;
mod rust;

use config::{GoModule, Psr4, TsConfig};
pub use graph::Walk;

/// Specs longer than this are not real imports; refusing them bounds the work per import.
const MAX_SPEC_LEN: usize = 1024;

/// Resolves imports against one commit's path list. Cheap to query, immutable once built, so
/// it can be shared between indexing threads.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    files: HashSet<String>,
    dirs: HashSet<String>,
    /// Directory ("" for the root) -> files directly in it, sorted.
    dir_files: HashMap<String, Vec<String>>,
    /// Directory -> names of its direct subdirectories.
    dir_children: HashMap<String, Vec<String>>,
    /// File name -> every path with that name, sorted: suffix searches (Java, PHP, C include
    /// directories) start from here instead of scanning all paths.
    by_name: HashMap<String, Vec<String>>,
    /// Directory name -> every directory with that name, sorted.
    dirs_by_name: HashMap<String, Vec<String>>,
    /// Last two path components ("b/C.java") -> files, so suffix searches for common file
    /// names (`index.php`, `Utils.java`) stay a single short list scan.
    by_tail: HashMap<String, Vec<String>>,
    /// Last two path components -> directories.
    dirs_by_tail: HashMap<String, Vec<String>>,
    /// Path below any directory named `include` ("lib/api.h") -> the files it names.
    include_files: HashMap<String, Vec<String>>,
    /// Directory -> the effective tsconfig/jsconfig found in it (after `extends`).
    ts_configs: HashMap<String, TsConfig>,
    /// Python source roots in search order.
    python_roots: Vec<String>,
    /// First module component -> indexes into `python_roots` where something of that name exists.
    python_top: HashMap<String, Vec<usize>>,
    /// Go modules, longest module path first so nested modules win.
    go_modules: Vec<GoModule>,
    /// PSR-4 prefixes from every composer.json, longest namespace prefix first.
    psr4: Vec<Psr4>,
}

impl Resolver {
    /// `paths`: every file path of the repository at one commit (repository-relative,
    /// '/'-separated). `read` returns the bytes of a repository file; it is only asked for the
    /// configuration files that change resolution (see [`Resolver::is_config_path`]), so the
    /// caller can serve it from the object store without a checkout.
    pub fn new<'a>(
        paths: impl IntoIterator<Item = &'a str>,
        read: &dyn Fn(&str) -> Option<Vec<u8>>,
    ) -> Resolver {
        let mut r = Resolver::default();
        for path in paths {
            // Paths that are not plain normalised relative paths could make joins ambiguous
            // or escape the root; the indexer never produces them, so dropping them is safe.
            if !is_clean_path(path) || r.files.contains(path) {
                continue;
            }
            r.files.insert(path.to_string());
            let dir = parent(path);
            r.dir_files
                .entry(dir.to_string())
                .or_default()
                .push(path.to_string());
            r.by_name
                .entry(file_name(path).to_string())
                .or_default()
                .push(path.to_string());
            if let Some(tail) = tail_key(path) {
                r.by_tail
                    .entry(tail.to_string())
                    .or_default()
                    .push(path.to_string());
            }
            let mut up = dir;
            while !up.is_empty() {
                if file_name(up) == "include" {
                    let below = &path[up.len() + 1..];
                    r.include_files
                        .entry(below.to_string())
                        .or_default()
                        .push(path.to_string());
                }
                up = parent(up);
            }
            let mut d = dir;
            while r.dirs.insert(d.to_string()) {
                if d.is_empty() {
                    break;
                }
                let up = parent(d);
                r.dir_children
                    .entry(up.to_string())
                    .or_default()
                    .push(file_name(d).to_string());
                r.dirs_by_name
                    .entry(file_name(d).to_string())
                    .or_default()
                    .push(d.to_string());
                if let Some(tail) = tail_key(d) {
                    r.dirs_by_tail
                        .entry(tail.to_string())
                        .or_default()
                        .push(d.to_string());
                }
                d = up;
            }
        }
        for list in r
            .dir_files
            .values_mut()
            .chain(r.by_name.values_mut())
            .chain(r.dirs_by_name.values_mut())
            .chain(r.by_tail.values_mut())
            .chain(r.dirs_by_tail.values_mut())
            .chain(r.include_files.values_mut())
            .chain(r.dir_children.values_mut())
        {
            list.sort();
        }
        r.index_ts_configs(read);
        r.index_python_roots();
        r.index_go_modules(read);
        r.index_composer(read);
        r
    }

    /// The repository files an import of `from_path` refers to; empty when it is external (a
    /// package, the standard library, a system header not in the repository) or ambiguous.
    /// Sorted, deduplicated, never contains `from_path`.
    pub fn resolve(&self, from_path: &str, language: Language, import: &Import) -> Vec<String> {
        let spec = import.spec.trim();
        if spec.is_empty() || spec.len() > MAX_SPEC_LEN || spec.contains('\0') {
            return Vec::new();
        }
        use ImportKind as K;
        use Language as L;
        let mut found = match (language, import.kind) {
            (L::JavaScript | L::TypeScript | L::Tsx, K::Path | K::Module) => {
                self.resolve_js(from_path, spec)
            }
            (L::Python, K::Module) => self.resolve_python(from_path, spec),
            (L::Rust, K::RustMod) => self.resolve_rust_mod(from_path, spec),
            (L::Rust, K::Module) => self.resolve_rust_use(from_path, spec),
            (L::C | L::Cpp, K::IncludeLocal) => self.resolve_include(from_path, spec, true),
            (L::C | L::Cpp, K::IncludeSystem) => self.resolve_include(from_path, spec, false),
            (L::Go, K::Module | K::Path) => self.resolve_go(from_path, spec),
            (L::Java, K::Module) => self.resolve_java(spec),
            (L::CSharp, K::Module) => self.resolve_csharp(spec),
            (L::Ruby, K::Path) => self.resolve_ruby_relative(from_path, spec),
            (L::Ruby, K::Module) => self.resolve_ruby_require(spec),
            (L::Php, K::Path) => self.resolve_php_path(from_path, spec),
            (L::Php, K::Module) => self.resolve_php_use(spec),
            _ => Vec::new(),
        };
        found.retain(|p| p != from_path && self.files.contains(p));
        found.sort();
        found.dedup();
        found
    }

    fn exists(&self, path: &str) -> bool {
        self.files.contains(path)
    }

    fn first_existing<I: IntoIterator<Item = String>>(&self, candidates: I) -> Option<String> {
        candidates.into_iter().find(|c| self.exists(c))
    }

    // ---------------------------------------------------------------- suffix searches

    /// Files equal to `rel` or ending with "/" + `rel`.
    fn files_with_suffix(&self, rel: &str) -> Vec<String> {
        suffix_matches(&self.by_name, &self.by_tail, rel)
    }

    /// Directories equal to `rel` or ending with "/" + `rel`.
    fn dirs_with_suffix(&self, rel: &str) -> Vec<String> {
        suffix_matches(&self.dirs_by_name, &self.dirs_by_tail, rel)
    }
}

fn suffix_matches(
    by_name: &HashMap<String, Vec<String>>,
    by_tail: &HashMap<String, Vec<String>>,
    rel: &str,
) -> Vec<String> {
    let list = match tail_key(rel) {
        Some(tail) => by_tail.get(tail),
        None => by_name.get(rel),
    };
    list.into_iter()
        .flatten()
        .filter(|p| has_path_suffix(p, rel))
        .cloned()
        .collect()
}

/// The last two components of a path ("a/b/C.java" -> "b/C.java"); `None` for one component.
fn tail_key(path: &str) -> Option<&str> {
    let last = path.rfind('/')?;
    Some(path[..last].rfind('/').map_or(path, |i| &path[i + 1..]))
}

// -------------------------------------------------------------------- helpers

fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

fn file_name(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

fn join(dir: &str, rel: &str) -> String {
    match (dir.is_empty(), rel.is_empty()) {
        (true, _) => rel.to_string(),
        (_, true) => dir.to_string(),
        _ => format!("{dir}/{rel}"),
    }
}

/// Joins `rel` onto the repository directory `dir`, resolving "." and "..". `None` when the
/// result would leave the repository or `rel` is absolute: that is what keeps hostile specs and
/// configs from producing paths outside the path list.
fn normalize(dir: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for segment in rel.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

fn is_clean_path(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

fn is_relative_spec(spec: &str) -> bool {
    spec == "." || spec == ".." || spec.starts_with("./") || spec.starts_with("../")
}

fn has_path_suffix(path: &str, rel: &str) -> bool {
    path == rel
        || (path.len() > rel.len()
            && path.ends_with(rel)
            && path.as_bytes()[path.len() - rel.len() - 1] == b'/')
}

/// Identifier-like: what every module-name language allows in one segment (Unicode letters,
/// digits, `_`, `$` for Java). Anything else means the spec is not a name we can map.
fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

#[cfg(test)]
mod tests {
    //! Helpers for every language's tests, and tests of what [`Resolver::resolve`] guarantees
    //! whatever the language.

    use super::*;

    pub(super) fn resolver_with(paths: &[&str], files: &[(&str, &str)]) -> Resolver {
        let contents: HashMap<String, Vec<u8>> = files
            .iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect();
        Resolver::new(paths.iter().copied(), &|p: &str| contents.get(p).cloned())
    }

    pub(super) fn resolver(paths: &[&str]) -> Resolver {
        resolver_with(paths, &[])
    }

    fn import(kind: ImportKind, spec: &str) -> Import {
        Import {
            spec: spec.to_string(),
            kind,
            line: 1,
        }
    }

    pub(super) fn resolve(r: &Resolver, from: &str, kind: ImportKind, spec: &str) -> Vec<String> {
        let language = Language::from_path(from).expect("test paths have a language");
        r.resolve(from, language, &import(kind, spec))
    }

    pub(super) fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn never_returns_the_importing_file() {
        let r = resolver(&["pkg/__init__.py", "a.ts"]);
        assert!(resolve(&r, "pkg/__init__.py", ImportKind::Module, ".").is_empty());
        assert!(resolve(&r, "a.ts", ImportKind::Path, "./a").is_empty());
    }

    #[test]
    fn unclean_input_paths_are_never_results() {
        let r = resolver(&["src/a.ts", "../evil.ts", "/etc/passwd.ts", "src/./b.ts"]);
        assert!(resolve(&r, "src/a.ts", ImportKind::Path, "../../evil").is_empty());
        assert!(resolve(&r, "src/a.ts", ImportKind::Path, "./b").is_empty());
        assert!(!r.exists("/etc/passwd.ts"));
    }
}
