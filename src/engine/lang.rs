//! Languages KotaDB understands, and how a path maps to one.
//!
//! Detection is by file name only (extension, plus a few well-known names): it must be
//! cheap enough to run on every path of a large tree, and it must agree between the
//! indexer and the `language` search filter.

use serde::{Deserialize, Serialize};

/// A language with a tree-sitter grammar wired in for symbols, references and imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    C,
    Cpp,
    Java,
    Ruby,
    CSharp,
    Php,
}

impl Language {
    /// Every language, in a stable order.
    pub const ALL: [Language; 12] = [
        Language::Rust,
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::Go,
        Language::C,
        Language::Cpp,
        Language::Java,
        Language::Ruby,
        Language::CSharp,
        Language::Php,
    ];

    /// The stable lowercase name stored in the database and accepted by filters.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::Go => "go",
            Language::C => "c",
            Language::Cpp => "cpp",
            Language::Java => "java",
            Language::Ruby => "ruby",
            Language::CSharp => "csharp",
            Language::Php => "php",
        }
    }

    /// Parses a user-supplied language name; accepts common aliases (`js`, `ts`, `c++`, `c#`, `py`, `rs`).
    pub fn parse(name: &str) -> Option<Language> {
        let lower = name.trim().to_ascii_lowercase();
        let language = match lower.as_str() {
            "rust" | "rs" => Language::Rust,
            "python" | "py" => Language::Python,
            "javascript" | "js" | "jsx" => Language::JavaScript,
            "typescript" | "ts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "go" | "golang" => Language::Go,
            "c" => Language::C,
            "cpp" | "c++" | "cxx" => Language::Cpp,
            "java" => Language::Java,
            "ruby" | "rb" => Language::Ruby,
            "csharp" | "c#" | "cs" => Language::CSharp,
            "php" => Language::Php,
            _ => return None,
        };
        Some(language)
    }

    /// The language of a repository-relative path, if it is one we parse.
    ///
    /// `.h` counts as C: C++ headers that use C++ syntax still parse well enough with the
    /// C++ grammar only when named `.hpp`/`.hh`/`.hxx`; a plain `.h` is far more often C.
    pub fn from_path(path: &str) -> Option<Language> {
        let file_name = path.rsplit('/').next().unwrap_or(path);
        let extension = match file_name.rfind('.') {
            Some(dot) if dot > 0 => &file_name[dot + 1..],
            _ => return None,
        };
        let language = match extension.to_ascii_lowercase().as_str() {
            "rs" => Language::Rust,
            "py" | "pyi" | "pyw" => Language::Python,
            "js" | "jsx" | "mjs" | "cjs" => Language::JavaScript,
            "ts" | "mts" | "cts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "go" => Language::Go,
            "c" | "h" => Language::C,
            "cc" | "cpp" | "cxx" | "c++" | "hpp" | "hh" | "hxx" | "h++" | "ipp" | "tpp" => {
                Language::Cpp
            }
            "java" => Language::Java,
            "rb" | "rake" | "gemspec" => Language::Ruby,
            "cs" => Language::CSharp,
            "php" | "phtml" => Language::Php,
            _ => return None,
        };
        Some(language)
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for language in Language::ALL {
            assert_eq!(Language::parse(language.name()), Some(language));
        }
    }

    #[test]
    fn detects_by_extension_not_by_directory() {
        assert_eq!(Language::from_path("src/main.rs"), Some(Language::Rust));
        assert_eq!(Language::from_path("a.b/c"), None);
        assert_eq!(Language::from_path(".rs"), None);
        assert_eq!(Language::from_path("web/App.TSX"), Some(Language::Tsx));
        assert_eq!(Language::from_path("include/x.h"), Some(Language::C));
        assert_eq!(Language::from_path("include/x.hpp"), Some(Language::Cpp));
    }
}
