//! The repository files that change resolution, read once in [`Resolver::new`]:
//! tsconfig.json/jsconfig.json (JSONC; `baseUrl`, `paths` and relative `extends` bases),
//! go.mod (its `module` path) and composer.json (PSR-4 `autoload` and `autoload-dev` maps).
//!
//! They are untrusted input: files larger than [`MAX_CONFIG_BYTES`] are ignored rather than
//! parsed, `extends` chains are cycle-checked and cut at [`MAX_EXTENDS_DEPTH`], package bases
//! ("@tsconfig/node18") are skipped because node_modules is not indexed, and every directory
//! they name goes through [`normalize`] so none can point outside the repository.

use std::collections::{HashMap, HashSet};

use super::{file_name, is_relative_spec, join, normalize, parent, Resolver};

/// Configuration files larger than this are ignored rather than parsed: real ones are tiny.
const MAX_CONFIG_BYTES: usize = 1 << 20;
/// `extends` chains deeper than this are treated as broken (they are also cycle-checked).
const MAX_EXTENDS_DEPTH: usize = 8;

#[derive(Debug, Clone, Default)]
pub(super) struct TsConfig {
    /// `compilerOptions.baseUrl`, as a repository directory.
    pub(super) base_url: Option<String>,
    /// `compilerOptions.paths` patterns with their targets, in file order.
    pub(super) paths: Vec<(String, Vec<String>)>,
    /// The directory `paths` targets are relative to: baseUrl if set, else the directory of the
    /// config file that declared `paths` (TypeScript >= 4.1 semantics).
    pub(super) paths_base: String,
}

#[derive(Debug, Clone)]
pub(super) struct GoModule {
    pub(super) path: String,
    pub(super) root: String,
}

#[derive(Debug, Clone)]
pub(super) struct Psr4 {
    /// Namespace prefix without leading/trailing backslashes ("" for the catch-all prefix).
    pub(super) prefix: String,
    pub(super) dirs: Vec<String>,
}

impl Resolver {
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

    pub(super) fn index_ts_configs(&mut self, read: &dyn Fn(&str) -> Option<Vec<u8>>) {
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

    pub(super) fn index_go_modules(&mut self, read: &dyn Fn(&str) -> Option<Vec<u8>>) {
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

    pub(super) fn index_composer(&mut self, read: &dyn Fn(&str) -> Option<Vec<u8>>) {
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
    use crate::engine::deps::tests::{resolve, resolver_with, strings};
    use crate::engine::model::ImportKind;

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
}
