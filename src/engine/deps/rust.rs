//! Rust `mod` declarations and `use` paths.
//!
//! `mod foo;` finds `foo.rs` or `foo/mod.rs` in the directory where the declaring file's child
//! modules live; Cargo target roots (`src/bin/x.rs`, `tests/x.rs`, `examples/x.rs`,
//! `benches/x.rs`) are crates of their own whose submodules sit beside them.
//!
//! `use` paths starting with `crate::`, `self::` or `super::` resolve to the longest prefix that
//! is a module file; when no module matches, the remaining segments are items of the starting
//! module itself. `std`, `core`, external crates and names in local scope are not ours, and
//! above a crate root there is no module, so such paths resolve to nothing rather than a guess.

use super::{file_name, is_identifier, join, parent, Resolver};

impl Resolver {
    pub(super) fn resolve_rust_mod(&self, from: &str, name: &str) -> Vec<String> {
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

    pub(super) fn resolve_rust_use(&self, from: &str, spec: &str) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use crate::engine::deps::tests::{resolve, resolver, strings};
    use crate::engine::model::ImportKind;

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
}
