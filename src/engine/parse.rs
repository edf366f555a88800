//! One tree-sitter parse per file, one query run over the tree: definitions (symbols),
//! references and imports.
//!
//! Every language has a query assembled from the files under `queries/` (embedded at
//! compile time). Capture names carry the meaning:
//!
//! * `@name` — the name node of a definition or reference;
//! * `@definition.KIND` — the whole definition (its span gives `line_start..=line_end`),
//!   `KIND` becomes [`Symbol::kind`];
//! * `@reference.call` → [`ReferenceKind::Call`], `@reference.import` →
//!   [`ReferenceKind::Import`], any other `@reference.X` → [`ReferenceKind::Reference`];
//! * `@import.module`, `@import.path`, `@import.include`, `@import.rust_mod`,
//!   `@import.rust_use` — the node holding an import's target (see [`ImportKind`]);
//! * anything else (`@doc`, `@local.scope`, helper captures starting with `_`) is ignored.
//!
//! When several patterns capture the same name node, the pattern written first in the
//! query wins, so query files list the specific patterns (a method) before the general
//! ones (a function).

use std::cell::RefCell;
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tree_sitter::{
    Node, ParseOptions, Parser, Query, QueryCursor, QueryCursorOptions, StreamingIterator, Tree,
};

use crate::engine::lang::Language;
use crate::engine::model::{FileAnalysis, Import, ImportKind, Reference, ReferenceKind, Symbol};

/// How long one file may take to parse (and, separately, to query) before it is given up.
pub const DEFAULT_PARSE_BUDGET: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("query for {language} does not compile: {message}")]
    Query { language: Language, message: String },
    #[error("grammar for {language} cannot be loaded: {message}")]
    Grammar { language: Language, message: String },
    #[error("parsing a {language} file took longer than {budget:?}; gave up")]
    Timeout {
        language: Language,
        budget: Duration,
    },
    #[error("tree-sitter returned no tree for a {language} file")]
    NoTree { language: Language },
}

/// What a capture means, by capture index.
#[derive(Debug, Clone)]
enum Role {
    Name,
    Definition(String),
    Reference(ReferenceKind),
    Import(ImportRole),
    /// `@_tolerate_errors`: the pattern names the exact spot where a macro broke the parse
    /// (a calling-convention macro inside a declarator), so the definition is kept even
    /// though its node contains an error.
    TolerateErrors,
    Ignore,
}

#[derive(Debug, Clone, Copy)]
enum ImportRole {
    Module,
    Path,
    /// `#include`: local or system depending on the node (`system_lib_string` is `<...>`).
    Include,
    RustMod,
    /// The argument of a Rust `use`, expanded in code (use lists, `self`, `as`).
    RustUse,
    /// A PHP `use` clause; inside a group use (`use A\{B, C}`) the group's prefix is added.
    PhpUse,
}

struct LanguageQuery {
    grammar: tree_sitter::Language,
    query: Query,
    roles: Vec<Role>,
}

/// Grammars and queries for every [`Language`], each compiled on first use (compiling all
/// twelve takes about 0.4 s, more than indexing a small repository) and then shared
/// across threads.
pub struct Analyzer {
    /// By position in [`Language::ALL`]; the error is the compiler's message.
    queries: [OnceLock<Result<LanguageQuery, String>>; Language::ALL.len()],
    budget: Duration,
}

// Parsers and query cursors are not `Sync`; each thread keeps one of each as a pure cache
// (a parser is re-pointed at the file's language on every call and reset after a timeout,
// so no state carries over from one file to the next).
thread_local! {
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
    static CURSOR: RefCell<Option<QueryCursor>> = const { RefCell::new(None) };
}

const Q_RUST: &str = include_str!("../../queries/rust.scm");
const Q_PYTHON: &str = include_str!("../../queries/python.scm");
const Q_ECMASCRIPT: &str = include_str!("../../queries/ecmascript.scm");
const Q_JAVASCRIPT: &str = include_str!("../../queries/javascript.scm");
const Q_JSX: &str = include_str!("../../queries/jsx.scm");
const Q_TYPESCRIPT: &str = include_str!("../../queries/typescript.scm");
const Q_GO: &str = include_str!("../../queries/go.scm");
const Q_C: &str = include_str!("../../queries/c.scm");
const Q_C_ONLY: &str = include_str!("../../queries/c-only.scm");
const Q_CPP: &str = include_str!("../../queries/cpp.scm");
const Q_JAVA: &str = include_str!("../../queries/java.scm");
const Q_RUBY: &str = include_str!("../../queries/ruby.scm");
const Q_CSHARP: &str = include_str!("../../queries/csharp.scm");
const Q_PHP: &str = include_str!("../../queries/php.scm");

fn grammar(language: Language) -> tree_sitter::Language {
    match language {
        Language::Rust => tree_sitter_rust::LANGUAGE.into(),
        Language::Python => tree_sitter_python::LANGUAGE.into(),
        Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
        Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
        Language::Go => tree_sitter_go::LANGUAGE.into(),
        Language::C => tree_sitter_c::LANGUAGE.into(),
        Language::Cpp => tree_sitter_cpp::LANGUAGE.into(),
        Language::Java => tree_sitter_java::LANGUAGE.into(),
        Language::Ruby => tree_sitter_ruby::LANGUAGE.into(),
        Language::CSharp => tree_sitter_c_sharp::LANGUAGE.into(),
        Language::Php => tree_sitter_php::LANGUAGE_PHP.into(),
    }
}

/// The query source of a language: JavaScript, TypeScript and TSX share `ecmascript.scm`,
/// C++ adds its own to C's (the C++ grammar extends the C grammar), minus the few C
/// patterns on nodes the C++ grammar does not have.
fn query_sources(language: Language) -> Vec<&'static str> {
    match language {
        Language::Rust => vec![Q_RUST],
        Language::Python => vec![Q_PYTHON],
        Language::JavaScript => vec![Q_JAVASCRIPT, Q_ECMASCRIPT, Q_JSX],
        Language::TypeScript => vec![Q_TYPESCRIPT, Q_ECMASCRIPT],
        Language::Tsx => vec![Q_TYPESCRIPT, Q_ECMASCRIPT, Q_JSX],
        Language::Go => vec![Q_GO],
        Language::C => vec![Q_C, Q_C_ONLY],
        Language::Cpp => vec![Q_CPP, Q_C],
        Language::Java => vec![Q_JAVA],
        Language::Ruby => vec![Q_RUBY],
        Language::CSharp => vec![Q_CSHARP],
        Language::Php => vec![Q_PHP],
    }
}

fn role_of(capture: &str) -> Role {
    if capture == "name" {
        return Role::Name;
    }
    if capture == "_tolerate_errors" {
        return Role::TolerateErrors;
    }
    if let Some(kind) = capture.strip_prefix("definition.") {
        return Role::Definition(kind.to_string());
    }
    if let Some(kind) = capture.strip_prefix("reference.") {
        return Role::Reference(match kind {
            "call" => ReferenceKind::Call,
            "import" => ReferenceKind::Import,
            _ => ReferenceKind::Reference,
        });
    }
    match capture {
        "import.module" => Role::Import(ImportRole::Module),
        "import.path" => Role::Import(ImportRole::Path),
        "import.include" => Role::Import(ImportRole::Include),
        "import.rust_mod" => Role::Import(ImportRole::RustMod),
        "import.rust_use" => Role::Import(ImportRole::RustUse),
        "import.php_use" => Role::Import(ImportRole::PhpUse),
        _ => Role::Ignore,
    }
}

impl LanguageQuery {
    fn compile(language: Language) -> Result<LanguageQuery, String> {
        let grammar = grammar(language);
        let source = query_sources(language).join("\n");
        let query = Query::new(&grammar, &source).map_err(|e| {
            format!(
                "line {} column {}: {:?}: {}",
                e.row + 1,
                e.column + 1,
                e.kind,
                e.message
            )
        })?;
        let roles = query.capture_names().iter().map(|c| role_of(c)).collect();
        Ok(LanguageQuery {
            grammar,
            query,
            roles,
        })
    }
}

impl Default for Analyzer {
    fn default() -> Analyzer {
        Analyzer::new()
    }
}

