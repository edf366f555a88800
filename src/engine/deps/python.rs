//! Python imports. In a relative import one dot is the importing module's own package (its
//! directory) and each further dot one package up; going above the repository root is an
//! error in Python too. An absolute import is looked up in the source roots: the repository
//! root, `src`, and the directory above every top-level package (one whose parent has no
//! `__init__.py`).
//!
//! Trailing components of `from a.b import c`-style specs may be names defined inside the
//! module, so the longest prefix that is a module wins; across roots a deeper match is stronger
//! evidence than an earlier root, and equal depth keeps the earlier root, like sys.path order.

use std::collections::HashMap;

use super::{file_name, is_identifier, join, parent, Resolver};

impl Resolver {
    pub(super) fn resolve_python(&self, from: &str, spec: &str) -> Vec<String> {
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

    pub(super) fn index_python_roots(&mut self) {
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
}

#[cfg(test)]
mod tests {
    use crate::engine::deps::tests::{resolve, resolver, strings};
    use crate::engine::model::ImportKind;

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
}
