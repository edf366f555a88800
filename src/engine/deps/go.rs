//! Go imports. An import path inside one of the repository's modules (declared by a go.mod,
//! nested modules winning over the enclosing one) names a package directory: the import
//! resolves to that directory's `.go` files, tests excluded. A path that is not one of ours
//! can still be vendored under the importer's module root.

use super::{join, Resolver};

impl Resolver {
    pub(super) fn resolve_go(&self, from: &str, spec: &str) -> Vec<String> {
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
}

#[cfg(test)]
mod tests {
    use crate::engine::deps::tests::{resolve, resolver_with, strings};
    use crate::engine::model::ImportKind;

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
}
