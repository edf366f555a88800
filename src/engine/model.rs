//! What the parser extracts from one file: definitions, references and imports.
//!
//! These are plain values, independent of storage and of tree-sitter, so the indexer,
//! the stores and the dependency resolver share them without depending on each other.

use serde::{Deserialize, Serialize};

/// A definition found in a file. Lines are 1-based and inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symbol {
    pub name: String,
    /// The tags-query kind: `function`, `method`, `class`, `interface`, `module`,
    /// `struct`, `enum`, `trait`, `type`, `constant`, `macro`, `field`, `variable`, ...
    pub kind: String,
    pub line_start: u32,
    pub line_end: u32,
}

/// How a name is used at a reference site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReferenceKind {
    /// A call of a function, method or macro.
    Call,
    /// Any other use of the name: a type, a class in `new`, an implemented interface.
    Reference,
    /// The name appears in an import/include/use statement.
    Import,
}

impl ReferenceKind {
    pub fn name(self) -> &'static str {
        match self {
            ReferenceKind::Call => "call",
            ReferenceKind::Reference => "reference",
            ReferenceKind::Import => "import",
        }
    }

    pub fn parse(name: &str) -> Option<ReferenceKind> {
        match name {
            "call" => Some(ReferenceKind::Call),
            "reference" => Some(ReferenceKind::Reference),
            "import" => Some(ReferenceKind::Import),
            _ => None,
        }
    }
}

/// A use of a name. `line` and `column` are 1-based; `column` counts bytes, as `rg --column` does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub name: String,
    pub kind: ReferenceKind,
    pub line: u32,
    pub column: u32,
}

/// The form an import takes, which decides how it resolves to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// A path-like specifier: JS/TS `import ... from "./x"` or `"pkg/x"` or an alias,
    /// `require("./x")`, Ruby `require_relative "x"`, PHP `require "x.php"`.
    Path,
    /// A dotted or `::`-separated module name: Python `import a.b` / `from .a import b`
    /// (leading dots kept), Java `import a.b.C`, C# `using A.B`, Go import path,
    /// Rust `use crate::a::b`, Ruby `require "x"`, PHP `use A\B`.
    Module,
    /// C/C++ `#include "x.h"`.
    IncludeLocal,
    /// C/C++ `#include <x.h>`.
    IncludeSystem,
    /// Rust `mod name;` (a module declared in another file).
    RustMod,
}

/// One import statement's target as written in the source (quotes and brackets removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    pub spec: String,
    pub kind: ImportKind,
    pub line: u32,
}

/// Everything extracted from one file in one parse.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAnalysis {
    pub symbols: Vec<Symbol>,
    pub references: Vec<Reference>,
    pub imports: Vec<Import>,
}
