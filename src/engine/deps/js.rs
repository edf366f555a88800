//! JavaScript / TypeScript imports. A relative specifier is resolved against the importing
//! file's directory; a bare specifier is a package unless the nearest tsconfig/jsconfig maps it,
//! through `compilerOptions.paths` (an exact key wins, otherwise the matching wildcard pattern
//! with the longest prefix before `*`; targets are tried in order) and then `baseUrl`.
//!
//! File probing follows TypeScript: the exact file, then the source of an emitted name (ESM code
//! may import "./x.js" for a source "./x.ts"), then the extensions in the order TypeScript
//! prefers them, then the directory's index file. "./lib/", "." and ".." can only mean a
//! directory's index file.

use super::config::TsConfig;
use super::{is_relative_spec, join, normalize, parent, Resolver};

/// Extensions tried for an extension-less JS/TS specifier, in the order TypeScript prefers them.
const JS_EXTENSIONS: [&str; 9] = [
    ".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts",
];

impl Resolver {
    pub(super) fn resolve_js(&self, from: &str, spec: &str) -> Vec<String> {
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

/// "./lib/", "." and ".." can only mean a directory's index file, never `lib.ts` or `..ts`.
fn names_directory(spec: &str) -> bool {
    spec.ends_with('/') || matches!(spec.rsplit('/').next(), Some(".") | Some(".."))
}

#[cfg(test)]
mod tests {
    use crate::engine::deps::tests::{resolve, resolver, resolver_with, strings};
    use crate::engine::model::ImportKind;

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
}