impl Analyzer {
    /// An analyzer with nothing compiled yet: each language's query is compiled by the
    /// first file of that language.
    pub fn new() -> Analyzer {
        Analyzer {
            queries: std::array::from_fn(|_| OnceLock::new()),
            budget: DEFAULT_PARSE_BUDGET,
        }
    }

    /// Compiles every language's query now; fails on the first broken one.
    pub fn compile_all(&self) -> Result<(), ParseError> {
        for language in Language::ALL {
            self.language_query(language)?;
        }
        Ok(())
    }

    /// The same analyzer with another time budget per file (for parsing and for querying each).
    pub fn with_budget(mut self, budget: Duration) -> Analyzer {
        self.budget = budget;
        self
    }

    fn language_query(&self, language: Language) -> Result<&LanguageQuery, ParseError> {
        let index = Language::ALL
            .iter()
            .position(|l| *l == language)
            .unwrap_or(0);
        self.queries[index]
            .get_or_init(|| LanguageQuery::compile(language))
            .as_ref()
            .map_err(|message| ParseError::Query {
                language,
                message: message.clone(),
            })
    }

    /// Parses `source` once and extracts its symbols, references and imports.
    ///
    /// A C file whose text is C++ (`.h` is C by name, but libstdc++, LLVM and most C++
    /// libraries use it for C++ headers) is parsed with the C++ grammar and query, as
    /// universal-ctags does for `.h`: the C grammar would spend most of its time in error
    /// recovery there and miss the classes, namespaces and methods.
    pub fn analyze(&self, language: Language, source: &[u8]) -> Result<FileAnalysis, ParseError> {
        let language = match language {
            Language::C if looks_like_cpp(source) => Language::Cpp,
            other => other,
        };
        let lq = self.language_query(language)?;
        let tree = self.parse(language, lq, source)?;
        CURSOR.with(|cell| {
            let mut slot = cell.borrow_mut();
            let cursor = slot.get_or_insert_with(QueryCursor::new);
            self.extract(language, lq, &tree, source, cursor)
        })
    }

    fn parse(
        &self,
        language: Language,
        lq: &LanguageQuery,
        source: &[u8],
    ) -> Result<Tree, ParseError> {
        PARSER.with(|cell| {
            let mut slot = cell.borrow_mut();
            let parser = slot.get_or_insert_with(Parser::new);
            parser
                .set_language(&lq.grammar)
                .map_err(|e| ParseError::Grammar {
                    language,
                    message: e.to_string(),
                })?;
            let deadline = Instant::now() + self.budget;
            let mut timed_out = false;
            let mut progress = |_: &tree_sitter::ParseState| {
                if Instant::now() > deadline {
                    timed_out = true;
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            };
            let len = source.len();
            let mut read = |offset: usize, _| {
                if offset < len {
                    &source[offset..]
                } else {
                    &[][..]
                }
            };
            let tree = parser.parse_with_options(
                &mut read,
                None,
                Some(ParseOptions::new().progress_callback(&mut progress)),
            );
            match tree {
                Some(tree) => Ok(tree),
                None => {
                    // A cancelled parse would otherwise be resumed by the next call.
                    parser.reset();
                    if timed_out {
                        Err(ParseError::Timeout {
                            language,
                            budget: self.budget,
                        })
                    } else {
                        Err(ParseError::NoTree { language })
                    }
                }
            }
        })
    }

    fn extract(
        &self,
        language: Language,
        lq: &LanguageQuery,
        tree: &Tree,
        source: &[u8],
        cursor: &mut QueryCursor,
    ) -> Result<FileAnalysis, ParseError> {
        // (pattern index, name node byte range, symbol)
        let mut definitions: Vec<(usize, (usize, usize), Symbol)> = Vec::new();
        let mut references: Vec<(usize, (usize, usize), Reference)> = Vec::new();
        let mut imports: Vec<(usize, Import)> = Vec::new();
        let mut import_refs: Vec<(usize, (usize, usize), Reference)> = Vec::new();

        let deadline = Instant::now() + self.budget;
        let mut timed_out = false;
        let mut progress = |_: &tree_sitter::QueryCursorState| {
            if Instant::now() > deadline {
                timed_out = true;
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        {
            let mut matches = cursor.matches_with_options(
                &lq.query,
                tree.root_node(),
                source,
                QueryCursorOptions::new().progress_callback(&mut progress),
            );
            while let Some(m) = matches.next() {
                let mut name: Option<Node> = None;
                let mut tolerate_errors = false;
                let mut definition: Option<(&str, Node)> = None;
                let mut reference: Option<ReferenceKind> = None;
                for capture in m.captures() {
                    match lq.roles.get(capture.index as usize) {
                        Some(Role::Name) => name = Some(capture.node),
                        Some(Role::TolerateErrors) => tolerate_errors = true,
                        Some(Role::Definition(kind)) => {
                            definition = Some((kind.as_str(), capture.node))
                        }
                        Some(Role::Reference(kind)) => reference = Some(*kind),
                        Some(Role::Import(role)) => collect_import(
                            *role,
                            capture.node,
                            source,
                            &mut imports,
                            &mut import_refs,
                        ),
                        Some(Role::Ignore) | None => {}
                    }
                }
                let Some(name) = name else { continue };
                let range = (name.start_byte(), name.end_byte());
                if let Some((kind, node)) = definition {
                    if (kind == "variable" || kind == "constant")
                        && !is_global(language, node, source)
                    {
                        continue;
                    }
                    let text = unquote(&node_text(name, source)).to_string();
                    if text.is_empty() {
                        continue;
                    }
                    // Declarations the C grammar could not parse (calling-convention and
                    // export macros: `EGLAPI EGLBoolean EGLAPIENTRY f(...)`) yield bogus
                    // variables and typedefs named after the macros: skip them.
                    if matches!(language, Language::C | Language::Cpp)
                        && matches!(kind, "variable" | "type")
                        && !tolerate_errors
                        && node.has_error()
                    {
                        continue;
                    }
                    // A macro line the grammar cannot know (`__BEGIN_DECLS`) swallows the
                    // `typedef` keyword of the next declaration, which then reads as a
                    // variable: the source still says it is a type.
                    let kind = if matches!(language, Language::C | Language::Cpp)
                        && kind == "variable"
                        && follows_typedef_keyword(source, node.start_byte())
                    {
                        "type"
                    } else if language == Language::Python
                        && kind == "function"
                        && defined_in_class_body(node)
                    {
                        // A method under an `if`/`try` in a class body (not a direct child,
                        // which the query already calls a method).
                        "method"
                    } else {
                        kind
                    };
                    // A symbol's line is its name's line, as ctags reports it (a C function's
                    // return type may sit on the line above); it ends where its definition ends.
                    let (_, mut line_end) = line_span(node);
                    if matches!(language, Language::TypeScript | Language::Tsx)
                        && matches!(kind, "function" | "method")
                    {
                        match overload(node, source) {
                            Overload::Later => continue,
                            Overload::First { line_end: end } => line_end = end,
                            Overload::Single => {}
                        }
                    }
                    let line_start = to_u32(name.start_position().row + 1).min(line_end);
                    definitions.push((
                        m.pattern_index,
                        range,
                        Symbol {
                            name: text,
                            kind: kind.to_string(),
                            line_start,
                            line_end,
                        },
                    ));
                } else if let Some(kind) = reference {
                    let text = node_text(name, source);
                    if text.is_empty() {
                        continue;
                    }
                    let start = name.start_position();
                    references.push((
                        m.pattern_index,
                        range,
                        Reference {
                            name: text,
                            kind,
                            line: to_u32(start.row + 1),
                            column: to_u32(start.column + 1),
                        },
                    ));
                }
            }
        }
        if timed_out {
            return Err(ParseError::Timeout {
                language,
                budget: self.budget,
            });
        }

        // One symbol per name node: the pattern written first wins.
        definitions.sort_by_key(|(pattern, range, _)| (range.0, range.1, *pattern));
        definitions.dedup_by_key(|(_, range, _)| *range);
        let defined: HashSet<(usize, usize)> = definitions.iter().map(|(_, r, _)| *r).collect();

        references.extend(import_refs);
        references.retain(|(_, range, _)| !defined.contains(range));
        references.sort_by_key(|(pattern, range, _)| (range.0, range.1, *pattern));
        references.dedup_by_key(|(_, range, _)| *range);

        imports.sort_by_key(|(start, _)| *start);
        let mut seen_imports = HashSet::new();
        imports.retain(|(start, import)| {
            seen_imports.insert((*start, import.spec.clone(), import.kind))
        });

        let mut symbols: Vec<Symbol> = definitions.into_iter().map(|(_, _, s)| s).collect();
        symbols.sort_by_key(|s| (s.line_start, s.line_end));
        Ok(FileAnalysis {
            symbols,
            references: references.into_iter().map(|(_, _, r)| r).collect(),
            imports: imports.into_iter().map(|(_, i)| i).collect(),
        })
    }
}

/// Whether a Python definition's nearest enclosing definition is a class.
fn defined_in_class_body(node: Node) -> bool {
    let mut current = node.parent();
    while let Some(ancestor) = current {
        match ancestor.kind() {
            "class_definition" => return true,
            "function_definition" | "lambda" => return false,
            _ => current = ancestor.parent(),
        }
    }
    false
}

/// Where a TypeScript function or method stands among overloads of its name.
#[derive(Debug, PartialEq)]
enum Overload {
    /// Not overloaded.
    Single,
    /// The first of consecutive declarations of one name, the signatures
    /// (`function f(a: A): R;`) and the implementation after them: the symbol of them all,
    /// ending where the last one ends.
    First { line_end: u32 },
    /// A later signature or the implementation: part of the first one's symbol.
    Later,
}

/// Consecutive declarations of one function (or method, in a class or an interface) whose
/// first is a signature are one symbol, as ctags reports overloads: the first signature,
/// spanning down to the implementation (or to the last signature of an ambient or
/// interface overload set).
fn overload<'t>(node: Node<'t>, source: &[u8]) -> Overload {
    const SIGNATURES: &[&str] = &[
        "function_signature",
        "method_signature",
        "abstract_method_signature",
    ];
    const OVERLOADABLE: &[&str] = &[
        "function_signature",
        "function_declaration",
        "generator_function_declaration",
        "method_signature",
        "abstract_method_signature",
        "method_definition",
    ];
    if !OVERLOADABLE.contains(&node.kind()) {
        return Overload::Single;
    }
    let name = |decl: Node<'t>| {
        decl.child_by_field_name("name")
            .map(|n| node_text(n, source))
            .unwrap_or_default()
    };
    let own = name(node);
    // The statement holding the declaration: `export`/`declare` wrap it.
    let mut statement = node;
    while let Some(parent) = statement.parent() {
        if matches!(parent.kind(), "export_statement" | "ambient_declaration") {
            statement = parent;
        } else {
            break;
        }
    }
    // The overloadable declaration in a sibling statement, if that is what it holds.
    let declaration_in = |sibling: Node<'t>| -> Option<Node<'t>> {
        let mut current = sibling;
        loop {
            if OVERLOADABLE.contains(&current.kind()) {
                return Some(current);
            }
            if !matches!(current.kind(), "export_statement" | "ambient_declaration") {
                return None;
            }
            let mut walker = current.walk();
            let inner = current
                .named_children(&mut walker)
                .find(|c| !matches!(c.kind(), "decorator" | "comment"))?;
            current = inner;
        }
    };
    // The next (or previous) statement past comments, with the declaration of the same
    // name it holds.
    let sibling_declaration = |from: Node<'t>, forward: bool| -> Option<(Node<'t>, Node<'t>)> {
        let mut current = from;
        loop {
            let next = if forward {
                current.next_named_sibling()
            } else {
                current.prev_named_sibling()
            };
            match next {
                Some(n) if n.kind() == "comment" => current = n,
                Some(n) => {
                    return declaration_in(n)
                        .filter(|d| name(*d) == own)
                        .map(|d| (n, d))
                }
                None => return None,
            }
        }
    };
    if sibling_declaration(statement, false).is_some_and(|(_, d)| SIGNATURES.contains(&d.kind())) {
        return Overload::Later;
    }
    if !SIGNATURES.contains(&node.kind()) {
        return Overload::Single;
    }
    let mut last = statement;
    let mut end = None;
    while let Some((holder, decl)) = sibling_declaration(last, true) {
        last = holder;
        end = Some(line_span(holder).1);
        if !SIGNATURES.contains(&decl.kind()) {
            break;
        }
    }
    match end {
        Some(line_end) => Overload::First { line_end },
        None => Overload::Single,
    }
}

