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

use std::collections::{HashMap, HashSet};

use crate::engine::lang::Language;
use crate::engine::model::{Import, ImportKind};

/// Specs longer than this are not real imports; refusing them bounds the work per import.
const MAX_SPEC_LEN: usize = 1024;
/// Configuration files larger than this are ignored rather than parsed: real ones are tiny.
const MAX_CONFIG_BYTES: usize = 1 << 20;
/// `extends` chains deeper than this are treated as broken (they are also cycle-checked).
const MAX_EXTENDS_DEPTH: usize = 8;

/// Extensions tried for an extension-less JS/TS specifier, in the order TypeScript prefers them.
const JS_EXTENSIONS: [&str; 9] = [
    ".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts",
];

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

#[derive(Debug, Clone, Default)]
struct TsConfig {
    /// `compilerOptions.baseUrl`, as a repository directory.
    base_url: Option<String>,
    /// `compilerOptions.paths` patterns with their targets, in file order.
    paths: Vec<(String, Vec<String>)>,
    /// The directory `paths` targets are relative to: baseUrl if set, else the directory of the
    /// config file that declared `paths` (TypeScript >= 4.1 semantics).
    paths_base: String,
}

#[derive(Debug, Clone)]
struct GoModule {
    path: String,
    root: String,
}

#[derive(Debug, Clone)]
struct Psr4 {
    /// Namespace prefix without leading/trailing backslashes ("" for the catch-all prefix).
    prefix: String,
    dirs: Vec<String>,
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

    /// Whether a change to `path` can change resolution, so the caller re-resolves everything.
    /// Covers `tsconfig*.json`/`jsconfig*.json` (the usual names of `extends` bases too), go.mod
    /// and composer.json; an `extends` base with an unrelated name is not detected.
    pub fn is_config_path(path: &str) -> bool {
        let name = file_name(path);
        name == "go.mod"
            || name == "composer.json"
            || ((name.starts_with("tsconfig") || name.starts_with("jsconfig"))
                && name.ends_with(".json"))
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

    // ---------------------------------------------------------------- JavaScript / TypeScript

    fn resolve_js(&self, from: &str, spec: &str) -> Vec<String> {
        if spec.starts_with('/') || spec.contains('\\') {
            return Vec::new();
        }
        if is_relative_spec(spec) {
            let Some(target) = normalize(parent(from), spec) else {
                return Vec::new();
            };
            return self
                .js_target(&target, names_directory(spec))
                .into_iter()
                .collect();
        }
        // Bare specifiers are packages unless the nearest tsconfig/jsconfig maps them.
        let Some(config) = self.nearest_ts_config(parent(from)) else {
            return Vec::new();
        };
        if let Some((pattern, targets)) = best_paths_pattern(&config.paths, spec) {
            let captured = capture_wildcard(pattern, spec).unwrap_or("");
            for target in targets {
                let substituted = target.replacen('*', captured, 1);
                if let Some(p) = normalize(&config.paths_base, &substituted) {
                    if let Some(found) = self.js_target(&p, names_directory(&substituted)) {
                        return vec![found];
                    }
                }
            }
        }
        if let Some(base) = &config.base_url {
            if let Some(p) = normalize(base, spec) {
                return self
                    .js_target(&p, names_directory(spec))
                    .into_iter()
                    .collect();
            }
        }
        Vec::new()
    }

    /// Applies module-resolution file probing to a normalised repository path.
    fn js_target(&self, path: &str, directory_only: bool) -> Option<String> {
        if !directory_only && !path.is_empty() {
            if self.exists(path) {
                return Some(path.to_string());
            }
            // TypeScript lets ESM code import the emitted name ("./x.js") of a source "./x.ts".
            const EMITTED: [(&str, &[&str]); 4] = [
                (".js", &[".ts", ".tsx", ".d.ts"]),
                (".jsx", &[".tsx"]),
                (".mjs", &[".mts", ".d.mts"]),
                (".cjs", &[".cts", ".d.cts"]),
            ];
            for (emitted, sources) in EMITTED {
                if let Some(stem) = path.strip_suffix(emitted) {
                    if let Some(found) =
                        self.first_existing(sources.iter().map(|s| format!("{stem}{s}")))
                    {
                        return Some(found);
                    }
                }
            }
            if let Some(found) =
                self.first_existing(JS_EXTENSIONS.iter().map(|e| format!("{path}{e}")))
            {
                return Some(found);
            }
        }
        let index = join(path, "index");
        self.first_existing(JS_EXTENSIONS.iter().map(|e| format!("{index}{e}")))
    }

    fn nearest_ts_config(&self, dir: &str) -> Option<&TsConfig> {
        let mut d = dir;
        loop {
            if let Some(config) = self.ts_configs.get(d) {
                return Some(config);
            }
            if d.is_empty() {
                return None;
            }
            d = parent(d);
        }
    }

    fn index_ts_configs(&mut self, read: &dyn Fn(&str) -> Option<Vec<u8>>) {
        let mut configs = HashMap::new();
        for dir in &self.dirs {
            // TypeScript only discovers these two names; a directory with both uses tsconfig.
            for name in ["tsconfig.json", "jsconfig.json"] {
                let path = join(dir, name);
                if !self.files.contains(&path) {
                    continue;
                }
                let mut visiting = Vec::new();
                if let Some(merged) = load_ts_config(&self.files, &path, read, &mut visiting) {
                    let paths_base = merged
                        .base_url
                        .clone()
                        .or_else(|| merged.paths.as_ref().map(|(_, origin)| origin.clone()))
                        .unwrap_or_else(|| dir.clone());
                    configs.insert(
                        dir.clone(),
                        TsConfig {
                            base_url: merged.base_url,
                            paths: merged.paths.map(|(p, _)| p).unwrap_or_default(),
                            paths_base,
                        },
                    );
                }
                break;
            }
        }
        self.ts_configs = configs;
    }

    // ---------------------------------------------------------------- Python

    fn resolve_python(&self, from: &str, spec: &str) -> Vec<String> {
        let rest = spec.trim_start_matches('.');
        let dots = spec.len() - rest.len();
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('.').collect()
        };
        if parts.iter().any(|p| !is_identifier(p)) {
            return Vec::new();
        }
        if dots > 0 {
            // One dot is the importing module's own package (its directory), each further dot
            // one package up; going above the repository root is an error in Python too.
            let mut base = parent(from);
            for _ in 1..dots {
                if base.is_empty() {
                    return Vec::new();
                }
                base = parent(base);
            }
            if parts.is_empty() {
                let init = [join(base, "__init__.py"), join(base, "__init__.pyi")];
                return self.first_existing(init).into_iter().collect();
            }
            return self
                .python_longest(base, &parts)
                .map(|(_, p)| vec![p])
                .unwrap_or_default();
        }
        let Some(first) = parts.first() else {
            return Vec::new();
        };
        let mut best: Option<(usize, String)> = None;
        for &root in self.python_top.get(*first).into_iter().flatten() {
            if let Some((depth, path)) = self.python_longest(&self.python_roots[root], &parts) {
                // A deeper match is stronger evidence than an earlier root; equal depth keeps
                // the earlier root, like sys.path order.
                if best.as_ref().is_none_or(|(d, _)| depth > *d) {
                    best = Some((depth, path));
                }
            }
        }
        best.map(|(_, p)| vec![p]).unwrap_or_default()
    }

