//! Which git URLs a network caller may make the service fetch, and the one spelling each
//! repository is registered under.
//!
//! Every URL goes through a real URL parser (the `url` crate, WHATWG rules) and is
//! compared with the configured base after decoding, never as a string prefix: a
//! percent-encoded dot segment (`%2e%2e`, `..%2f`) or an encoded separator would otherwise
//! pass a prefix test and then be decoded by libgit2 into a path outside the base. For a
//! `file://` base the repository's canonical path (symlinks resolved) must sit inside the
//! base's canonical path, so a link inside the base cannot lead out of it.
//!
//! Errors name only what the caller sent and the base the operator configured: never a
//! resolved server path, and never whether a path exists (a refused path and a missing one
//! get the same answer).

use percent_encoding::percent_decode_str;
use std::path::{Path, PathBuf};
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("git url {url:?} is not under the allowed base {base}: {reason}")]
    NotAllowed {
        url: String,
        base: String,
        reason: &'static str,
    },
    #[error("the configured git base url {0:?} is not a valid url")]
    BadBase(String),
}

/// The configured git base URL (`KOTA_GIT_BASE_URL`), parsed once.
#[derive(Debug, Clone)]
pub struct GitBase {
    url: Url,
    /// For a `file://` base: its canonical path, when it exists.
    canonical_dir: Option<PathBuf>,
}