/// Whether the last token before `offset` is the keyword `typedef`.
fn follows_typedef_keyword(source: &[u8], offset: usize) -> bool {
    let before = source.get(..offset).unwrap_or_default().trim_ascii_end();
    before.strip_suffix(b"typedef").is_some_and(|rest| {
        rest.last()
            .is_none_or(|&b| !(b.is_ascii_alphanumeric() || b == b'_'))
    })
}

/// Whether a C-named file is C++: some line starts with a construct C cannot have
/// (`namespace`, `template <`, `class Name`, an access specifier, `using namespace`,
/// `extern "C++"`). Headers that only wrap themselves in `extern "C"` for C++ callers
/// stay C. A line scan costs a small fraction of a parse.
fn looks_like_cpp(source: &[u8]) -> bool {
    fn word_then(line: &[u8], word: &[u8], next: impl Fn(u8) -> bool) -> bool {
        line.strip_prefix(word)
            .and_then(|rest| rest.first())
            .is_some_and(|&b| next(b))
    }
    fn access_specifier(line: &[u8]) -> bool {
        [&b"public"[..], b"private", b"protected"]
            .iter()
            .any(|word| {
                line.strip_prefix(*word)
                    .is_some_and(|rest| rest.trim_ascii_start().starts_with(b":"))
            })
    }
    let is_space = |b: u8| b == b' ' || b == b'\t';
    source.split(|&b| b == b'\n').any(|line| {
        let line = line.trim_ascii_start();
        match line.first() {
            Some(b'n') => word_then(line, b"namespace", |b| is_space(b) || b == b'{'),
            Some(b't') => line
                .strip_prefix(b"template")
                .is_some_and(|rest| rest.trim_ascii_start().starts_with(b"<")),
            Some(b'c') => word_then(line, b"class", is_space),
            Some(b'p') => access_specifier(line),
            Some(b'u') => line.starts_with(b"using namespace "),
            Some(b'e') => line.starts_with(b"extern \"C++\""),
            _ => false,
        }
    })
}

/// Whether a variable/constant definition is global (ctags leaves locals and C `extern`
/// declarations off by default): not inside a function body.
fn is_global(language: Language, node: Node, source: &[u8]) -> bool {
    let body_kinds: &[&str] = match language {
        Language::C | Language::Cpp => &["compound_statement"],
        Language::Go => &["block"],
        // Rust is not listed: `static` and `const` are items wherever they are written (a
        // `static` in a function lives as long as the program); the query captures no `let`.
        Language::Python => &["function_definition", "lambda"],
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            &["statement_block", "arrow_function", "class_body"]
        }
        _ => &[],
    };
    // The body of a TypeScript namespace, `declare module "x"` or `declare global` is a
    // statement block too, but what it declares is top-level.
    let namespace_body = |block: Node| {
        block.kind() == "statement_block"
            && block.parent().is_some_and(|p| {
                matches!(
                    p.kind(),
                    "internal_module" | "module" | "ambient_declaration"
                )
            })
    };
    if matches!(language, Language::C | Language::Cpp) {
        let mut walker = node.walk();
        let is_extern = node.children(&mut walker).any(|c| {
            c.kind() == "storage_class_specifier"
                && source.get(c.byte_range()) == Some(&b"extern"[..])
        });
        if is_extern {
            return false;
        }
    }
    let mut current = node.parent();
    let mut depth = 0;
    while let Some(ancestor) = current {
        if body_kinds.contains(&ancestor.kind()) && !namespace_body(ancestor) {
            return false;
        }
        depth += 1;
        if depth > 256 {
            break;
        }
        current = ancestor.parent();
    }
    true
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// 1-based inclusive lines of a node; a node ending at column 0 (a `#define` takes its
/// newline) ends on the line before.
fn line_span(node: Node) -> (u32, u32) {
    let start = node.start_position();
    let end = node.end_position();
    let end_row = if end.column == 0 && end.row > start.row {
        end.row - 1
    } else {
        end.row
    };
    (to_u32(start.row + 1), to_u32(end_row + 1))
}