    /// The longest prefix of `parts` that is a module under `base`: trailing components of
    /// `from a.b import c`-style specs may be names defined inside the module.
    fn python_longest(&self, base: &str, parts: &[&str]) -> Option<(usize, String)> {
        (1..=parts.len()).rev().find_map(|k| {
            let module = join(base, &parts[..k].join("/"));
            let candidates = [
                format!("{module}.py"),
                join(&module, "__init__.py"),
                format!("{module}.pyi"),
                join(&module, "__init__.pyi"),
            ];
            self.first_existing(candidates).map(|p| (k, p))
        })
    }

    fn index_python_roots(&mut self) {
        let mut roots = vec![String::new()];
        if self.dirs.contains("src") {
            roots.push("src".to_string());
        }
        let mut others: Vec<String> = self
            .by_name
            .get("__init__.py")
            .into_iter()
            .flatten()
            .filter_map(|init| {
                let package = parent(init);
                if package.is_empty() {
                    return None;
                }
                let above = parent(package);
                (!self.files.contains(&join(above, "__init__.py"))).then(|| above.to_string())
            })
            .filter(|r| !r.is_empty() && r != "src")
            .collect();
        others.sort();
        others.dedup();
        roots.extend(others);
        let mut top: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, root) in roots.iter().enumerate() {
            let mut names: Vec<&str> = self
                .dir_children
                .get(root)
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            for f in self.dir_files.get(root).into_iter().flatten() {
                let name = file_name(f);
                if let Some(stem) = name
                    .strip_suffix(".py")
                    .or_else(|| name.strip_suffix(".pyi"))
                {
                    names.push(stem);
                }
            }
            names.sort();
            names.dedup();
            for name in names {
                top.entry(name.to_string()).or_default().push(i);
            }
        }
        self.python_roots = roots;
        self.python_top = top;
    }

    // ---------------------------------------------------------------- Rust

    fn resolve_rust_mod(&self, from: &str, name: &str) -> Vec<String> {
        let name = name.strip_prefix("r#").unwrap_or(name);
        if !is_identifier(name) {
            return Vec::new();
        }
        let in_dir = |dir: &str| {
            self.first_existing([
                join(dir, &format!("{name}.rs")),
                join(dir, &join(name, "mod.rs")),
            ])
        };
        let found = in_dir(&rust_child_dir(from)).or_else(|| {
            // Cargo target roots (src/bin/x.rs, tests/x.rs, ...) keep children beside them.
            if is_cargo_target_root(from) {
                in_dir(parent(from))
            } else {
                None
            }
        });
        found.into_iter().collect()
    }

    fn resolve_rust_use(&self, from: &str, spec: &str) -> Vec<String> {
        // Keep the path part only: `crate::a::{B, C}`, `crate::a::*`, `crate::a::B as C`.
        let end = spec
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '#'))
            .unwrap_or(spec.len());
        let path = spec[..end].trim_end_matches(':');
        let segments: Vec<&str> = path
            .split("::")
            .map(|s| s.strip_prefix("r#").unwrap_or(s))
            .collect();
        if segments.iter().any(|s| !is_identifier(s)) {
            return Vec::new(); // also rejects a leading `::` (an external crate)
        }
        let (dir, rest, fallback) = match segments[0] {
            "crate" => {
                let Some((dir, root_file)) = self.rust_crate_root(from) else {
                    return Vec::new();
                };
                (dir, &segments[1..], Some(root_file))
            }
            "self" => (rust_child_dir_for(from), &segments[1..], None),
            "super" => {
                let supers = segments.iter().take_while(|s| **s == "super").count();
                if is_rust_crate_root_file(from) {
                    return Vec::new();
                }
                let mut dir = rust_child_dir_for(from);
                for i in 0..supers {
                    // Above a crate root there is no module; refuse rather than guess.
                    if dir.is_empty() || (i > 0 && self.is_rust_crate_dir(&dir)) {
                        return Vec::new();
                    }
                    dir = parent(&dir).to_string();
                }
                let module_file = self.rust_module_file(&dir);
                (dir, &segments[supers..], module_file)
            }
            _ => return Vec::new(), // std, core, external crates, or names in local scope
        };
        for k in (1..=rest.len()).rev() {
            let module = join(&dir, &rest[..k].join("/"));
            if let Some(found) =
                self.first_existing([format!("{module}.rs"), join(&module, "mod.rs")])
            {
                return vec![found];
            }
        }
        // No module matched: the remaining segments are items of the starting module itself.
        fallback.into_iter().collect()
    }

    /// The directory holding the crate's top-level modules, and the crate root file.
    fn rust_crate_root(&self, from: &str) -> Option<(String, String)> {
        if is_cargo_target_root(from) {
            return Some((parent(from).to_string(), from.to_string()));
        }
        let mut dir = parent(from);
        loop {
            let lib = join(dir, "lib.rs");
            let main = join(dir, "main.rs");
            // When both exist, modules are usually shared through lib.rs; main.rs's own
            // `crate::` only means main.rs when it is the importer.
            let root = if self.exists(&main) && from == main {
                Some(main)
            } else if self.exists(&lib) {
                Some(lib)
            } else if self.exists(&main) {
                Some(main)
            } else {
                None
            };
            if let Some(root) = root {
                return Some((dir.to_string(), root));
            }
            if dir.is_empty() {
                return None;
            }
            dir = parent(dir);
        }
    }

    fn is_rust_crate_dir(&self, dir: &str) -> bool {
        self.exists(&join(dir, "lib.rs")) || self.exists(&join(dir, "main.rs"))
    }

    /// The file that defines the module whose children live in `dir`.
    fn rust_module_file(&self, dir: &str) -> Option<String> {
        let mut candidates = vec![join(dir, "mod.rs")];
        if !dir.is_empty() {
            candidates.push(format!("{dir}.rs"));
        }
        candidates.push(join(dir, "lib.rs"));
        candidates.push(join(dir, "main.rs"));
        self.first_existing(candidates)
    }

    // ---------------------------------------------------------------- C / C++

    fn resolve_include(&self, from: &str, spec: &str, local: bool) -> Vec<String> {
        if spec.starts_with('/') {
            return Vec::new();
        }
        let spec = spec.replace('\\', "/");
        if local {
            if let Some(p) = normalize(parent(from), &spec).filter(|p| self.exists(p)) {
                return vec![p];
            }
        }
        if let Some(p) = normalize("", &spec).filter(|p| self.exists(p)) {
            return vec![p];
        }
        // Any directory named `include` is a plausible -I path. Several can match (vendored
        // libraries); prefer the one closest to the includer and give up on a tie.
        let Some(below) = normalize("", &spec) else {
            return Vec::new();
        };
        let from_dir = parent(from);
        let best: Vec<(usize, String)> = self
            .include_files
            .get(&below)
            .into_iter()
            .flatten()
            .map(|candidate| {
                let include_dir = &candidate[..candidate.len() - below.len() - 1];
                (
                    common_components(parent(include_dir), from_dir),
                    candidate.clone(),
                )
            })
            .collect();
        let Some(top) = best.iter().map(|(score, _)| *score).max() else {
            return Vec::new();
        };
        let winners: Vec<String> = best
            .into_iter()
            .filter(|(s, _)| *s == top)
            .map(|(_, p)| p)
            .collect();
        if winners.len() == 1 {
            winners
        } else {
            Vec::new()
        }
    }

    // ---------------------------------------------------------------- Go

    fn resolve_go(&self, from: &str, spec: &str) -> Vec<String> {
        if spec
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Vec::new();
        }
        let module = self.go_modules.iter().find(|m| {
            spec == m.path
                || spec
                    .strip_prefix(&m.path)
                    .is_some_and(|r| r.starts_with('/'))
        });
        let dir = match module {
            Some(m) => join(&m.root, spec[m.path.len()..].trim_start_matches('/')),
            None => {
                // Not one of ours: it can still be vendored under the importer's module root.
                let Some(own) = self
                    .go_modules
                    .iter()
                    .filter(|m| m.root.is_empty() || from.starts_with(&format!("{}/", m.root)))
                    .max_by_key(|m| m.root.len())
                else {
                    return Vec::new();
                };
                join(&join(&own.root, "vendor"), spec)
            }
        };
        self.dir_files
            .get(&dir)
            .into_iter()
            .flatten()
            .filter(|f| f.ends_with(".go") && !f.ends_with("_test.go"))
            .cloned()
            .collect()
    }

    fn index_go_modules(&mut self, read: &dyn Fn(&str) -> Option<Vec<u8>>) {
        let mut modules = Vec::new();
        for gomod in self.by_name.get("go.mod").into_iter().flatten() {
            let Some(bytes) = read_config(read, gomod) else {
                continue;
            };
            if let Some(path) = parse_go_module(&String::from_utf8_lossy(&bytes)) {
                modules.push(GoModule {
                    path,
                    root: parent(gomod).to_string(),
                });
            }
        }
        modules.sort_by(|a, b| {
            b.path
                .len()
                .cmp(&a.path.len())
                .then_with(|| a.path.cmp(&b.path))
                .then_with(|| a.root.cmp(&b.root))
        });
        self.go_modules = modules;
    }

    // ---------------------------------------------------------------- Java

    fn resolve_java(&self, spec: &str) -> Vec<String> {
        let spec = spec
            .strip_prefix("static ")
            .unwrap_or(spec)
            .trim()
            .trim_end_matches(';')
            .trim();
        let parts: Vec<&str> = spec.split('.').collect();
        let wildcard = parts.last() == Some(&"*");
        let names = if wildcard {
            &parts[..parts.len() - 1]
        } else {
            &parts[..]
        };
        // Java has no imports from the unnamed package, so one segment is never ours.
        if names.len() < 2 || names.iter().any(|p| !is_identifier(p)) {
            return Vec::new();
        }
        if wildcard {
            let found: Vec<String> = self
                .dirs_with_suffix(&names.join("/"))
                .into_iter()
                .flat_map(|d| self.dir_files.get(&d).cloned().unwrap_or_default())
                .filter(|f| f.ends_with(".java"))
                .collect();
            if !found.is_empty() {
                return found;
            }
            // `import static a.b.C.*` names a class, not a package.
        }
        // Drop trailing members/nested classes (`a.b.C.m`, `a.b.C.Inner`), but only down to a
        // capitalised segment so a package directory never matches as if it were a class.
        for k in (2..=names.len()).rev() {
            if k < names.len() && !names[k - 1].starts_with(|c: char| c.is_uppercase()) {
                break;
            }
            let found = self.files_with_suffix(&format!("{}.java", names[..k].join("/")));
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }

    // ---------------------------------------------------------------- C#

    /// C# namespaces are not tied to directories; the convention "namespace A.B lives in a
    /// directory ending A/B" holds often enough to be useful and is never a wild guess, while
    /// projects whose root namespace is not a directory (the common `Acme.Util` in `Util/`)
    /// resolve to nothing rather than to a wrong file.
    fn resolve_csharp(&self, spec: &str) -> Vec<String> {
        let mut spec = spec.trim().trim_end_matches(';').trim();
        for prefix in ["global ", "using ", "static "] {
            spec = spec.strip_prefix(prefix).unwrap_or(spec).trim();
        }
        if let Some((_, target)) = spec.split_once('=') {
            spec = target.trim(); // `using Alias = A.B;`
        }
        let parts: Vec<&str> = spec.split('.').collect();
        if parts.iter().any(|p| !is_identifier(p)) {
            return Vec::new();
        }
        let rel = parts.join("/");
        let found: Vec<String> = self
            .dirs_with_suffix(&rel)
            .into_iter()
            .flat_map(|d| self.dir_files.get(&d).cloned().unwrap_or_default())
            .filter(|f| f.ends_with(".cs"))
            .collect();
        if !found.is_empty() {
            return found;
        }
        // `using static A.B.C;` names a class.
        let classes = self.files_with_suffix(&format!("{rel}.cs"));
        if classes.len() == 1 {
            classes
        } else {
            Vec::new()
        }
    }

    // ---------------------------------------------------------------- Ruby

    fn resolve_ruby_relative(&self, from: &str, spec: &str) -> Vec<String> {
        let Some(p) = normalize(parent(from), spec) else {
            return Vec::new();
        };
        self.ruby_file(&p).into_iter().collect()
    }

    fn resolve_ruby_require(&self, spec: &str) -> Vec<String> {
        // `require "./x"` is relative to the process's working directory, which we cannot know.
        if is_relative_spec(spec) || spec.starts_with('/') {
            return Vec::new();
        }
        ["lib", ""]
            .iter()
            .filter_map(|base| normalize(base, spec))
            .find_map(|p| self.ruby_file(&p))
            .into_iter()
            .collect()
    }

    fn ruby_file(&self, path: &str) -> Option<String> {
        if path.ends_with(".rb") {
            return self.first_existing([path.to_string()]);
        }
        self.first_existing([format!("{path}.rb")])
    }

    // ---------------------------------------------------------------- PHP

    fn resolve_php_path(&self, from: &str, spec: &str) -> Vec<String> {
        // `require __DIR__ . '/inc/x.php'` reaches us as "/inc/x.php": a real absolute path
        // cannot be in the repository, so a leading slash is read as the file's directory.
        let rel = spec.trim_start_matches('/');
        [parent(from), ""]
            .iter()
            .filter_map(|base| normalize(base, rel))
            .find(|p| self.exists(p))
            .into_iter()
            .collect()
    }

    fn resolve_php_use(&self, spec: &str) -> Vec<String> {
        // A group (`use App\{A, B}`) arrives without its members: nothing to map.
        if spec.contains('{') {
            return Vec::new();
        }
        let mut spec = spec.trim().trim_end_matches(';').trim();
        for prefix in ["function ", "const "] {
            spec = spec.strip_prefix(prefix).unwrap_or(spec).trim();
        }
        let end = spec
            .find(|c: char| c.is_whitespace() || c == '{')
            .unwrap_or(spec.len());
        let name = spec[..end].trim_matches('\\');
        let parts: Vec<&str> = name.split('\\').collect();
        if parts.iter().any(|p| !is_identifier(p)) {
            return Vec::new();
        }
        for rule in &self.psr4 {
            let rest: Vec<&str> = if rule.prefix.is_empty() {
                parts.clone()
            } else {
                let prefix: Vec<&str> = rule.prefix.split('\\').collect();
                if parts.len() <= prefix.len() || parts[..prefix.len()] != prefix[..] {
                    continue;
                }
                parts[prefix.len()..].to_vec()
            };
            let rel = format!("{}.php", rest.join("/"));
            if let Some(found) = rule
                .dirs
                .iter()
                .filter_map(|d| normalize(d, &rel))
                .find(|p| self.exists(p))
            {
                return vec![found];
            }
        }
        // Without a mapping, trust a suffix match only when it is unique.
        let mut suffix_lengths = vec![parts.len()];
        if parts.len() > 2 {
            suffix_lengths.push(2);
        }
        for k in suffix_lengths {
            let found =
                self.files_with_suffix(&format!("{}.php", parts[parts.len() - k..].join("/")));
            match found.len() {
                1 => return found,
                0 => continue,
                _ => return Vec::new(),
            }
        }
        Vec::new()
    }

    fn index_composer(&mut self, read: &dyn Fn(&str) -> Option<Vec<u8>>) {
        let mut rules = Vec::new();
        for composer in self.by_name.get("composer.json").into_iter().flatten() {
            let Some(bytes) = read_config(read, composer) else {
                continue;
            };
            let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                continue;
            };
            let dir = parent(composer);
            for section in ["autoload", "autoload-dev"] {
                let Some(map) = json
                    .get(section)
                    .and_then(|a| a.get("psr-4"))
                    .and_then(|m| m.as_object())
                else {
                    continue;
                };
                for (prefix, targets) in map {
                    let targets: Vec<&str> = match targets {
                        serde_json::Value::String(s) => vec![s.as_str()],
                        serde_json::Value::Array(a) => {
                            a.iter().filter_map(|v| v.as_str()).collect()
                        }
                        _ => continue,
                    };
                    let dirs: Vec<String> =
                        targets.iter().filter_map(|t| normalize(dir, t)).collect();
                    if !dirs.is_empty() {
                        rules.push(Psr4 {
                            prefix: prefix.trim_matches('\\').to_string(),
                            dirs,
                        });
                    }
                }
            }
        }
        rules.sort_by(|a, b| {
            b.prefix
                .len()
                .cmp(&a.prefix.len())
                .then_with(|| a.prefix.cmp(&b.prefix))
        });
        self.psr4 = rules;
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

/// Breadth-first walk from `start` following edges in one direction ("imports" or
/// "imported by") up to `max_depth` hops, as a state machine: the caller fetches the
/// neighbours of a whole frontier at once (one database query per depth, not one per
/// file) and feeds them back. Each reached path is reported once with its smallest
/// depth, sorted by (depth, path) so results are stable; `start` is excluded even when a
/// cycle leads back to it.
pub struct Walk {
    seen: HashSet<String>,
    frontier: Vec<String>,
    depth: u32,
    max_depth: u32,
    result: Vec<(String, u32)>,
}

impl Walk {
    pub fn new(start: &str, max_depth: u32) -> Walk {
        Walk {
            seen: HashSet::from([start.to_string()]),
            frontier: vec![start.to_string()],
            depth: 0,
            max_depth,
            result: Vec::new(),
        }
    }

    /// The paths whose neighbours are needed next; None when the walk is over.
    pub fn frontier(&self) -> Option<&[String]> {
        (self.depth < self.max_depth && !self.frontier.is_empty()).then_some(&self.frontier[..])
    }

    /// Takes the neighbours of the current frontier and moves one hop out.
    pub fn advance(&mut self, neighbours: impl IntoIterator<Item = String>) {
        self.depth += 1;
        let mut reached: Vec<String> = neighbours
            .into_iter()
            .filter(|n| self.seen.insert(n.clone()))
            .collect();
        reached.sort();
        self.result
            .extend(reached.iter().map(|p| (p.clone(), self.depth)));
        self.frontier = reached;
    }

    pub fn finish(self) -> Vec<(String, u32)> {
        self.result
    }
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

/// "./lib/", "." and ".." can only mean a directory's index file, never `lib.ts` or `..ts`.
fn names_directory(spec: &str) -> bool {
    spec.ends_with('/') || matches!(spec.rsplit('/').next(), Some(".") | Some(".."))
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

fn common_components(a: &str, b: &str) -> usize {
    a.split('/')
        .zip(b.split('/'))
        .take_while(|(x, y)| x == y && !x.is_empty())
        .count()
}

/// Identifier-like: what every module-name language allows in one segment (Unicode letters,
/// digits, `_`, `$` for Java). Anything else means the spec is not a name we can map.
fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

fn is_rust_crate_root_file(path: &str) -> bool {
    matches!(file_name(path), "lib.rs" | "main.rs") || is_cargo_target_root(path)
}

/// Files Cargo compiles as their own crate: `src/bin/x.rs`, `tests/x.rs`, `examples/x.rs`,
/// `benches/x.rs`. Their submodules sit beside them, not in a directory named after them.
fn is_cargo_target_root(path: &str) -> bool {
    let dir = parent(path);
    match file_name(dir) {
        "bin" => file_name(parent(dir)) == "src",
        "tests" | "examples" | "benches" => true,
        _ => false,
    }
}

/// Where the child modules of a Rust source file live (`mod foo;` in it finds `<dir>/foo.rs`).
fn rust_child_dir(path: &str) -> String {
    let dir = parent(path);
    let name = file_name(path);
    if matches!(name, "lib.rs" | "main.rs" | "mod.rs") {
        dir.to_string()
    } else {
        join(dir, name.strip_suffix(".rs").unwrap_or(name))
    }
}

/// As [`rust_child_dir`], also treating Cargo target roots as crate roots (for `self::`/`super::`).
fn rust_child_dir_for(path: &str) -> String {
    if is_cargo_target_root(path) {
        parent(path).to_string()
    } else {
        rust_child_dir(path)
    }
}

fn read_config(read: &dyn Fn(&str) -> Option<Vec<u8>>, path: &str) -> Option<Vec<u8>> {
    read(path).filter(|b| b.len() <= MAX_CONFIG_BYTES)
}

fn parse_go_module(text: &str) -> Option<String> {
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        let Some(rest) = line.strip_prefix("module") else {
            continue;
        };
        if !rest.starts_with(|c: char| c.is_whitespace() || c == '"' || c == '`') {
            continue;
        }
        let path = rest.trim().trim_matches(|c| c == '"' || c == '`');
        if path.is_empty() || path.contains(char::is_whitespace) {
            return None;
        }
        return Some(path.to_string());
    }
    None
}

/// A tsconfig after `extends`: `paths` keeps the directory of the file that declared it.
#[derive(Default)]
struct MergedTs {
    base_url: Option<String>,
    paths: Option<(PathsMap, String)>,
}

/// `compilerOptions.paths`: pattern -> targets, in file order.
type PathsMap = Vec<(String, Vec<String>)>;

fn load_ts_config(
    files: &HashSet<String>,
    path: &str,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
    visiting: &mut Vec<String>,
) -> Option<MergedTs> {
    if visiting.len() >= MAX_EXTENDS_DEPTH || visiting.iter().any(|v| v == path) {
        return None;
    }
    let bytes = read_config(read, path)?;
    let json: serde_json::Value =
        serde_json::from_str(&strip_jsonc(&String::from_utf8_lossy(&bytes))).ok()?;
    let dir = parent(path);
    visiting.push(path.to_string());
    let mut merged = MergedTs::default();
    let extends: Vec<&str> = match json.get("extends") {
        Some(serde_json::Value::String(s)) => vec![s.as_str()],
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).collect(),
        _ => Vec::new(),
    };
    for base in extends {
        // Package bases ("@tsconfig/node18") live in node_modules, which is not indexed.
        if !is_relative_spec(base) {
            continue;
        }
        let Some(base_path) = normalize(dir, base) else {
            continue;
        };
        let base_path = if files.contains(&base_path) {
            base_path
        } else {
            format!("{base_path}.json")
        };
        if !files.contains(&base_path) {
            continue;
        }
        if let Some(inherited) = load_ts_config(files, &base_path, read, visiting) {
            if inherited.base_url.is_some() {
                merged.base_url = inherited.base_url;
            }
            if inherited.paths.is_some() {
                merged.paths = inherited.paths;
            }
        }
    }
    visiting.pop();
    let options = json.get("compilerOptions");
    if let Some(base_url) = options
        .and_then(|o| o.get("baseUrl"))
        .and_then(|b| b.as_str())
    {
        merged.base_url = normalize(dir, base_url);
    }
    if let Some(map) = options
        .and_then(|o| o.get("paths"))
        .and_then(|p| p.as_object())
    {
        let paths = map
            .iter()
            .map(|(pattern, targets)| {
                let targets = targets
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|t| t.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                (pattern.clone(), targets)
            })
            .collect();
        merged.paths = Some((paths, dir.to_string()));
    }
    Some(merged)
}

/// TypeScript's choice among `paths` patterns: an exact key wins, otherwise the matching
/// wildcard pattern with the longest prefix before `*`.
fn best_paths_pattern<'c>(
    paths: &'c [(String, Vec<String>)],
    spec: &str,
) -> Option<(&'c str, &'c [String])> {
    if let Some((p, t)) = paths.iter().find(|(p, _)| !p.contains('*') && p == spec) {
        return Some((p, t));
    }
    paths
        .iter()
        .filter(|(p, _)| capture_wildcard(p, spec).is_some() && p.contains('*'))
        .max_by_key(|(p, _)| p.find('*').unwrap_or(0))
        .map(|(p, t)| (p.as_str(), t.as_slice()))
}

