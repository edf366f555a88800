//! Symbol patterns: `SymbolPattern::parse` and the SQL `LIKE` it becomes, run by a real
//! in-memory SQLite (the bundled one KotaDB links, through `libsqlite3-sys`) and compared
//! with the rules in `SymbolPattern`'s doc comment, implemented here from the text:
//!
//! - a pattern is trimmed; empty, longer than `MAX_BYTES` or holding a control character
//!   is refused;
//! - with `*` (any run of characters, also none) or `?` (exactly one character) it is a
//!   glob over the whole name, every other character standing for itself (`[`, `%`, `_`
//!   too); otherwise it finds the names that contain it;
//! - letters match ASCII case-insensitively in both forms.
//!
//! Checked: `name LIKE like()` equals the rule for every candidate name; the "starts with"
//! rank (`prefix_like`, substring patterns) and the "exact name in another case" rank
//! (`like_escape(text)`) mean what they say; SQLite never refuses a pattern KotaDB makes.
//! Names are made up freely or built from the pattern (wildcards filled, case changed)
//! so that matches are common.
#![no_main]

use arbitrary::Arbitrary;
use kotadb::store::{like_escape, SymbolPattern};
use kotadb_fuzz::run_checked;
use libfuzzer_sys::fuzz_target;
use libsqlite3_sys as ffi;
use std::cell::RefCell;
use std::ffi::{c_int, CStr};

const SPECIALS: &[&str] = &[
    "*", "?", "%", "_", "\\", "[", "]", "[a-z]", " ", "\u{00e9}", "\u{00c9}", "\u{212A}", "k", "K",
    "get", "Get", "Error", "\u{00df}", "**", "\\%", "\\_", "'", "\"", "^", "!", "-",
];

#[derive(Arbitrary, Debug)]
enum Piece {
    Text(String),
    Special(u8),
}

#[derive(Arbitrary, Debug)]
enum NameInput {
    Raw(String),
    /// The pattern with each `*` replaced by `fills[i]`, each `?` by one character, and
    /// the case changed per `case`.
    FromPattern {
        fills: Vec<String>,
        one: char,
        case: u8,
        before: String,
        after: String,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    pattern: Vec<Piece>,
    names: Vec<NameInput>,
}

fn render(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for piece in pieces.iter().take(32) {
        match piece {
            Piece::Text(s) => out.push_str(s),
            Piece::Special(i) => out.push_str(SPECIALS[*i as usize % SPECIALS.len()]),
        }
    }
    out
}

fn change_case(text: &str, how: u8) -> String {
    match how % 4 {
        0 => text.to_string(),
        1 => text.to_ascii_uppercase(),
        2 => text.to_ascii_lowercase(),
        _ => text.to_uppercase(),
    }
}

fn name_from(pattern: &str, input: &NameInput) -> String {
    match input {
        NameInput::Raw(s) => s.clone(),
        NameInput::FromPattern {
            fills,
            one,
            case,
            before,
            after,
        } => {
            let mut out = before.clone();
            let mut k = 0;
            for c in pattern.chars() {
                match c {
                    '*' => {
                        out.push_str(fills.get(k).map_or("", String::as_str));
                        k += 1;
                    }
                    '?' => out.push(*one),
                    c => out.push(c),
                }
            }
            out.push_str(after);
            change_case(&out, *case)
        }
    }
}

// ---- The rules, from the doc comment ----

fn same_char(a: char, b: char) -> bool {
    a.eq_ignore_ascii_case(&b)
}

/// Whole-name glob, ASCII case-insensitive unless `exact_case`: dynamic programming
/// (no backtracking, so long patterns stay cheap).
fn glob_matches(glob: &[char], name: &[char], exact_case: bool) -> bool {
    let eq = |a: char, b: char| if exact_case { a == b } else { same_char(a, b) };
    // row[j]: glob[..i] matches name[..j]
    let mut row = vec![false; name.len() + 1];
    row[0] = true;
    for &g in glob {
        let mut next = vec![false; name.len() + 1];
        match g {
            '*' => {
                let mut any = false;
                for j in 0..=name.len() {
                    any |= row[j];
                    next[j] = any;
                }
            }
            '?' => {
                for j in 1..=name.len() {
                    next[j] = row[j - 1];
                }
            }
            c => {
                for j in 1..=name.len() {
                    next[j] = row[j - 1] && eq(c, name[j - 1]);
                }
            }
        }
        row = next;
    }
    row[name.len()]
}

fn contains_ci(name: &[char], needle: &[char]) -> bool {
    needle.is_empty()
        || name
            .windows(needle.len())
            .any(|w| w.iter().zip(needle).all(|(&a, &b)| same_char(a, b)))
}

fn starts_with_ci(name: &[char], prefix: &[char]) -> bool {
    name.len() >= prefix.len() && name.iter().zip(prefix).all(|(&a, &b)| same_char(a, b))
}

// ---- SQLite ----

struct Sqlite {
    db: *mut ffi::sqlite3,
    like: *mut ffi::sqlite3_stmt,
    glob: *mut ffi::sqlite3_stmt,
}

impl Sqlite {
    fn open() -> Sqlite {
        let mut db = std::ptr::null_mut();
        // SAFETY: a fresh in-memory database; the out pointer is valid.
        let code = unsafe { ffi::sqlite3_open(c":memory:".as_ptr(), &mut db) };
        assert_eq!(code, ffi::SQLITE_OK, "sqlite3_open");
        let prepare = |sql: &CStr| {
            let mut statement = std::ptr::null_mut();
            // SAFETY: `db` is open; `sql` is NUL-terminated.
            let code = unsafe {
                ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut statement, std::ptr::null_mut())
            };
            assert_eq!(code, ffi::SQLITE_OK, "prepare {sql:?}");
            statement
        };
        Sqlite {
            db,
            // As src/store/sqlite/records.rs writes it: `name LIKE ? ESCAPE '\'`.
            like: prepare(c"SELECT ?1 LIKE ?2 ESCAPE '\\'"),
            glob: prepare(c"SELECT ?1 GLOB ?2"),
        }
    }