fn node_text(node: Node, source: &[u8]) -> String {
    let bytes = source.get(node.byte_range()).unwrap_or(&[]);
    String::from_utf8_lossy(bytes).trim().to_string()
}

/// An import target without its quotes or angle brackets.
fn unquote(text: &str) -> &str {
    let text = text.trim();
    let text = text.trim_start_matches(['"', '\'', '`', '<']);
    text.trim_end_matches(['"', '\'', '`', '>'])
}

fn collect_import(
    role: ImportRole,
    node: Node,
    source: &[u8],
    imports: &mut Vec<(usize, Import)>,
    import_refs: &mut Vec<(usize, (usize, usize), Reference)>,
) {
    let line = to_u32(node.start_position().row + 1);
    let mut push = |spec: String, kind: ImportKind| {
        if !spec.is_empty() {
            imports.push((node.start_byte(), Import { spec, kind, line }));
        }
    };
    match role {
        ImportRole::Module => {
            let mut spec = unquote(&node_text(node, source)).to_string();
            // Java `import a.b.*;`: the `*` is a sibling of the name.
            if let Some(parent) = node.parent() {
                let mut walker = parent.walk();
                if parent.kind() == "import_declaration"
                    && parent.children(&mut walker).any(|c| c.kind() == "asterisk")
                {
                    spec.push_str(".*");
                }
            }
            push(spec, ImportKind::Module)
        }
        ImportRole::PhpUse => {
            let mut spec = node_text(node, source).trim_start_matches('\\').to_string();
            let group_prefix = node
                .parent()
                .filter(|clause| clause.kind() == "namespace_use_clause")
                .and_then(|clause| clause.parent())
                .filter(|group| group.kind() == "namespace_use_group")
                .and_then(|group| group.parent())
                .and_then(|decl| {
                    let mut walker = decl.walk();
                    let prefix = decl
                        .named_children(&mut walker)
                        .find(|c| c.kind() == "namespace_name");
                    prefix
                });
            if let Some(prefix) = group_prefix {
                let prefix = node_text(prefix, source);
                spec = format!(
                    "{}\\{}",
                    prefix.trim_start_matches('\\').trim_end_matches('\\'),
                    spec
                );
            }
            push(spec, ImportKind::Module)
        }
        ImportRole::Path => push(
            unquote(&node_text(node, source)).to_string(),
            ImportKind::Path,
        ),
        ImportRole::Include => {
            let kind = if node.kind() == "system_lib_string" {
                ImportKind::IncludeSystem
            } else {
                ImportKind::IncludeLocal
            };
            push(unquote(&node_text(node, source)).to_string(), kind)
        }
        ImportRole::RustMod => push(node_text(node, source), ImportKind::RustMod),
        ImportRole::RustUse => {
            let mut specs = Vec::new();
            expand_rust_use(node, source, "", &mut specs, 0);
            for (spec, name) in specs {
                push(spec, ImportKind::Module);
                if let Some(name) = name {
                    let start = name.start_position();
                    import_refs.push((
                        usize::MAX,
                        (name.start_byte(), name.end_byte()),
                        Reference {
                            name: node_text(name, source),
                            kind: ReferenceKind::Import,
                            line: to_u32(start.row + 1),
                            column: to_u32(start.column + 1),
                        },
                    ));
                }
            }
        }
    }
}

fn join_path(prefix: &str, rest: &str) -> String {
    match (prefix.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}::{rest}"),
    }
}