/// What `*` matches when `spec` fits `pattern` (one `*` at most, as TypeScript allows).
fn capture_wildcard<'s>(pattern: &str, spec: &'s str) -> Option<&'s str> {
    let (prefix, suffix) = pattern.split_once('*')?;
    if spec.len() >= prefix.len() + suffix.len()
        && spec.starts_with(prefix)
        && spec.ends_with(suffix)
    {
        spec.get(prefix.len()..spec.len() - suffix.len())
    } else {
        None
    }
}

/// Turns JSONC (tsconfig's dialect) into JSON: drops `//` and `/* */` comments and trailing
/// commas, leaving strings untouched.
fn strip_jsonc(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let chars: Vec<char> = text.chars().collect();
    // Pass 1: comments become spaces.
    let mut no_comments = String::with_capacity(text.len());
    let mut i = 0;
    let mut in_string = false;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            no_comments.push(c);
            if c == '\\' {
                if let Some(&n) = chars.get(i + 1) {
                    no_comments.push(n);
                    i += 1;
                }
            } else if c == '"' {
                in_string = false;
            }
            i += 1;
        } else if c == '"' {
            in_string = true;
            no_comments.push(c);
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
            no_comments.push(' ');
        } else {
            no_comments.push(c);
            i += 1;
        }
    }
    // Pass 2: a comma followed only by whitespace before `}` or `]` is dropped.
    let chars: Vec<char> = no_comments.chars().collect();
    let mut out = String::with_capacity(no_comments.len());
    let mut in_string = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(&n) = chars.get(i + 1) {
                    out.push(n);
                    i += 1;
                }
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if !matches!(next, Some('}') | Some(']')) {
                out.push(c);
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver_with(paths: &[&str], files: &[(&str, &str)]) -> Resolver {
        let contents: HashMap<String, Vec<u8>> = files
            .iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect();
        Resolver::new(paths.iter().copied(), &|p: &str| contents.get(p).cloned())
    }

    fn resolver(paths: &[&str]) -> Resolver {
        resolver_with(paths, &[])
    }

    fn import(kind: ImportKind, spec: &str) -> Import {
        Import {
            spec: spec.to_string(),
            kind,
            line: 1,
        }
    }

    fn resolve(r: &Resolver, from: &str, kind: ImportKind, spec: &str) -> Vec<String> {
        let language = Language::from_path(from).expect("test paths have a language");
        r.resolve(from, language, &import(kind, spec))
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    // ------------------------------------------------------------ JS / TS

    #[test]
    fn js_relative_tries_extensions_then_index() {
        let r = resolver(&[
            "web/app.ts",
            "web/util.ts",
            "web/lib/index.tsx",
            "web/types.d.ts",
        ]);
        assert_eq!(
            resolve(&r, "web/app.ts", ImportKind::Path, "./util"),
            strings(&["web/util.ts"])
        );
        assert_eq!(
            resolve(&r, "web/app.ts", ImportKind::Path, "./lib"),
            strings(&["web/lib/index.tsx"])
        );
        assert_eq!(
            resolve(&r, "web/app.ts", ImportKind::Path, "./types"),
            strings(&["web/types.d.ts"])
        );
        assert!(resolve(&r, "web/app.ts", ImportKind::Path, "./missing").is_empty());
    }

    #[test]
    fn js_dot_specs_mean_the_directory_index() {
        let r = resolver(&["web.ts", "web/index.ts", "web/a/b.ts", "web/a.ts"]);
        assert_eq!(
            resolve(&r, "web/a/b.ts", ImportKind::Path, ".."),
            strings(&["web/index.ts"])
        );
        assert!(resolve(&r, "web/a/b.ts", ImportKind::Path, ".").is_empty());
        assert_eq!(
            resolve(&r, "web/a/b.ts", ImportKind::Path, "../"),
            strings(&["web/index.ts"])
        );
    }

    #[test]
    fn js_parent_relative_and_exact_file() {
        let r = resolver(&["web/a/b.js", "web/c.jsx", "web/style.css"]);
        assert_eq!(
            resolve(&r, "web/a/b.js", ImportKind::Path, "../c"),
            strings(&["web/c.jsx"])
        );
        assert_eq!(
            resolve(&r, "web/a/b.js", ImportKind::Path, "../style.css"),
            strings(&["web/style.css"])
        );
    }

    #[test]
    fn ts_emitted_js_extension_means_ts_source() {
        let r = resolver(&["src/a.ts", "src/b.ts"]);
        assert_eq!(
            resolve(&r, "src/a.ts", ImportKind::Path, "./b.js"),
            strings(&["src/b.ts"])
        );
    }

    #[test]
    fn js_bare_specifier_without_config_is_external() {
        let r = resolver(&["src/a.ts", "react/index.ts"]);
        assert!(resolve(&r, "src/a.ts", ImportKind::Path, "react").is_empty());
    }

    #[test]
    fn js_relative_escaping_root_resolves_to_nothing() {
        let r = resolver(&["a.ts", "b.ts"]);
        assert!(resolve(&r, "a.ts", ImportKind::Path, "../../b").is_empty());
        assert!(resolve(&r, "a.ts", ImportKind::Path, "/b").is_empty());
    }

    #[test]
    fn tsconfig_paths_wildcard_alias_tries_targets_in_order() {
        let tsconfig = r#"{
            // JSONC: comments and trailing commas are allowed
            "compilerOptions": {
                "baseUrl": ".",
                /* two targets */
                "paths": { "@app/*": ["src/app/*", "generated/*"], "@cfg": ["config/index.ts"], },
            },
        }"#;
        let r = resolver_with(
            &[
                "tsconfig.json",
                "src/main.ts",
                "src/app/lib/y.ts",
                "generated/gen.ts",
                "config/index.ts",
            ],
            &[("tsconfig.json", tsconfig)],
        );
        assert_eq!(
            resolve(&r, "src/main.ts", ImportKind::Path, "@app/lib/y"),
            strings(&["src/app/lib/y.ts"])
        );
        assert_eq!(
            resolve(&r, "src/main.ts", ImportKind::Path, "@app/gen"),
            strings(&["generated/gen.ts"])
        );
        assert_eq!(
            resolve(&r, "src/main.ts", ImportKind::Path, "@cfg"),
            strings(&["config/index.ts"])
        );
        assert!(resolve(&r, "src/main.ts", ImportKind::Path, "@other/x").is_empty());
    }

    #[test]
    fn tsconfig_base_url_resolves_plain_specs() {
        let r = resolver_with(
            &[
                "web/tsconfig.json",
                "web/src/components/button.tsx",
                "web/src/pages/home.tsx",
            ],
            &[(
                "web/tsconfig.json",
                r#"{"compilerOptions": {"baseUrl": "src"}}"#,
            )],
        );
        assert_eq!(
            resolve(
                &r,
                "web/src/pages/home.tsx",
                ImportKind::Path,
                "components/button"
            ),
            strings(&["web/src/components/button.tsx"])
        );
    }

    #[test]
    fn tsconfig_extends_inherits_paths_relative_to_the_base_file() {
        let base = r#"{ "compilerOptions": { "paths": { "@lib/*": ["./lib/*"] } } }"#;
        let child = r#"{ "extends": "../tsconfig.base", "compilerOptions": { "strict": true } }"#;
        let r = resolver_with(
            &[
                "tsconfig.base.json",
                "lib/x.ts",
                "app/tsconfig.json",
                "app/main.ts",
            ],
            &[("tsconfig.base.json", base), ("app/tsconfig.json", child)],
        );
        assert_eq!(
            resolve(&r, "app/main.ts", ImportKind::Path, "@lib/x"),
            strings(&["lib/x.ts"])
        );
    }

    #[test]
    fn tsconfig_nearest_config_wins() {
        let r = resolver_with(
            &[
                "tsconfig.json",
                "pkg/tsconfig.json",
                "pkg/a.ts",
                "pkg/src/u.ts",
                "src/u.ts",
            ],
            &[
                (
                    "tsconfig.json",
                    r#"{"compilerOptions": {"baseUrl": "src"}}"#,
                ),
                (
                    "pkg/tsconfig.json",
                    r#"{"compilerOptions": {"baseUrl": "./src"}}"#,
                ),
            ],
        );
        assert_eq!(
            resolve(&r, "pkg/a.ts", ImportKind::Path, "u"),
            strings(&["pkg/src/u.ts"])
        );
    }

    #[test]
    fn hostile_tsconfig_is_ignored_without_panicking() {
        let r = resolver_with(
            &["tsconfig.json", "a/tsconfig.json", "a/b.ts", "b.ts", "outside.ts"],
            &[
                ("tsconfig.json", "{\"extends\": \"./a/tsconfig.json\", \"compilerOptions\": {\"baseUrl\": \"../..\"}}"),
                ("a/tsconfig.json", "{\"extends\": \"../tsconfig.json\", \"compilerOptions\": {\"paths\": {\"*\": [\"../../../*\"]}}"),
            ],
        );
        assert!(resolve(&r, "a/b.ts", ImportKind::Path, "outside").is_empty());
        let garbage = resolver_with(
            &["tsconfig.json", "a.ts"],
            &[("tsconfig.json", "{\"compilerOptions\": [\u{0}")],
        );
        assert!(resolve(&garbage, "a.ts", ImportKind::Path, "b").is_empty());
    }

    #[test]
    fn jsonc_strip_keeps_comment_markers_inside_strings() {
        let json = strip_jsonc(r#"{"a": "http://x/*y*/", "b": [1, 2,], /* c */ }"#);
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid after stripping");
        assert_eq!(value["a"], "http://x/*y*/");
        assert_eq!(value["b"].as_array().map(|a| a.len()), Some(2));
    }

    // ------------------------------------------------------------ Python

    #[test]
    fn python_relative_imports_count_dots_from_the_package() {
        let r = resolver(&[
            "pkg/__init__.py",
            "pkg/sub/__init__.py",
            "pkg/sub/a.py",
            "pkg/sub/b.py",
            "pkg/mod.py",
        ]);
        assert_eq!(
            resolve(&r, "pkg/sub/a.py", ImportKind::Module, ".b"),
            strings(&["pkg/sub/b.py"])
        );
        assert_eq!(
            resolve(&r, "pkg/sub/a.py", ImportKind::Module, "..mod"),
            strings(&["pkg/mod.py"])
        );
        assert_eq!(
            resolve(&r, "pkg/sub/a.py", ImportKind::Module, "."),
            strings(&["pkg/sub/__init__.py"])
        );
        assert_eq!(
            resolve(&r, "pkg/sub/a.py", ImportKind::Module, ".."),
            strings(&["pkg/__init__.py"])
        );
        assert!(resolve(&r, "pkg/sub/a.py", ImportKind::Module, "....x").is_empty());
    }

    #[test]
    fn python_absolute_import_uses_longest_existing_prefix() {
        let r = resolver(&[
            "app/__init__.py",
            "app/models.py",
            "app/views/__init__.py",
            "main.py",
        ]);
        assert_eq!(
            resolve(&r, "main.py", ImportKind::Module, "app.models.User"),
            strings(&["app/models.py"])
        );
        assert_eq!(
            resolve(&r, "main.py", ImportKind::Module, "app.views"),
            strings(&["app/views/__init__.py"])
        );
        assert_eq!(
            resolve(&r, "main.py", ImportKind::Module, "app"),
            strings(&["app/__init__.py"])
        );
        assert!(resolve(&r, "main.py", ImportKind::Module, "os.path").is_empty());
    }

    #[test]
    fn python_searches_src_and_package_parent_roots() {
        let r = resolver(&[
            "src/lib1/__init__.py",
            "src/lib1/core.py",
            "services/api/svc/__init__.py",
            "services/api/svc/db.py",
            "tests/t.py",
        ]);
        assert_eq!(
            resolve(&r, "tests/t.py", ImportKind::Module, "lib1.core"),
            strings(&["src/lib1/core.py"])
        );
        assert_eq!(
            resolve(&r, "tests/t.py", ImportKind::Module, "svc.db"),
            strings(&["services/api/svc/db.py"])
        );
    }

    // ------------------------------------------------------------ Rust

    #[test]
    fn rust_mod_declarations_follow_the_declaring_file() {
        let r = resolver(&[
            "src/lib.rs",
            "src/a.rs",
            "src/a/b.rs",
            "src/c/mod.rs",
            "src/c/d.rs",
        ]);
        assert_eq!(
            resolve(&r, "src/lib.rs", ImportKind::RustMod, "a"),
            strings(&["src/a.rs"])
        );
        assert_eq!(
            resolve(&r, "src/lib.rs", ImportKind::RustMod, "c"),
            strings(&["src/c/mod.rs"])
        );
        assert_eq!(
            resolve(&r, "src/a.rs", ImportKind::RustMod, "b"),
            strings(&["src/a/b.rs"])
        );
        assert_eq!(
            resolve(&r, "src/c/mod.rs", ImportKind::RustMod, "d"),
            strings(&["src/c/d.rs"])
        );
        assert!(resolve(&r, "src/lib.rs", ImportKind::RustMod, "missing").is_empty());
    }

    #[test]
    fn rust_mod_in_integration_test_sits_beside_it() {
        let r = resolver(&["src/lib.rs", "tests/it.rs", "tests/common/mod.rs"]);
        assert_eq!(
            resolve(&r, "tests/it.rs", ImportKind::RustMod, "common"),
            strings(&["tests/common/mod.rs"])
        );
    }

    #[test]
    fn rust_use_crate_takes_longest_module_prefix() {
        let r = resolver(&[
            "k/src/lib.rs",
            "k/src/a/mod.rs",
            "k/src/a/b.rs",
            "k/src/x.rs",
        ]);
        assert_eq!(
            resolve(&r, "k/src/x.rs", ImportKind::Module, "crate::a::b::C"),
            strings(&["k/src/a/b.rs"])
        );
        assert_eq!(
            resolve(&r, "k/src/x.rs", ImportKind::Module, "crate::a::{b, Thing}"),
            strings(&["k/src/a/mod.rs"])
        );
        // An item of the crate root (or a re-export) lives in lib.rs.
        assert_eq!(
            resolve(&r, "k/src/x.rs", ImportKind::Module, "crate::Config"),
            strings(&["k/src/lib.rs"])
        );
    }

    #[test]
    fn rust_use_self_and_super_are_relative_to_the_module() {
        let r = resolver(&[
            "src/main.rs",
            "src/net.rs",
            "src/net/tcp.rs",
            "src/net/udp.rs",
            "src/util.rs",
        ]);
        assert_eq!(
            resolve(
                &r,
                "src/net/tcp.rs",
                ImportKind::Module,
                "super::udp::Socket"
            ),
            strings(&["src/net/udp.rs"])
        );
        assert_eq!(
            resolve(&r, "src/net/tcp.rs", ImportKind::Module, "super::Shared"),
            strings(&["src/net.rs"])
        );
        assert_eq!(
            resolve(
                &r,
                "src/net/tcp.rs",
                ImportKind::Module,
                "super::super::util::f"
            ),
            strings(&["src/util.rs"])
        );
        assert_eq!(
            resolve(&r, "src/net.rs", ImportKind::Module, "self::tcp::Conn"),
            strings(&["src/net/tcp.rs"])
        );
        assert!(resolve(&r, "src/main.rs", ImportKind::Module, "super::x").is_empty());
    }

    #[test]
    fn rust_use_of_other_crates_is_external() {
        let r = resolver(&["src/lib.rs", "src/std.rs", "src/serde.rs"]);
        assert!(resolve(
            &r,
            "src/lib.rs",
            ImportKind::Module,
            "std::collections::HashMap"
        )
        .is_empty());
        assert!(resolve(&r, "src/lib.rs", ImportKind::Module, "serde::Serialize").is_empty());
        assert!(resolve(&r, "src/lib.rs", ImportKind::Module, "::serde::Serialize").is_empty());
    }

    // ------------------------------------------------------------ C / C++

    #[test]
    fn c_local_include_prefers_own_directory_and_normalises_dotdot() {
        let r = resolver(&["src/net/sock.c", "src/net/sock.h", "src/common.h", "sock.h"]);
        assert_eq!(
            resolve(&r, "src/net/sock.c", ImportKind::IncludeLocal, "sock.h"),
            strings(&["src/net/sock.h"])
        );
        assert_eq!(
            resolve(
                &r,
                "src/net/sock.c",
                ImportKind::IncludeLocal,
                "../common.h"
            ),
            strings(&["src/common.h"])
        );
        assert!(resolve(
            &r,
            "src/net/sock.c",
            ImportKind::IncludeLocal,
            "../../../etc/passwd"
        )
        .is_empty());
    }

    #[test]
    fn c_local_include_falls_back_to_root_then_include_dirs() {
        let r = resolver(&[
            "config.h",
            "lib/include/lib/api.h",
            "lib/src/impl.c",
            "app/main.cpp",
        ]);
        assert_eq!(
            resolve(&r, "lib/src/impl.c", ImportKind::IncludeLocal, "config.h"),
            strings(&["config.h"])
        );
        assert_eq!(
            resolve(&r, "app/main.cpp", ImportKind::IncludeLocal, "lib/api.h"),
            strings(&["lib/include/lib/api.h"])
        );
    }

    #[test]
    fn c_system_include_only_when_the_exact_path_is_committed() {
        let r = resolver(&[
            "bits/types.h",
            "stdio.h",
            "src/x.c",
            "src/string.h",
            "vendor/include/zlib.h",
        ]);
        assert_eq!(
            resolve(&r, "stdio.h", ImportKind::IncludeSystem, "bits/types.h"),
            strings(&["bits/types.h"])
        );
        assert_eq!(
            resolve(&r, "src/x.c", ImportKind::IncludeSystem, "zlib.h"),
            strings(&["vendor/include/zlib.h"])
        );
        // Unlike quotes, angle brackets do not search the including file's directory.
        assert!(resolve(&r, "src/x.c", ImportKind::IncludeSystem, "string.h").is_empty());
    }

    #[test]
    fn c_include_ambiguous_between_unrelated_include_dirs_is_dropped() {
        let r = resolver(&[
            "a/include/cfg.h",
            "b/include/cfg.h",
            "c/main.c",
            "a/src/x.c",
        ]);
        assert!(resolve(&r, "c/main.c", ImportKind::IncludeLocal, "cfg.h").is_empty());
        assert_eq!(
            resolve(&r, "a/src/x.c", ImportKind::IncludeLocal, "cfg.h"),
            strings(&["a/include/cfg.h"])
        );
    }

    // ------------------------------------------------------------ Go

    #[test]
    fn go_import_within_module_is_the_package_directory() {
        let r = resolver_with(
            &[
                "go.mod",
                "cmd/main.go",
                "pkg/a/a.go",
                "pkg/a/b.go",
                "pkg/a/a_test.go",
                "pkg/a/inner/c.go",
                "pkg/a/README.md",
            ],
            &[("go.mod", "// comment\nmodule example.com/m\n\ngo 1.22\n")],
        );
        assert_eq!(
            resolve(&r, "cmd/main.go", ImportKind::Module, "example.com/m/pkg/a"),
            strings(&["pkg/a/a.go", "pkg/a/b.go"])
        );
        assert!(resolve(&r, "cmd/main.go", ImportKind::Module, "fmt").is_empty());
        assert!(resolve(&r, "cmd/main.go", ImportKind::Module, "example.com/m/../x").is_empty());
    }

    #[test]
    fn go_nested_module_wins_over_the_enclosing_one() {
        let r = resolver_with(
            &["go.mod", "tools/go.mod", "tools/gen/gen.go", "main.go"],
            &[
                ("go.mod", "module example.com/m"),
                ("tools/go.mod", "module \"example.com/m/tools\""),
            ],
        );
        assert_eq!(
            resolve(&r, "main.go", ImportKind::Module, "example.com/m/tools/gen"),
            strings(&["tools/gen/gen.go"])
        );
    }

    // ------------------------------------------------------------ Java / C#

    #[test]
    fn java_class_wildcard_and_static_imports() {
        let r = resolver(&[
            "src/main/java/com/acme/util/Strings.java",
            "src/main/java/com/acme/util/Lists.java",
            "src/main/java/com/acme/App.java",
        ]);
        let from = "src/main/java/com/acme/App.java";
        assert_eq!(
            resolve(&r, from, ImportKind::Module, "com.acme.util.Strings"),
            strings(&["src/main/java/com/acme/util/Strings.java"])
        );
        assert_eq!(
            resolve(&r, from, ImportKind::Module, "com.acme.util.*"),
            strings(&[
                "src/main/java/com/acme/util/Lists.java",
                "src/main/java/com/acme/util/Strings.java"
            ])
        );
        assert_eq!(
            resolve(&r, from, ImportKind::Module, "com.acme.util.Strings.join"),
            strings(&["src/main/java/com/acme/util/Strings.java"])
        );
        assert!(resolve(&r, from, ImportKind::Module, "java.util.List").is_empty());
    }

    #[test]
    fn csharp_namespace_maps_only_to_a_matching_directory() {
        let r = resolver(&[
            "src/Acme/Util/Strings.cs",
            "src/Acme/Util/Lists.cs",
            "src/Program.cs",
        ]);
        assert_eq!(
            resolve(&r, "src/Program.cs", ImportKind::Module, "Acme.Util"),
            strings(&["src/Acme/Util/Lists.cs", "src/Acme/Util/Strings.cs"])
        );
        assert!(resolve(&r, "src/Program.cs", ImportKind::Module, "System.Linq").is_empty());
    }

    // ------------------------------------------------------------ Ruby / PHP

    #[test]
    fn ruby_require_relative_and_require() {
        let r = resolver(&[
            "app/models/user.rb",
            "app/models/concerns/named.rb",
            "lib/tool.rb",
            "boot.rb",
        ]);
        assert_eq!(
            resolve(&r, "app/models/user.rb", ImportKind::Path, "concerns/named"),
            strings(&["app/models/concerns/named.rb"])
        );
        assert_eq!(
            resolve(&r, "app/models/user.rb", ImportKind::Module, "tool"),
            strings(&["lib/tool.rb"])
        );
        assert_eq!(
            resolve(&r, "app/models/user.rb", ImportKind::Module, "boot"),
            strings(&["boot.rb"])
        );
        assert!(resolve(&r, "app/models/user.rb", ImportKind::Module, "json").is_empty());
    }

    #[test]
    fn php_require_is_relative_to_file_then_root() {
        let r = resolver(&["web/index.php", "web/inc/x.php", "config/db.php"]);
        assert_eq!(
            resolve(&r, "web/index.php", ImportKind::Path, "inc/x.php"),
            strings(&["web/inc/x.php"])
        );
        assert_eq!(
            resolve(&r, "web/index.php", ImportKind::Path, "config/db.php"),
            strings(&["config/db.php"])
        );
    }

    #[test]
    fn php_use_follows_composer_psr4() {
        let composer = r#"{"autoload": {"psr-4": {"App\\": "app/"}}, "autoload-dev": {"psr-4": {"Tests\\": ["tests/"]}}}"#;
        let r = resolver_with(
            &[
                "composer.json",
                "app/Models/User.php",
                "app/Http/Kernel.php",
                "tests/Feature/UserTest.php",
                "legacy/App/Models/User.php",
            ],
            &[("composer.json", composer)],
        );
        assert_eq!(
            resolve(
                &r,
                "app/Http/Kernel.php",
                ImportKind::Module,
                "App\\Models\\User"
            ),
            strings(&["app/Models/User.php"])
        );
        assert_eq!(
            resolve(
                &r,
                "app/Http/Kernel.php",
                ImportKind::Module,
                "\\Tests\\Feature\\UserTest"
            ),
            strings(&["tests/Feature/UserTest.php"])
        );
    }

    #[test]
    fn php_use_without_composer_needs_a_unique_suffix() {
        let r = resolver(&[
            "src/App/Models/User.php",
            "src/App/Models/Post.php",
            "a/Post.php",
            "b/Models/Post.php",
            "index.php",
        ]);
        assert_eq!(
            resolve(&r, "index.php", ImportKind::Module, "App\\Models\\User"),
            strings(&["src/App/Models/User.php"])
        );
        assert_eq!(
            resolve(&r, "index.php", ImportKind::Module, "Other\\Models\\Post"),
            Vec::<String>::new()
        );
    }

    // ------------------------------------------------------------ general

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

    #[test]
    fn go_vendored_package_resolves_under_the_module_root() {
        let r = resolver_with(
            &["go.mod", "main.go", "vendor/github.com/x/y/y.go"],
            &[("go.mod", "module example.com/m")],
        );
        assert_eq!(
            resolve(&r, "main.go", ImportKind::Module, "github.com/x/y"),
            strings(&["vendor/github.com/x/y/y.go"])
        );
    }

    #[test]
    fn config_paths_are_recognised() {
        assert!(Resolver::is_config_path("web/tsconfig.json"));
        assert!(Resolver::is_config_path("tsconfig.base.json"));
        assert!(Resolver::is_config_path("jsconfig.json"));
        assert!(Resolver::is_config_path("svc/go.mod"));
        assert!(Resolver::is_config_path("composer.json"));
        assert!(!Resolver::is_config_path("package.json"));
        assert!(!Resolver::is_config_path("src/tsconfig.ts"));
    }

    #[test]
    fn invalid_utf8_and_oversized_configs_are_ignored() {
        let paths = ["go.mod", "tsconfig.json", "a.go"];
        let read = |p: &str| match p {
            "go.mod" => Some(vec![0xff, 0xfe, b'm']),
            _ => Some(vec![b' '; MAX_CONFIG_BYTES + 1]),
        };
        let r = Resolver::new(paths.iter().copied(), &read);
        assert!(r.go_modules.is_empty());
        assert!(r.ts_configs.is_empty());
    }

    // ------------------------------------------------------------ walk

    fn graph() -> HashMap<&'static str, Vec<&'static str>> {
        // a -> b -> c -> a (cycle), a -> d, d -> c
        HashMap::from([
            ("a", vec!["b", "d"]),
            ("b", vec!["c"]),
            ("c", vec!["a"]),
            ("d", vec!["c"]),
        ])
    }

    fn neighbours(frontier: &[String], forward: bool) -> Vec<String> {
        let mut out = Vec::new();
        for (source, targets) in graph() {
            for target in targets {
                let (from, to) = if forward {
                    (source, target)
                } else {
                    (target, source)
                };
                if frontier.iter().any(|f| f == from) {
                    out.push(to.to_string());
                }
            }
        }
        out
    }

    fn run_walk(start: &str, depth: u32, forward: bool) -> Vec<(String, u32)> {
        let mut walk = Walk::new(start, depth);
        while let Some(frontier) = walk.frontier() {
            let next = neighbours(frontier, forward);
            walk.advance(next);
        }
        walk.finish()
    }

    #[test]
    fn walk_forward_respects_depth_and_cycles() {
        assert_eq!(
            run_walk("a", 1, true),
            vec![("b".to_string(), 1), ("d".to_string(), 1)]
        );
        assert_eq!(
            run_walk("a", 5, true),
            vec![
                ("b".to_string(), 1),
                ("d".to_string(), 1),
                ("c".to_string(), 2)
            ]
        );
    }

    #[test]
    fn walk_backward_reports_smallest_depth() {
        // Dependents of c: b and d directly, a through both (and a is also c's target: the cycle).
        assert_eq!(
            run_walk("c", 3, false),
            vec![
                ("b".to_string(), 1),
                ("d".to_string(), 1),
                ("a".to_string(), 2)
            ]
        );
        assert_eq!(
            run_walk("c", 1, false),
            vec![("b".to_string(), 1), ("d".to_string(), 1)]
        );
    }

    #[test]
    fn walk_with_zero_depth_or_no_edges_is_empty() {
        assert!(run_walk("a", 0, true).is_empty());
        assert!(run_walk("zzz", 3, true).is_empty());
    }
}