    fn eval(
        &self,
        statement: *mut ffi::sqlite3_stmt,
        name: &str,
        pattern: &str,
    ) -> Result<bool, String> {
        // SAFETY: `statement` belongs to `self.db`, used by this thread only; the texts are
        // copied by SQLite (SQLITE_TRANSIENT) and their lengths given in bytes.
        unsafe {
            ffi::sqlite3_reset(statement);
            ffi::sqlite3_bind_text(
                statement,
                1,
                name.as_ptr().cast(),
                name.len() as c_int,
                ffi::SQLITE_TRANSIENT(),
            );
            ffi::sqlite3_bind_text(
                statement,
                2,
                pattern.as_ptr().cast(),
                pattern.len() as c_int,
                ffi::SQLITE_TRANSIENT(),
            );
            let code = ffi::sqlite3_step(statement);
            let result = if code == ffi::SQLITE_ROW {
                Ok(ffi::sqlite3_column_int(statement, 0) != 0)
            } else {
                Err(format!(
                    "sqlite: {} (code {code})",
                    CStr::from_ptr(ffi::sqlite3_errmsg(self.db)).to_string_lossy()
                ))
            };
            ffi::sqlite3_reset(statement);
            result
        }
    }
}

thread_local! {
    static SQLITE: RefCell<Option<Sqlite>> = const { RefCell::new(None) };
}

fuzz_target!(|input: Input| run_checked(|| check(input)));

fn check(input: Input) {
    let raw = render(&input.pattern);
    let trimmed = raw.trim();
    let parsed = SymbolPattern::parse(&raw);
    let should_refuse = trimmed.is_empty()
        || trimmed.len() > SymbolPattern::MAX_BYTES
        || trimmed.chars().any(char::is_control);
    let pattern = match parsed {
        Err(reason) => {
            assert!(should_refuse, "{raw:?} refused: {reason}");
            return;
        }
        Ok(pattern) => {
            assert!(!should_refuse, "{raw:?} accepted as {pattern:?}");
            pattern
        }
    };
    assert_eq!(pattern.text(), trimmed);
    let is_glob = trimmed.contains(['*', '?']);
    assert_eq!(
        matches!(pattern, SymbolPattern::Glob(_)),
        is_glob,
        "{pattern:?}"
    );
    let like = pattern.like();
    let prefix_like = pattern.prefix_like();
    assert_eq!(prefix_like.is_none(), is_glob);
    let exact_like = like_escape(trimmed);
    let case_glob = trimmed.replace('[', "[[]"); // src/store/sqlite/records.rs, rank 2 of a glob
    let text: Vec<char> = trimmed.chars().collect();

    SQLITE.with(|cell| {
        let mut cell = cell.borrow_mut();
        let sqlite = cell.get_or_insert_with(Sqlite::open);
        for name_input in input.names.iter().take(8) {
            // SQLite's LIKE reads text up to a NUL; symbol names never hold one.
            let name = name_from(trimmed, name_input).replace('\0', "");
            let chars: Vec<char> = name.chars().collect();
            let expected = if is_glob {
                glob_matches(&text, &chars, false)
            } else {
                contains_ci(&chars, &text)
            };
            let got = sqlite
                .eval(sqlite.like, &name, &like)
                .unwrap_or_else(|e| panic!("LIKE {like:?} refused: {e}"));
            assert_eq!(
                got, expected,
                "{name:?} LIKE {like:?} (pattern {pattern:?})"
            );

            let exact_ci = chars.len() == text.len() && starts_with_ci(&chars, &text);
            let got = sqlite
                .eval(sqlite.like, &name, &exact_like)
                .unwrap_or_else(|e| panic!("LIKE {exact_like:?} refused: {e}"));
            assert_eq!(got, exact_ci, "rank 1: {name:?} LIKE {exact_like:?}");

            match &prefix_like {
                Some(prefix) => {
                    let got = sqlite
                        .eval(sqlite.like, &name, prefix)
                        .unwrap_or_else(|e| panic!("LIKE {prefix:?} refused: {e}"));
                    assert_eq!(
                        got,
                        starts_with_ci(&chars, &text),
                        "rank 2: {name:?} LIKE {prefix:?}"
                    );
                }
                None => {
                    let got = sqlite
                        .eval(sqlite.glob, &name, &case_glob)
                        .unwrap_or_else(|e| panic!("GLOB {case_glob:?} refused: {e}"));
                    assert_eq!(
                        got,
                        glob_matches(&text, &chars, true),
                        "rank 2: {name:?} GLOB {case_glob:?}"
                    );
                }
            }
        }
    });
}