/// Expands a Rust `use` argument into one `::` path per imported item, with the node of
/// the name it brings in (if any): `a::{b, c::D}` → `a::b`, `a::c::D`.
fn expand_rust_use<'t>(
    node: Node<'t>,
    source: &[u8],
    prefix: &str,
    out: &mut Vec<(String, Option<Node<'t>>)>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    match node.kind() {
        "scoped_use_list" => {
            let path = node
                .child_by_field_name("path")
                .map(|p| node_text(p, source))
                .unwrap_or_default();
            let prefix = join_path(prefix, &path);
            if let Some(list) = node.child_by_field_name("list") {
                expand_rust_use(list, source, &prefix, out, depth + 1);
            }
        }
        "use_list" => {
            let mut walker = node.walk();
            for child in node.named_children(&mut walker) {
                expand_rust_use(child, source, prefix, out, depth + 1);
            }
        }
        "use_as_clause" => {
            if let Some(path) = node.child_by_field_name("path") {
                let alias = node.child_by_field_name("alias");
                let before = out.len();
                expand_rust_use(path, source, prefix, out, depth + 1);
                if let (Some(alias), Some(last)) = (alias, out.get_mut(before)) {
                    last.1 = Some(alias);
                }
            }
        }
        "self" if !prefix.is_empty() => out.push((prefix.to_string(), None)),
        "scoped_identifier" | "identifier" | "crate" | "self" | "super" | "use_wildcard"
        | "metavariable" => {
            let text = node_text(node, source);
            let name = match node.kind() {
                "scoped_identifier" => node.child_by_field_name("name"),
                "identifier" => Some(node),
                _ => None,
            };
            out.push((join_path(prefix, &text), name));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyzer() -> &'static Analyzer {
        static ANALYZER: std::sync::OnceLock<Analyzer> = std::sync::OnceLock::new();
        ANALYZER.get_or_init(Analyzer::new)
    }

    fn analyze(language: Language, src: &str) -> FileAnalysis {
        match analyzer().analyze(language, src.as_bytes()) {
            Ok(analysis) => analysis,
            Err(e) => panic!("{e}"),
        }
    }

    fn symbols(analysis: &FileAnalysis) -> Vec<(&str, &str, u32, u32)> {
        analysis
            .symbols
            .iter()
            .map(|s| (s.name.as_str(), s.kind.as_str(), s.line_start, s.line_end))
            .collect()
    }

    fn imports(analysis: &FileAnalysis) -> Vec<(&str, ImportKind, u32)> {
        analysis
            .imports
            .iter()
            .map(|i| (i.spec.as_str(), i.kind, i.line))
            .collect()
    }

    fn assert_no_comment_symbol(analysis: &FileAnalysis) {
        assert!(
            analysis.symbols.iter().all(|s| s.name != "NotASymbol"),
            "a name only in a comment became a symbol"
        );
        assert!(analysis.references.iter().all(|r| r.name != "NotASymbol"));
    }

    fn assert_reference(
        analysis: &FileAnalysis,
        name: &str,
        kind: ReferenceKind,
        line: u32,
        column: u32,
    ) {
        let expected = Reference {
            name: name.to_string(),
            kind,
            line,
            column,
        };
        assert!(
            analysis.references.contains(&expected),
            "missing {expected:?} in {:?}",
            analysis.references
        );
    }

    #[test]
    fn queries_compile() {
        if let Err(e) = Analyzer::new().compile_all() {
            panic!("{e}");
        }
    }

    #[test]
    fn a_cpp_header_named_dot_h_is_parsed_as_cpp() {
        let header = "#pragma once\nnamespace geo {\ntemplate <typename T>\nclass Point {\n public:\n  T norm() const { return x; }\n  T x;\n};\n}\n";
        let analysis = analyze(Language::C, header);
        let found = symbols(&analysis);
        for expected in [
            ("geo", "namespace", 2, 9),
            ("Point", "class", 4, 8),
            ("norm", "function", 6, 6),
            ("x", "field", 7, 7),
        ] {
            assert!(
                found.contains(&expected),
                "{expected:?} missing in {found:?}"
            );
        }
    }

    #[test]
    fn a_c_header_ready_for_cpp_callers_stays_c() {
        let header = "#ifdef __cplusplus\nextern \"C\" {\n#endif\n/* the class of a packet; template below */\nstruct packet { int class_id; };\nint packet_send(struct packet *p);\n#ifdef __cplusplus\n}\n#endif\n";
        assert!(!looks_like_cpp(header.as_bytes()));
        for cpp in [
            "namespace a {}",
            "  template<class T> T f();",
            "class A;",
            "  public:",
            "protected :",
            "using namespace std;",
            "extern \"C++\" {",
        ] {
            assert!(looks_like_cpp(cpp.as_bytes()), "{cpp}");
        }
        for c in [
            "int namespace_count;",
            "classify(x);",
            "template_t t;",
            "public_key k;",
        ] {
            assert!(!looks_like_cpp(c.as_bytes()), "{c}");
        }
    }

    #[test]
    fn empty_file_has_nothing() {
        for language in Language::ALL {
            assert_eq!(analyze(language, ""), FileAnalysis::default(), "{language}");
        }
    }

    #[test]
    fn invalid_utf8_does_not_panic() {
        let mut src = b"int good_one(void) { return 0; }\nchar *s = \"".to_vec();
        src.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
        src.extend_from_slice(
            b"\";\nint \xffbad(void) { return 1; }\nint good_two(void) { return 2; }\n",
        );
        let analysis = match analyzer().analyze(Language::C, &src) {
            Ok(analysis) => analysis,
            Err(e) => panic!("{e}"),
        };
        let names: Vec<&str> = analysis.symbols.iter().map(|s| s.name.as_str()).collect();
        assert!(names.contains(&"good_one"), "{names:?}");
        assert!(names.contains(&"good_two"), "{names:?}");
        for language in Language::ALL {
            let _ = analyzer().analyze(language, &src);
        }
    }

    #[test]
    fn one_megabyte_line_does_not_hang() {
        let mut src = String::from("int x = 0");
        while src.len() < 1 << 20 {
            src.push_str(" + (a[1] * f(2))");
        }
        src.push_str(";\n");
        let started = Instant::now();
        for language in [
            Language::C,
            Language::JavaScript,
            Language::Python,
            Language::Rust,
        ] {
            // Either a result or a timeout error: never a hang.
            let _ = analyzer().analyze(language, src.as_bytes());
        }
        assert!(started.elapsed() < Duration::from_secs(60));
    }

    #[test]
    fn parse_budget_turns_into_timeout_error() {
        let analyzer = Analyzer::new().with_budget(Duration::from_nanos(1));
        let src = "int f(void) { return 1; }\n".repeat(20_000);
        match analyzer.analyze(Language::C, src.as_bytes()) {
            Err(ParseError::Timeout { .. }) => {}
            other => panic!("expected a timeout, got {other:?}"),
        }
        // The thread's parser was reset: the next file parses from scratch.
        let ok = Analyzer::new().analyze(Language::C, b"int g(void) { return 0; }\n");
        match ok {
            Ok(analysis) => assert_eq!(symbols(&analysis), vec![("g", "function", 1, 1)]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rust_use_lists_expand() {
        let analysis = analyze(
            Language::Rust,
            "use a::{b, c::D, e::{self, F as G}};\nuse super::*;\nmod inline { fn f() {} }\n",
        );
        assert_eq!(
            imports(&analysis),
            vec![
                ("a::b", ImportKind::Module, 1),
                ("a::c::D", ImportKind::Module, 1),
                ("a::e", ImportKind::Module, 1),
                ("a::e::F", ImportKind::Module, 1),
                ("super::*", ImportKind::Module, 2),
            ]
        );
        assert_reference(&analysis, "G", ReferenceKind::Import, 1, 33);
        assert_eq!(
            symbols(&analysis),
            vec![("inline", "module", 3, 3), ("f", "function", 3, 3)]
        );
    }

    /// Throughput on C headers: `cargo test --release -- --ignored --nocapture throughput`.
    #[test]
    #[ignore]
    fn throughput_c_headers() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "h") {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(std::path::Path::new("/usr/include"), &mut files);
        let sources: Vec<Vec<u8>> = files.iter().filter_map(|f| std::fs::read(f).ok()).collect();
        let bytes: usize = sources.iter().map(Vec::len).sum();
        let started = Instant::now();
        let (mut symbols, mut references, mut failures) = (0, 0, 0);
        for source in &sources {
            match analyzer().analyze(Language::C, source) {
                Ok(a) => {
                    symbols += a.symbols.len();
                    references += a.references.len();
                }
                Err(_) => failures += 1,
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{} files, {:.1} MB in {seconds:.2}s: {:.2} MB/s on one core; {symbols} symbols, {references} references, {failures} failures",
            sources.len(),
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / seconds
        );
    }

    #[test]
    fn rust_snippet() {
        let src = r##"//! Storage layer. Mentions NotASymbol in a doc comment.
use std::collections::HashMap;
use crate::model::{Symbol, store::Store as S};
mod helpers;

pub const LIMIT: usize = 10;
static COUNTER: u32 = 0;

/// A cache of symbols.
pub struct Cache {
    entries: HashMap<String, Symbol>,
}

pub enum Mode { Fast, Slow }

pub trait Lookup {
    fn find(&self, name: &str) -> Option<&Symbol>;
}

impl Lookup for Cache {
    fn find(&self, name: &str) -> Option<&Symbol> {
        self.entries.get(name)
    }
}

type Map = HashMap<String, u32>;

macro_rules! log { ($x:expr) => { println!("{}", $x) }; }

pub fn build() -> Cache {
    let c = Cache { entries: HashMap::new() };
    log!(LIMIT);
    static ONCE: u8 = 0;
    c
}
extern "C" {
    pub fn abs(x: i32) -> i32;
}
"##;
        let analysis = analyze(Language::Rust, src);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("helpers", "module", 4, 4),
                ("LIMIT", "constant", 6, 6),
                ("COUNTER", "variable", 7, 7),
                ("Cache", "struct", 10, 12),
                ("entries", "field", 11, 11),
                ("Mode", "enum", 14, 14),
                ("Fast", "enumerator", 14, 14),
                ("Slow", "enumerator", 14, 14),
                ("Lookup", "trait", 16, 18),
                ("find", "method", 17, 17),
                ("find", "method", 21, 23),
                ("Map", "type", 26, 26),
                ("log", "macro", 28, 28),
                ("build", "function", 30, 35),
                ("ONCE", "variable", 33, 33),
                ("abs", "function", 37, 37),
            ]
        );
        assert_no_comment_symbol(&analysis);
        assert_reference(&analysis, "HashMap", ReferenceKind::Import, 2, 23);
        assert_reference(&analysis, "Cache", ReferenceKind::Reference, 20, 17);
        assert_reference(&analysis, "get", ReferenceKind::Call, 22, 22);
        assert_reference(&analysis, "log", ReferenceKind::Call, 32, 5);
        assert_eq!(
            imports(&analysis),
            vec![
                ("std::collections::HashMap", ImportKind::Module, 2),
                ("crate::model::Symbol", ImportKind::Module, 3),
                ("crate::model::store::Store", ImportKind::Module, 3),
                ("helpers", ImportKind::RustMod, 4),
            ]
        );
    }

    #[test]
    fn python_snippet() {
        let src = r##""""Module docs mention NotASymbol."""
import os.path
import numpy as np
from ..core import Engine, run as start
from . import utils

MAX_SIZE = 100
a, b = 1, 2

class Base:
    pass

class Indexer(Base):
    """Indexes NotASymbol files."""
    kind = "fs"

    def __init__(self, root):
        self.root = root

    @property
    def size(self):
        return len(self.files())

    def files(self):
        return os.listdir(self.root)

def main():
    # NotASymbol here either
    idx = Indexer(".")
    start(idx)
"##;
        let analysis = analyze(Language::Python, src);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("MAX_SIZE", "variable", 7, 7),
                ("a", "variable", 8, 8),
                ("b", "variable", 8, 8),
                ("Base", "class", 10, 11),
                ("Indexer", "class", 13, 25),
                ("kind", "variable", 15, 15),
                ("__init__", "method", 17, 18),
                ("size", "method", 21, 22),
                ("files", "method", 24, 25),
                ("main", "function", 27, 30),
            ]
        );
        assert_no_comment_symbol(&analysis);
        assert_reference(&analysis, "Engine", ReferenceKind::Import, 4, 20);
        assert_reference(&analysis, "Base", ReferenceKind::Reference, 13, 15);
        assert_reference(&analysis, "listdir", ReferenceKind::Call, 25, 19);
        assert_reference(&analysis, "Indexer", ReferenceKind::Call, 29, 11);
        assert_eq!(
            imports(&analysis),
            vec![
                ("os.path", ImportKind::Module, 2),
                ("numpy", ImportKind::Module, 3),
                ("..core", ImportKind::Module, 4),
                (".", ImportKind::Module, 5),
            ]
        );
    }

    #[test]
    fn javascript_snippet() {
        let src = r##"// NotASymbol in a comment
import React, { useState } from "react";
import * as path from './path.js';
export { helper } from "./helper";
const fs = require("fs");

const MAX = 5;
let counter = 0;

class Widget extends Component {
  constructor(props) {
    super(props);
  }
  render() {
    return this.draw(MAX);
  }
}

function setup(config) {
  const local = 1;
  return new Widget(config);
}

const handler = (event) => {
  console.log(event);
};

async function load() {
  const mod = await import("./lazy.js");
  return mod;
}
"##;
        let analysis = analyze(Language::JavaScript, src);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("fs", "constant", 5, 5),
                ("MAX", "constant", 7, 7),
                ("counter", "variable", 8, 8),
                ("Widget", "class", 10, 17),
                ("constructor", "method", 11, 13),
                ("render", "method", 14, 16),
                ("setup", "function", 19, 22),
                ("handler", "function", 24, 26),
                ("load", "function", 28, 31),
            ]
        );
        assert_no_comment_symbol(&analysis);
        assert_reference(&analysis, "useState", ReferenceKind::Import, 2, 17);
        assert_reference(&analysis, "Component", ReferenceKind::Reference, 10, 22);
        assert_reference(&analysis, "draw", ReferenceKind::Call, 15, 17);
        assert_reference(&analysis, "Widget", ReferenceKind::Reference, 21, 14);
        assert_eq!(
            imports(&analysis),
            vec![
                ("react", ImportKind::Path, 2),
                ("./path.js", ImportKind::Path, 3),
                ("./helper", ImportKind::Path, 4),
                ("fs", ImportKind::Path, 5),
                ("./lazy.js", ImportKind::Path, 29),
            ]
        );

        // Modern class members: private (`#x`) fields, methods and accessors, static ones,
        // class fields, getters and setters, symbol-named methods, a static block (no
        // symbol), decorators, and the `export default` forms.
        let modern = r##"const kState = Symbol("state");
