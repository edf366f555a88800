//! Ruby and PHP imports.
//!
//! Ruby: `require_relative` is relative to the requiring file; `require "x"` tries `lib/` and
//! then the repository root. `require "./x"` is relative to the process's working directory,
//! which we cannot know, so it resolves to nothing.
//!
//! PHP: `require`/`include` paths are relative to the file, then to the root; a leading slash
//! (what `__DIR__ . '/inc/x.php'` reaches us as) is read as the file's directory. `use` follows
//! the PSR-4 prefixes of every composer.json, longest namespace prefix first; without a mapping
//! a suffix match is trusted only when it is unique. A group (`use App\{A, B}`) arrives
//! without its members: nothing to map.

use super::{is_identifier, is_relative_spec, normalize, parent, Resolver};

impl Resolver {
    pub(super) fn resolve_ruby_relative(&self, from: &str, spec: &str) -> Vec<String> {
        let Some(p) = normalize(parent(from), spec) else {
            return Vec::new();
        };
        self.ruby_file(&p).into_iter().collect()
    }

    pub(super) fn resolve_ruby_require(&self, spec: &str) -> Vec<String> {
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

    pub(super) fn resolve_php_path(&self, from: &str, spec: &str) -> Vec<String> {
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

    pub(super) fn resolve_php_use(&self, spec: &str) -> Vec<String> {
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
}

#[cfg(test)]
mod tests {
    use crate::engine::deps::tests::{resolve, resolver, resolver_with, strings};
    use crate::engine::model::ImportKind;

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
}
