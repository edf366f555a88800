//! Java and C# imports, matched against path suffixes since neither language fixes a source root.
//!
//! Java: `a.b.C` is a file ending `a/b/C.java`; `a.b.*` is the `.java` files of a directory
//! ending `a/b` (or, for `import static a.b.C.*`, a class). Trailing members and nested classes
//! (`a.b.C.m`, `a.b.C.Inner`) are dropped, but only down to a capitalised segment so a package
//! directory never matches as if it were a class. Java has no imports from the unnamed
//! package, so a one-segment name is never ours.
//!
//! C#: namespaces are not tied to directories; the convention "namespace A.B lives in a
//! directory ending A/B" holds often enough to be useful and is never a wild guess, while
//! projects whose root namespace is not a directory resolve to nothing rather than to a wrong
//! file. `using static A.B.C;` names a class, which must then be unique.

use super::{is_identifier, Resolver};

impl Resolver {
    pub(super) fn resolve_java(&self, spec: &str) -> Vec<String> {
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

    /// C# namespaces are not tied to directories; the convention "namespace A.B lives in a
    /// directory ending A/B" holds often enough to be useful and is never a wild guess, while
    /// projects whose root namespace is not a directory (the common `Acme.Util` in `Util/`)
    /// resolve to nothing rather than to a wrong file.
    pub(super) fn resolve_csharp(&self, spec: &str) -> Vec<String> {
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
}

#[cfg(test)]
mod tests {
    use crate::engine::deps::tests::{resolve, resolver, strings};
    use crate::engine::model::ImportKind;

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
}