@sealed
export default class Pool extends Base {
  #queue = [];
  #size;
  static #instances = 0;
  static defaultSize = 4;
  name = "pool";
  [kState] = null;
  static {
    const hidden = 1;
    Pool.#instances = hidden;
  }
  #drain() {
    return this.#queue.shift();
  }
  static #create() {}
  get #busy() { return this.#size > 0; }
  set #busy(v) {}
  get size() { return this.#size; }
  set size(value) { this.#size = value; }
  static get instances() { return Pool.#instances; }
  @logged
  async run() { this.#drain(); }
  *[Symbol.iterator]() {}
}
export default function makePool() {}
export default class {}
export default function () {}
"##;
        let analysis = analyze(Language::JavaScript, modern);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("kState", "constant", 1, 1),
                ("Pool", "class", 3, 26),
                ("#queue", "field", 4, 4),
                ("#size", "field", 5, 5),
                ("#instances", "field", 6, 6),
                ("defaultSize", "field", 7, 7),
                ("name", "field", 8, 8),
                ("[kState]", "field", 9, 9),
                ("#drain", "method", 14, 16),
                ("#create", "method", 17, 17),
                ("#busy", "method", 18, 18),
                ("#busy", "method", 19, 19),
                ("size", "method", 20, 20),
                ("size", "method", 21, 21),
                ("instances", "method", 22, 22),
                ("run", "method", 24, 24),
                ("[Symbol.iterator]", "method", 25, 25),
                ("makePool", "function", 27, 27),
            ]
        );
        assert_reference(&analysis, "#drain", ReferenceKind::Call, 24, 22);
    }

    #[test]
    fn typescript_snippet() {
        let src = r##"// NotASymbol in a comment
import { Request, Response } from "express";
import type { Config } from "./config";

export interface Store {
  get(key: string): string;
  size: number;
}

export type Key = string | number;

export enum Color { Red, Green = 2 }

namespace Util {
  export function id<T>(x: T): T { return x; }
}

export abstract class Base {
  abstract run(): void;
}

export class MemoryStore extends Base implements Store {
  private data: Map<string, string> = new Map();
  size = 0;
  get(key: string): string {
    return this.data.get(key) ?? "";
  }
  run(): void {}
}

export const makeStore = (): Store => new MemoryStore();
"##;
        let analysis = analyze(Language::TypeScript, src);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("Store", "interface", 5, 8),
                ("get", "method", 6, 6),
                ("size", "property", 7, 7),
                ("Key", "type", 10, 10),
                ("Color", "enum", 12, 12),
                ("Red", "enumerator", 12, 12),
                ("Green", "enumerator", 12, 12),
                ("Util", "namespace", 14, 16),
                ("id", "function", 15, 15),
                ("Base", "class", 18, 20),
                ("run", "method", 19, 19),
                ("MemoryStore", "class", 22, 29),
                ("data", "property", 23, 23),
                ("size", "property", 24, 24),
                ("get", "method", 25, 27),
                ("run", "method", 28, 28),
                ("makeStore", "function", 31, 31),
            ]
        );
        assert_no_comment_symbol(&analysis);
        assert_reference(&analysis, "Request", ReferenceKind::Import, 2, 10);
        assert_reference(&analysis, "Base", ReferenceKind::Reference, 22, 34);
        assert_reference(&analysis, "Store", ReferenceKind::Reference, 22, 50);
        assert_reference(&analysis, "get", ReferenceKind::Call, 26, 22);
        assert_eq!(
            imports(&analysis),
            vec![
                ("express", ImportKind::Path, 2),
                ("./config", ImportKind::Path, 3),
            ]
        );

        // Overloads, abstract members, `declare` forms, private and static members,
        // accessors, parameter properties, decorators and `export default`.
        let modern = r##"export function parse(text: string): number;
