//! The trigram plan against made-up text: the index may only ever rule out text that has
//! no match (`engine::trigram`'s promise). Cheap (no segment is written), so the fuzzer
//! explores plans and texts far faster than through `search_request`.
//!
//! For a request compiled by `CompiledSearch::new` (regex or literal, case-sensitive or
//! not), every line of the text that the `regex` crate (built the same way) matches
//! must carry the trigrams the plan requires: the plan must admit the trigram set of
//! that line alone (a block holds a superset of a line's trigrams, and plans are
//! monotone). Also `distinct_trigrams` must equal the trigram set the module documents.
#![no_main]

use arbitrary::Arbitrary;
use kotadb::engine::search::{CompiledSearch, SearchRequest};
use kotadb::engine::trigram::{distinct_trigrams, TrigramBitmap};
use kotadb_fuzz::{
    lines_of, note_caught_panic, plan_admits, reference_regex, reference_trigrams,
    render_query_or_default, run_checked, QueryPiece,
};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

/// How a text line is made: freely, or from the query itself (so that literal queries
/// match), with its case or Unicode folding changed.
#[derive(Arbitrary, Debug)]
enum LineInput {
    Raw(Vec<u8>),
    FromQuery {
        transform: u8,
        before: String,
        after: String,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    regex: bool,
    case_sensitive: bool,
    query: Vec<QueryPiece>,
    lines: Vec<LineInput>,
}

/// Variants that case-insensitive matching must treat as equal (simple case folding).
fn transform(text: &str, how: u8) -> String {
    match how % 8 {
        0 => text.to_string(),
        1 => text.to_ascii_uppercase(),
        2 => text.to_ascii_lowercase(),
        3 => text.to_uppercase(),
        4 => text.to_lowercase(),
        5 => text.replace('k', "\u{212A}").replace('K', "\u{212A}"),
        6 => text.replace('s', "\u{017F}").replace('S', "\u{017F}"),
        _ => text
            .chars()
            .map(|c| {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect(),
    }
}

thread_local! {
    static BITMAP: RefCell<TrigramBitmap> = RefCell::new(TrigramBitmap::default());
}

fuzz_target!(|input: Input| run_checked(|| check(input)));

fn check(input: Input) {
    let query = render_query_or_default(&input.query, &[], input.lines.len() as u16);
    let request = SearchRequest {
        query: query.clone(),
        regex: input.regex,
        case_sensitive: input.case_sensitive,
        ..SearchRequest::literal("x")
    };
    let mut text = Vec::new();
    for line in input.lines.iter().take(16) {
        match line {
            LineInput::Raw(bytes) => text.extend_from_slice(bytes),
            LineInput::FromQuery {
                transform: how,
                before,
                after,
            } => {
                text.extend_from_slice(before.as_bytes());
                text.extend_from_slice(transform(&query, *how).as_bytes());
                text.extend_from_slice(after.as_bytes());
            }
        }
        text.push(b'\n');
    }

    let trigrams = BITMAP.with(|b| distinct_trigrams(&text, &mut b.borrow_mut()));
    assert_eq!(
        trigrams,
        reference_trigrams(&text),
        "distinct_trigrams of {text:?}"
    );

    let compiled = match CompiledSearch::new(&request) {
        Ok(c) => c,
        Err(error) => {
            let message = error.to_string();
            if message.contains("could not be compiled (") {
                note_caught_panic(&message);
            }
            return;
        }
    };
    let Some(reference) = reference_regex(&query, input.regex, input.case_sensitive) else {
        return;
    };
    let plan = compiled.plan();
    for line in lines_of(&text) {
        if reference.is_match(line) {
            let line_trigrams = reference_trigrams(line);
            assert!(
                plan_admits(plan, &line_trigrams),
                "plan {plan:?} rules out a matching line {:?} for {request:?}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
