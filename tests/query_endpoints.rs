//! The exact answers of every query endpoint, against the real `kotadb serve` binary
//! with the fixture repository indexed (see `common::rest`): code search (literal,
//! case-insensitive, regex, path and language filters, limit, scoped to a repository),
//! symbol search (exact matches first, kinds), references (imports and calls) and
//! dependencies (both directions, to the asked depth).

mod common;

use common::rest::{hit, hits, indexed_fixture};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// `(path, depth, direction)` of a dependencies answer.
fn deps(response: &Value) -> BTreeSet<(String, u64, String)> {
    response["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results array: {response}"))
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["depth"].as_u64().unwrap(),
                r["direction"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn dep(path: &str, depth: u64, direction: &str) -> (String, u64, String) {
    (path.to_string(), depth, direction.to_string())
}

#[test]
fn code_search_answers_exactly() {
    let f = indexed_fixture(&[]);
    let all_parser = vec![
        hit("NOTES.md", 1, 1),
        hit("py/parser_py.py", 1, 7),
        hit("py/tokens.py", 1, 24),
        hit("py/tokens.py", 6, 12),
        hit("src/lib.rs", 3, 17),
        hit("src/lib.rs", 6, 18),
        hit("src/parser.rs", 1, 12),
        hit("src/parser.rs", 5, 6),
        hit("src/parser.rs", 6, 21),
        hit("src/parser.rs", 7, 9),
        hit("src/parser.rs", 15, 12),
    ];

    // Literal: every matching line, 1-based line and column, text and repository id.
    let found = f.search(json!({"query": "Parser"}));
    assert_eq!(hits(&found), all_parser, "{found}");
    assert_eq!(found["total"], 11, "{found}");
    assert_eq!(found["truncated"], false, "{found}");
    assert!(found["took_ms"].is_number(), "{found}");
    assert_eq!(
        found["results"][0]["text"],
        "Parser notes: the PARSER handles tokens."
    );
    assert_eq!(
        found["results"][0]["repository_id"],
        f.repository_id.as_str()
    );

    // Case-insensitive also finds `parser`, `PARSER` and `parse_all` is not a match.
    let found = f.search(json!({"query": "parser", "case_sensitive": false}));
    assert_eq!(
        hits(&found),
        vec![
            hit("NOTES.md", 1, 1),
            hit("py/parser_py.py", 1, 7),
            hit("py/tokens.py", 1, 7),
            hit("py/tokens.py", 6, 12),
            hit("src/lib.rs", 1, 5),
            hit("src/lib.rs", 3, 9),
            hit("src/lib.rs", 6, 9),
            hit("src/lib.rs", 7, 5),
            hit("src/parser.rs", 1, 12),
            hit("src/parser.rs", 5, 6),
            hit("src/parser.rs", 6, 21),
            hit("src/parser.rs", 7, 9),
            hit("src/parser.rs", 15, 12),
        ],
        "{found}"
    );

    // Regex.
    let found = f.search(json!({"query": r"fn \w+\(", "regex": true}));
    assert_eq!(
        hits(&found),
        vec![
            hit("src/lib.rs", 5, 5),
            hit("src/parser.rs", 6, 9),
            hit("src/parser.rs", 10, 9),
        ],
        "{found}"
    );

    // Path glob and language filters.
    let found = f.search(json!({"query": "Parser", "path": "src/**"}));
    assert_eq!(hits(&found), all_parser[4..].to_vec(), "{found}");
    let found = f.search(json!({"query": "Parser", "language": "python"}));
    assert_eq!(hits(&found), all_parser[1..4].to_vec(), "{found}");

    // Limit: the first results, the full total, truncated.
    let found = f.search(json!({"query": "Parser", "limit": 2}));
    assert_eq!(hits(&found), all_parser[..2].to_vec(), "{found}");
    assert_eq!(found["total"], 11, "{found}");
    assert_eq!(found["truncated"], true, "{found}");

    // Scoped to the repository by id.
    let found = f.search(json!({"query": "GREETING", "repository": f.repository_id}));
    assert_eq!(
        hits(&found),
        vec![
            hit("web/lib/constants.ts", 1, 14),
            hit("web/util.ts", 1, 10),
            hit("web/util.ts", 4, 10),
        ],
        "{found}"
    );
}

#[test]
fn symbol_search_ranks_exact_matches_first_and_filters_by_kind() {
    let f = indexed_fixture(&[]);
    let found = f.post_ok("/api/v1/symbols/search", json!({"pattern": "Parser"}));
    let results = found["results"].as_array().expect("results");
    let shape = |r: &Value| {
        (
            r["name"].as_str().unwrap().to_string(),
            r["kind"].as_str().unwrap().to_string(),
            r["path"].as_str().unwrap().to_string(),
            r["line_start"].as_u64().unwrap(),
            r["line_end"].as_u64().unwrap(),
        )
    };
    let first_two: BTreeSet<_> = results.iter().take(2).map(shape).collect();
    assert_eq!(
        first_two,
        BTreeSet::from([
            (
                "Parser".into(),
                "class".into(),
                "py/parser_py.py".into(),
                1,
                3
            ),
            (
                "Parser".into(),
                "struct".into(),
                "src/parser.rs".into(),
                1,
                3
            ),
        ]),
        "the exact matches come first: {found}"
    );
    assert!(
        results[2..].iter().any(|r| r["name"] == "ParserConfig"),
        "a prefix match follows: {found}"
    );
    assert!(
        results
            .iter()
            .all(|r| r["repository_id"] == f.repository_id.as_str()),
        "{found}"
    );

    let found = f.post_ok(
        "/api/v1/symbols/search",
        json!({"pattern": "parse_all", "kind": "function"}),
    );
    let got: BTreeSet<_> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(shape)
        .collect();
    assert_eq!(
        got,
        BTreeSet::from([
            (
                "parse_all".into(),
                "function".into(),
                "py/tokens.py".into(),
                4,
                6
            ),
            (
                "parse_all".into(),
                "function".into(),
                "src/lib.rs".into(),
                5,
                8
            ),
        ]),
        "{found}"
    );
    let found = f.post_ok(
        "/api/v1/symbols/search",
        json!({"pattern": "Parser", "kind": "class"}),
    );
    let got: Vec<_> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(shape)
        .collect();
    assert_eq!(
        got,
        vec![(
            "Parser".into(),
            "class".into(),
            "py/parser_py.py".into(),
            1,
            3
        )],
        "{found}"
    );
}

#[test]
fn references_list_every_import_and_call() {
    let f = indexed_fixture(&[]);
    let found = f.post_ok(
        "/api/v1/references",
        json!({"symbol": "formatName", "repository": f.repository_id}),
    );
    let got: Vec<(String, u64, u64, String)> = found["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            assert_eq!(r["repository_id"], f.repository_id.as_str(), "{found}");
            (
                r["path"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
                r["column"].as_u64().unwrap(),
                r["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("web/app.ts".into(), 1, 10, "import".into()),
            ("web/app.ts".into(), 4, 10, "call".into()),
        ],
        "{found}"
    );
}

#[test]
fn dependencies_walk_both_directions_to_the_asked_depth() {
    let f = indexed_fixture(&[]);
    let ask = |path: &str, direction: &str, depth: u32| {
        deps(&f.post_ok(
            "/api/v1/dependencies",
            json!({"repository": f.repository_id, "path": path, "direction": direction, "depth": depth}),
        ))
    };
    assert_eq!(
        ask("web/app.ts", "dependencies", 2),
        BTreeSet::from([
            dep("web/util.ts", 1, "dependency"),
            dep("web/lib/constants.ts", 2, "dependency"),
        ])
    );
    assert_eq!(
        ask("web/app.ts", "dependencies", 1),
        BTreeSet::from([dep("web/util.ts", 1, "dependency")])
    );
    assert_eq!(
        ask("web/lib/constants.ts", "dependents", 2),
        BTreeSet::from([
            dep("web/util.ts", 1, "dependent"),
            dep("web/app.ts", 2, "dependent"),
        ])
    );
    assert_eq!(
        ask("web/util.ts", "both", 2),
        BTreeSet::from([
            dep("web/lib/constants.ts", 1, "dependency"),
            dep("web/app.ts", 1, "dependent"),
        ])
    );
    assert_eq!(
        ask("src/lib.rs", "both", 2),
        BTreeSet::from([dep("src/parser.rs", 1, "dependency")])
    );
    assert_eq!(
        ask("py/parser_py.py", "dependents", 2),
        BTreeSet::from([dep("py/tokens.py", 1, "dependent")])
    );
}