export function parse(bytes: Uint8Array): number;
// the implementation
export function parse(input: string | Uint8Array): number {
  return 0;
}
declare function ambient(x: number): void;
declare const VERSION: string;
declare let mutable: number;
declare class Native { open(): void; }
declare module "virtual:config" {
  export const flags: string[];
}
declare global {
  interface Window { app: App }
  var debug: boolean;
}
declare namespace Legacy {
  const level: number;
}
@Component({ selector: "app" })
export default abstract class Shape {
  #id = 0;
  static count = 0;
  protected abstract readonly sides: number;
  abstract area(): number;
  constructor(private readonly origin: Point, public label?: string) {}
  @Input() color = "red";
  get id(): number { return this.#id; }
  set id(value: number) { this.#id = value; }
  move(dx: number): void;
  move(dx: number, dy: number): void;
  move(dx: number, dy = 0): void {}
  #reset(): void {}
  static create(): Shape { return null!; }
}
export default function build(): void {}
type Options = { depth: number; walk(): void };
function visit(node: { kind: string; next(): void }): void {}
"##;
        let analysis = analyze(Language::TypeScript, modern);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("parse", "function", 1, 6),
                ("ambient", "function", 7, 7),
                ("VERSION", "constant", 8, 8),
                ("mutable", "variable", 9, 9),
                ("Native", "class", 10, 10),
                ("open", "method", 10, 10),
                ("virtual:config", "module", 11, 13),
                ("flags", "constant", 12, 12),
                ("Window", "interface", 15, 15),
                ("app", "property", 15, 15),
                ("debug", "variable", 16, 16),
                ("Legacy", "namespace", 18, 20),
                ("level", "constant", 19, 19),
                ("Shape", "class", 22, 36),
                ("#id", "property", 23, 23),
                ("count", "property", 24, 24),
                ("sides", "property", 25, 25),
                ("area", "method", 26, 26),
                ("constructor", "method", 27, 27),
                ("origin", "property", 27, 27),
                ("label", "property", 27, 27),
                ("color", "property", 28, 28),
                ("id", "method", 29, 29),
                ("id", "method", 30, 30),
                ("move", "method", 31, 33),
                ("#reset", "method", 34, 34),
                ("create", "method", 35, 35),
                ("build", "function", 37, 37),
                ("Options", "type", 38, 38),
                ("depth", "property", 38, 38),
                ("walk", "method", 38, 38),
                ("visit", "function", 39, 39),
            ]
        );
    }

    #[test]
    fn tsx_snippet() {
        let src = r##"// NotASymbol in a comment
import React from "react";
import { Button } from "./button";

interface Props {
  title: string;
}

export function Header({ title }: Props) {
  return <h1 className="title">{title}</h1>;
}

export const App = () => {
  const onClick = () => alert("hi");
  return (
    <div>
      <Header title="x" />
      <Button onClick={onClick} />
    </div>
  );
};

export default class Page extends React.Component<Props> {
  render() {
    return <App />;
  }
}
"##;
        let analysis = analyze(Language::Tsx, src);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("Props", "interface", 5, 7),
                ("title", "property", 6, 6),
                ("Header", "function", 9, 11),
                ("App", "function", 13, 21),
                ("onClick", "function", 14, 14),
                ("Page", "class", 23, 27),
                ("render", "method", 24, 26),
            ]
        );
        assert_no_comment_symbol(&analysis);
        assert_reference(&analysis, "Button", ReferenceKind::Import, 3, 10);
        assert_reference(&analysis, "Props", ReferenceKind::Reference, 9, 35);
        assert_reference(&analysis, "Header", ReferenceKind::Reference, 17, 8);
        assert_reference(&analysis, "alert", ReferenceKind::Call, 14, 25);
        assert_eq!(
            imports(&analysis),
            vec![
                ("react", ImportKind::Path, 2),
                ("./button", ImportKind::Path, 3),
            ]
        );
    }

    #[test]
    fn go_snippet() {
        let src = r##"// Package store mentions NotASymbol.
package store

import (
	"fmt"
	str "strings"
)

const MaxSize = 10

var defaultName = "x"

type Item struct {
	Name  string
	Count int
}

type Getter interface {
	Get(key string) (*Item, error)
}

type ID int

func NewItem(name string) *Item {
	var local = 1
	_ = local
	return &Item{Name: str.ToUpper(name)}
}

func (i *Item) String() string {
	return fmt.Sprintf("%s:%d", i.Name, i.Count)
}
"##;
        let analysis = analyze(Language::Go, src);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("store", "package", 2, 2),
                ("MaxSize", "constant", 9, 9),
                ("defaultName", "variable", 11, 11),
                ("Item", "struct", 13, 16),
                ("Name", "field", 14, 14),
                ("Count", "field", 15, 15),
                ("Getter", "interface", 18, 20),
                ("Get", "method", 19, 19),
                ("ID", "type", 22, 22),
                ("NewItem", "function", 24, 28),
                ("String", "method", 30, 32),
            ]
        );
        assert_no_comment_symbol(&analysis);
        assert_reference(&analysis, "Item", ReferenceKind::Reference, 19, 20);
        assert_reference(&analysis, "ToUpper", ReferenceKind::Call, 27, 25);
        assert_reference(&analysis, "Sprintf", ReferenceKind::Call, 31, 13);
        assert_eq!(
            imports(&analysis),
            vec![
                ("fmt", ImportKind::Module, 5),
                ("strings", ImportKind::Module, 6),
            ]
        );
    }

    #[test]
    fn python_definitions_inside_module_and_class_blocks() {
        let src = "try:\n    import fast as impl\nexcept ImportError:\n    impl = None\n\
for key in KEYS:\n    value = key.upper()\n\
class Conn:\n    if DEBUG:\n        def _log(self, msg):\n            line = msg\n\
def main():\n    local = 1\n";
        let analysis = analyze(Language::Python, src);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("impl", "variable", 4, 4),
                ("value", "variable", 6, 6),
                ("Conn", "class", 7, 10),
                ("_log", "method", 9, 10),
                ("main", "function", 11, 12),
            ],
            "assignments in functions are locals, not symbols"
        );
    }

    #[test]
    fn c_declarators_behind_unknown_macros() {
        let src = "typedef void (APIENTRYP PFNGLCULLFACEPROC) (GLenum mode);\n\
typedef void (GLAPIENTRY *PFNGLFOOPROC) (void);\n\
typedef EGLBoolean (EGLAPIENTRYP PFNEGLBINDAPIPROC) (EGLenum api);\n\
typedef const char *(EGLAPIENTRYP PFNEGLQUERYSTRINGPROC) (EGLDisplay dpy, EGLint name);\n\
struct argp { char *(*help_filter) (int key, const char *text); };\n\
EGLAPI EGLBoolean EGLAPIENTRY eglBindAPI (EGLenum api);\n\
__BEGIN_DECLS\n\
typedef uint16_t n_short;\n\
PR_BEGIN_EXTERN_C\n\
typedef struct PLOptionInternal PLOptionInternal;\n\
int my_typedef;\n";
        let analysis = analyze(Language::C, src);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("PFNGLCULLFACEPROC", "type", 1, 1),
                ("PFNGLFOOPROC", "type", 2, 2),
                ("PFNEGLBINDAPIPROC", "type", 3, 3),
                ("PFNEGLQUERYSTRINGPROC", "type", 4, 4),
                ("argp", "struct", 5, 5),
                ("help_filter", "field", 5, 5),
                ("n_short", "type", 8, 8),
                ("PLOptionInternal", "type", 10, 10),
                ("my_typedef", "variable", 11, 11),
            ],
            "the prototype on line 6 is no definition, and no macro becomes a symbol"
        );
    }

    #[test]
    fn c_snippet() {
        let src = r##"/* NotASymbol in a comment */
#include <stdio.h>
#include "list.h"

#define MAX_ITEMS 64
#define SQUARE(x) ((x) * (x))

typedef struct node {
    int value;
    struct node *next;
} node_t;

union number { int i; float f; };

enum color { RED, GREEN = 2 };

typedef int (*compare_fn)(const void *, const void *);

static int counter = 0;
extern int shared;
int prototype_only(int a);

static node_t *node_new(int value)
{
    node_t *n = malloc(sizeof(node_t));
    n->value = value;
    return n;
}

int main(void)
{
    node_t *head = node_new(SQUARE(2));
    printf("%d\n", head->value);
    return 0;
}
"##;
        let analysis = analyze(Language::C, src);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("MAX_ITEMS", "macro", 5, 5),
                ("SQUARE", "macro", 6, 6),
                ("node", "struct", 8, 11),
                ("value", "field", 9, 9),
                ("next", "field", 10, 10),
                ("node_t", "type", 11, 11),
                ("number", "union", 13, 13),
                ("i", "field", 13, 13),
                ("f", "field", 13, 13),
                ("color", "enum", 15, 15),
                ("RED", "enumerator", 15, 15),
                ("GREEN", "enumerator", 15, 15),
                ("compare_fn", "type", 17, 17),
                ("counter", "variable", 19, 19),
                ("node_new", "function", 23, 28),
                ("main", "function", 30, 35),
            ]
        );
        assert_no_comment_symbol(&analysis);
        assert_reference(&analysis, "malloc", ReferenceKind::Call, 25, 17);
        assert_reference(&analysis, "node_new", ReferenceKind::Call, 32, 20);
        assert_reference(&analysis, "SQUARE", ReferenceKind::Call, 32, 29);
        assert_reference(&analysis, "node_t", ReferenceKind::Reference, 23, 8);
        assert_eq!(
            imports(&analysis),
            vec![
                ("stdio.h", ImportKind::IncludeSystem, 2),
                ("list.h", ImportKind::IncludeLocal, 3),
            ]
        );
    }

    #[test]
    fn cpp_snippet() {
        let src = r##"// NotASymbol in a comment
#include <vector>
#include "shape.hpp"

namespace geo {

class Shape {
public:
    virtual ~Shape() = default;
    virtual double area() const = 0;
protected:
    int id_;
};

class Circle : public Shape {
public:
    explicit Circle(double r) : r_(r) {}
    double area() const override { return 3.14 * r_ * r_; }
private:
    double r_;
};

struct Point { int x; int y; };

using Shapes = std::vector<Shape*>;

double total(const Shapes& shapes);

}  // namespace geo

double geo::total(const Shapes& shapes) {
    double sum = 0;
    for (auto* s : shapes) sum += s->area();
    return sum;
}

int main() {
    geo::Circle* c = new geo::Circle(2.0);
    return static_cast<int>(geo::total({c}));
}
"##;
        let analysis = analyze(Language::Cpp, src);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("geo", "namespace", 5, 29),
                ("Shape", "class", 7, 13),
                ("~Shape", "function", 9, 9),
                ("id_", "field", 12, 12),
                ("Circle", "class", 15, 21),
                ("Circle", "function", 17, 17),
                ("area", "function", 18, 18),
                ("r_", "field", 20, 20),
                ("Point", "struct", 23, 23),
                ("x", "field", 23, 23),
                ("y", "field", 23, 23),
                ("Shapes", "type", 25, 25),
                ("total", "function", 31, 35),
                ("main", "function", 37, 40),
            ]
        );
        assert_no_comment_symbol(&analysis);
        assert_reference(&analysis, "Shape", ReferenceKind::Reference, 15, 23);
        assert_reference(&analysis, "area", ReferenceKind::Call, 33, 38);
        assert_reference(&analysis, "total", ReferenceKind::Call, 39, 34);
        assert_reference(&analysis, "Circle", ReferenceKind::Reference, 38, 31);
        assert_eq!(
            imports(&analysis),
            vec![
                ("vector", ImportKind::IncludeSystem, 2),
                ("shape.hpp", ImportKind::IncludeLocal, 3),
            ]
        );
    }

    #[test]
    fn java_snippet() {
        let src = r##"package com.example.store;

import java.util.List;
import java.util.*;
import static java.lang.Math.max;

/** NotASymbol in a doc comment. */
public class Inventory extends Base implements Store, Comparable<Inventory> {
    private static final int LIMIT = 10;
    private final List<Item> items = new ArrayList<>();

    public Inventory() {
        super();
    }

    public void add(Item item) {
        items.add(item);
        log(max(1, LIMIT));
    }

    interface Listener {
        void changed(Item item);
    }

    enum State { OPEN, CLOSED }
}
"##;
        let analysis = analyze(Language::Java, src);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("com.example.store", "package", 1, 1),
                ("Inventory", "class", 8, 26),
                ("LIMIT", "field", 9, 9),
                ("items", "field", 10, 10),
                ("Inventory", "method", 12, 14),
                ("add", "method", 16, 19),
                ("Listener", "interface", 21, 23),
                ("changed", "method", 22, 22),
                ("State", "enum", 25, 25),
                ("OPEN", "enumerator", 25, 25),
                ("CLOSED", "enumerator", 25, 25),
            ]
        );
        assert_no_comment_symbol(&analysis);
        assert_reference(&analysis, "List", ReferenceKind::Import, 3, 18);
        assert_reference(&analysis, "Base", ReferenceKind::Reference, 8, 32);
        assert_reference(&analysis, "Store", ReferenceKind::Reference, 8, 48);
        assert_reference(&analysis, "add", ReferenceKind::Call, 17, 15);
        assert_reference(&analysis, "max", ReferenceKind::Call, 18, 13);
        assert_eq!(
            imports(&analysis),
            vec![
                ("java.util.List", ImportKind::Module, 3),
                ("java.util.*", ImportKind::Module, 4),
                ("java.lang.Math.max", ImportKind::Module, 5),
            ]
        );
    }

    #[test]
    fn ruby_snippet() {
        let src = r##"# NotASymbol in a comment
require "json"
require_relative "lib/helper"

module Store
  VERSION = "1.0"

  class Item < Base
    attr_reader :name

    def initialize(name)
      @name = name
    end

    def to_json(*args)
      JSON.generate({ name: @name })
    end

    def self.build(name)
      new(name)
    end
  end
end
"##;
        let analysis = analyze(Language::Ruby, src);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("Store", "module", 5, 23),
                ("VERSION", "constant", 6, 6),
                ("Item", "class", 8, 22),
                ("initialize", "method", 11, 13),
                ("to_json", "method", 15, 17),
                ("build", "singleton_method", 19, 21),
            ]
        );
        assert_no_comment_symbol(&analysis);
        assert_reference(&analysis, "Base", ReferenceKind::Reference, 8, 16);
        assert_reference(&analysis, "generate", ReferenceKind::Call, 16, 12);
        assert_reference(&analysis, "new", ReferenceKind::Call, 20, 7);
        assert_eq!(
            imports(&analysis),
            vec![
                ("json", ImportKind::Module, 2),
                ("lib/helper", ImportKind::Path, 3),
            ]
        );
    }

    #[test]
    fn csharp_snippet() {
        let src = r##"// NotASymbol in a comment
using System;
using System.Collections.Generic;
using IO = System.IO;

namespace Acme.Store
{
    public interface IStore
    {
        Item Get(string key);
    }

    public struct Point { public int X; }

    public enum Color { Red, Green }

    public class MemoryStore : BaseStore, IStore
    {
        private readonly Dictionary<string, Item> items = new Dictionary<string, Item>();

        public int Count { get; private set; }

        public MemoryStore()
        {
            Count = 0;
        }

        public Item Get(string key)
        {
            Console.WriteLine(key);
            return new Item(key);
        }
    }
}
"##;
        let analysis = analyze(Language::CSharp, src);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("Acme.Store", "namespace", 6, 34),
                ("IStore", "interface", 8, 11),
                ("Get", "method", 10, 10),
                ("Point", "struct", 13, 13),
                ("X", "field", 13, 13),
                ("Color", "enum", 15, 15),
                ("Red", "enumerator", 15, 15),
                ("Green", "enumerator", 15, 15),
                ("MemoryStore", "class", 17, 33),
                ("items", "field", 19, 19),
                ("Count", "property", 21, 21),
                ("MemoryStore", "method", 23, 26),
                ("Get", "method", 28, 32),
            ]
        );
        assert_no_comment_symbol(&analysis);
        assert_reference(&analysis, "BaseStore", ReferenceKind::Reference, 17, 32);
        assert_reference(&analysis, "IStore", ReferenceKind::Reference, 17, 43);
        assert_reference(&analysis, "WriteLine", ReferenceKind::Call, 30, 21);
        assert_reference(&analysis, "Item", ReferenceKind::Reference, 31, 24);
        assert_eq!(
            imports(&analysis),
            vec![
                ("System", ImportKind::Module, 2),
                ("System.Collections.Generic", ImportKind::Module, 3),
                ("System.IO", ImportKind::Module, 4),
            ]
        );
    }

    #[test]
    fn php_snippet() {
        let src = r##"<?php
// NotASymbol in a comment
namespace App\Store;

use App\Models\Item;
use Psr\Log\{LoggerInterface, NullLogger};
require_once "config.php";
include __DIR__ . "/dynamic.php";

const VERSION = "1.0";
define("MAX_ITEMS", 10);

interface Store
{
    public function get(string $key): ?Item;
}

trait Logs
{
    protected $logger;
}

class MemoryStore extends BaseStore implements Store
{
    use Logs;

    public function get(string $key): ?Item
    {
        return new Item($this->find($key));
    }
}

function helper($x)
{
    return strtoupper($x);
}
"##;
        let analysis = analyze(Language::Php, src);
        assert_eq!(
            symbols(&analysis),
            vec![
                ("App\\Store", "namespace", 3, 3),
                ("VERSION", "constant", 10, 10),
                ("MAX_ITEMS", "constant", 11, 11),
                ("Store", "interface", 13, 16),
                ("get", "method", 15, 15),
                ("Logs", "trait", 18, 21),
                ("logger", "property", 20, 20),
                ("MemoryStore", "class", 23, 31),
                ("get", "method", 27, 30),
                ("helper", "function", 33, 36),
            ]
        );
        assert_no_comment_symbol(&analysis);
        assert_reference(&analysis, "Item", ReferenceKind::Import, 5, 16);
        assert_reference(&analysis, "BaseStore", ReferenceKind::Reference, 23, 27);
        assert_reference(&analysis, "find", ReferenceKind::Call, 29, 32);
        assert_reference(&analysis, "strtoupper", ReferenceKind::Call, 35, 12);
        assert_eq!(
            imports(&analysis),
            vec![
                ("App\\Models\\Item", ImportKind::Module, 5),
                ("Psr\\Log\\LoggerInterface", ImportKind::Module, 6),
                ("Psr\\Log\\NullLogger", ImportKind::Module, 6),
                ("config.php", ImportKind::Path, 7),
            ]
        );
    }
}
