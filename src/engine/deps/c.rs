//! C / C++ `#include`. A quoted include is first looked up beside the including file; both
//! forms then try the path from the repository root, then below any directory named `include`
//! (a plausible -I path). Several include directories can match (vendored libraries): the one
//! closest to the includer wins, and a tie resolves to nothing. Unlike quotes, angle brackets
//! never search the including file's directory.

use super::{normalize, parent, Resolver};

impl Resolver {
    pub(super) fn resolve_include(&self, from: &str, spec: &str, local: bool) -> Vec<String> {
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
}

fn common_components(a: &str, b: &str) -> usize {
    a.split('/')
        .zip(b.split('/'))
        .take_while(|(x, y)| x == y && !x.is_empty())
        .count()
}

#[cfg(test)]
mod tests {
    use crate::engine::deps::tests::{resolve, resolver, strings};
    use crate::engine::model::ImportKind;

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
}