impl GitBase {
    pub fn parse(base: &str) -> Result<GitBase, UrlError> {
        let bad = || UrlError::BadBase(base.to_string());
        let mut url = Url::parse(base.trim()).map_err(|_| bad())?;
        if url.cannot_be_a_base() || !matches!(url.scheme(), "https" | "http" | "file") {
            return Err(bad());
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        let canonical_dir = match url.scheme() {
            "file" => url
                .to_file_path()
                .ok()
                .and_then(|p| std::fs::canonicalize(p).ok()),
            _ => None,
        };
        Ok(GitBase { url, canonical_dir })
    }

    /// The base as configured, for messages.
    pub fn as_str(&self) -> &str {
        self.url.as_str().trim_end_matches('/')
    }

    /// Checks `input` against the base and returns its normal spelling: dot segments and
    /// credentials refused, empty segments and a trailing `/` dropped, the host lower case,
    /// and for `file://` the canonical path of the repository (a working tree's `.git`
    /// folder names the working tree).
    pub fn admit(&self, input: &str) -> Result<String, UrlError> {
        let refuse = |reason: &'static str| UrlError::NotAllowed {
            url: input.to_string(),
            base: self.as_str().to_string(),
            reason,
        };
        if input.chars().any(|c| c.is_control() || c.is_whitespace()) || input.contains('\\') {
            return Err(refuse(
                "it contains control characters, spaces or backslashes",
            ));
        }
        let scheme_end = input.find("://").ok_or_else(|| refuse("it is not a url"))?;
        let after_scheme = &input[scheme_end + 3..];
        let raw_path = after_scheme
            .find('/')
            .map(|i| &after_scheme[i..])
            .unwrap_or("");
        // Segments as the caller wrote them, decoded: the parser would silently resolve
        // `..` and `%2e%2e`, and would keep `..%2f` for libgit2 to decode later.
        for segment in raw_path.split('/') {
            let decoded = percent_decode_str(segment).collect::<Vec<u8>>();
            if decoded == b"." || decoded == b".." {
                return Err(refuse("it has a dot segment"));
            }
            if decoded
                .iter()
                .any(|&b| b == b'/' || b == b'\\' || b < 0x20 || b == 0x7f)
            {
                return Err(refuse("it has an encoded separator or control character"));
            }
        }
        let url = Url::parse(input).map_err(|_| refuse("it is not a valid url"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("it carries credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(refuse("it has a query or fragment"));
        }
        if url.scheme() != self.url.scheme()
            || url.host_str() != self.url.host_str()
            || url.port_or_known_default() != self.url.port_or_known_default()
        {
            return Err(refuse("it is on another scheme, host or port"));
        }
        let segments: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let base_segments: Vec<&str> = self
            .url
            .path_segments()
            .map(|s| s.filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        if segments.len() <= base_segments.len() || !segments.starts_with(&base_segments) {
            return Err(refuse("it is not under the base"));
        }
        let mut normal = url.clone();
        normal.set_path(&format!("/{}", segments.join("/")));
        if url.scheme() != "file" {
            return Ok(normal.as_str().to_string());
        }
        // file://: the canonical path must be inside the canonical base.
        let not_found = || refuse("it is not a repository under the base");
        let base_dir = self.canonical_dir.as_ref().ok_or_else(not_found)?;
        let path = normal.to_file_path().map_err(|_| not_found())?;
        let canonical = std::fs::canonicalize(&path).map_err(|_| not_found())?;
        let canonical = working_tree_of(&canonical).unwrap_or(canonical);
        if !canonical.starts_with(base_dir) || &canonical == base_dir {
            return Err(not_found());
        }
        let admitted = Url::from_file_path(&canonical).map_err(|_| not_found())?;
        Ok(admitted.as_str().to_string())
    }
}

/// `repo/.git` (a working tree's git folder) stands for `repo`.
fn working_tree_of(path: &Path) -> Option<PathBuf> {
    (path.file_name()? == ".git" && path.is_dir()).then(|| path.parent().map(Path::to_path_buf))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_urls_under_the_base_are_admitted_in_one_spelling() {
        let base = GitBase::parse("https://github.com").unwrap();
        assert_eq!(
            base.admit("https://github.com/rust-lang/regex").unwrap(),
            "https://github.com/rust-lang/regex"
        );
        assert_eq!(
            base.admit("https://GitHub.com//rust-lang/regex/").unwrap(),
            "https://github.com/rust-lang/regex"
        );
        assert_eq!(
            base.admit("https://github.com:443/a/b.git").unwrap(),
            "https://github.com/a/b.git"
        );
    }

    #[test]
    fn hostile_urls_are_refused() {
        let base = GitBase::parse("https://github.com").unwrap();
        for bad in [
            "https://github.com.evil.example/x/y",
            "https://github.com/../etc/passwd",
            "https://github.com/x/%2e%2e/%2e%2e/y",
            "https://github.com/x/%2E%2E/y",
            "https://github.com/x/..%2fy",
            "https://github.com/x/.%2e/y",
            "https://github.com/x/./y",
            "https://github.com/x%00/y",
            "https://user:pw@github.com/x/y",
            "https://user@github.com/x/y",
            "https://github.com/x/y?upload-pack=sh",
            "https://github.com/x/y#frag",
            "http://github.com/x/y",
            "https://github.com:8443/x/y",
            "file:///etc",
            "http://169.254.169.254/latest",
            "https://github.com/",
            "https://github.com",
            "https://github.com/x/y z",
            "https://github.com/x\\y",
            "git@github.com:x/y",
            "github.com/x/y",
        ] {
            assert!(base.admit(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn file_urls_are_compared_by_canonical_path() {
        let root = tempfile::tempdir().unwrap();
        let base_dir = root.path().join("base");
        let repo = base_dir.join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        let outside = root.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, base_dir.join("link")).unwrap();
        let base_url = Url::from_directory_path(&base_dir).unwrap();
        let base = GitBase::parse(base_url.as_str()).unwrap();
        let canonical = Url::from_file_path(std::fs::canonicalize(&repo).unwrap())
            .unwrap()
            .to_string();
        let b = base_url.as_str().trim_end_matches('/');
        for same in [
            format!("{b}/repo"),
            format!("{b}//repo"),
            format!("{b}/repo/"),
            format!("{b}/repo/.git"),
        ] {
            assert_eq!(base.admit(&same).unwrap(), canonical, "{same}");
        }
        let missing = base.admit(&format!("{b}/missing")).unwrap_err();
        let escaping = base.admit(&format!("{b}/link")).unwrap_err();
        for refused in [
            format!("{b}/%2e%2e/outside"),
            format!("{b}/%2E%2E/outside"),
            format!("{b}/..%2foutside"),
            format!("{b}/repo/%2e%2e/%2e%2e/x"),
        ] {
            assert!(base.admit(&refused).is_err(), "{refused}");
        }
        // Neither message tells whether the path exists, nor where a link points.
        let (missing, escaping) = (missing.to_string(), escaping.to_string());
        assert_eq!(
            missing.replace("missing", "X"),
            escaping.replace("link", "X")
        );
        assert!(!escaping.contains("outside"), "{escaping}");
    }
}
