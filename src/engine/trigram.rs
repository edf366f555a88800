//! Trigrams: what the index stores for each file, and what a query requires of a file.
//!
//! The index keeps, for every file, the set of byte trigrams of its text with ASCII
//! letters folded to lower case. Folding costs a little selectivity on case-sensitive
//! queries but lets case-insensitive ones use the same posting lists, with no expansion
//! into case variants (codesearch expands, which is why its `-i` is an order of magnitude
//! slower). Trigrams that contain a line feed are not stored: no match spans lines.
//!
//! A query is planned by walking the regex's syntax tree, after Russ Cox's codesearch
//! (`index/regexp.go`): each node yields the exact strings it can match, or the possible
//! prefixes and suffixes, plus a boolean query over trigrams that every match implies.
//! The plan must be conservative: a file the plan rejects must contain no match. Every
//! step below only ever widens a set or drops a condition when unsure.

use regex_syntax::hir::{Class, Hir, HirKind};
use std::collections::BTreeSet;

/// A trigram packed into 24 bits: `b0 << 16 | b1 << 8 | b2`, letters folded.
pub type Trigram = u32;

/// Folds a byte as the index does.
#[inline]
pub fn fold(byte: u8) -> u8 {
    byte.to_ascii_lowercase()
}

/// The distinct trigrams of `text`, sorted ascending.
///
/// `seen` is a reusable bitmap of 2^24 bits; it is left all zero on return.
pub fn distinct_trigrams(text: &[u8], seen: &mut TrigramBitmap) -> Vec<Trigram> {
    let mut out = Vec::new();
    if text.len() < 3 {
        return out;
    }
    let mut a = fold(text[0]);
    let mut b = fold(text[1]);
    for &raw in &text[2..] {
        let c = fold(raw);
        if a != b'\n' && b != b'\n' && c != b'\n' {
            let t = (a as u32) << 16 | (b as u32) << 8 | c as u32;
            if seen.insert(t) {
                out.push(t);
            }
        }
        a = b;
        b = c;
    }
    for &t in &out {
        seen.remove(t);
    }
    out.sort_unstable();
    out
}

/// A bitmap over all 2^24 trigrams (2 MiB), reused across files to dedupe cheaply.
pub struct TrigramBitmap(Vec<u64>);

impl Default for TrigramBitmap {
    fn default() -> Self {
        TrigramBitmap(vec![0; 1 << 18])
    }
}

impl TrigramBitmap {
    #[inline]
    fn insert(&mut self, t: Trigram) -> bool {
        let (word, bit) = ((t >> 6) as usize, 1u64 << (t & 63));
        let fresh = self.0[word] & bit == 0;
        self.0[word] |= bit;
        fresh
    }
    #[inline]
    fn remove(&mut self, t: Trigram) {
        self.0[(t >> 6) as usize] &= !(1u64 << (t & 63));
    }
}

fn pack(window: &[u8]) -> Trigram {
    (fold(window[0]) as u32) << 16 | (fold(window[1]) as u32) << 8 | fold(window[2]) as u32
}

/// A boolean condition over the trigrams of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Every file may match: the index cannot narrow this query.
    All,
    /// No file can match.
    None,
    Trigram(Trigram),
    And(Vec<Query>),
    Or(Vec<Query>),
}

impl Query {
    pub fn and(self, other: Query) -> Query {
        match (self, other) {
            (Query::All, q) | (q, Query::All) => q,
            (Query::None, _) | (_, Query::None) => Query::None,
            (Query::And(mut a), Query::And(b)) => {
                a.extend(b);
                Query::And(dedup(a))
            }
            (Query::And(mut a), q) | (q, Query::And(mut a)) => {
                a.push(q);
                Query::And(dedup(a))
            }
            (a, b) if a == b => a,
            (a, b) => Query::And(vec![a, b]),
        }
    }

    pub fn or(self, other: Query) -> Query {
        match (self, other) {
            (Query::All, _) | (_, Query::All) => Query::All,
            (Query::None, q) | (q, Query::None) => q,
            (Query::Or(mut a), Query::Or(b)) => {
                a.extend(b);
                Query::Or(dedup(a))
            }
            (Query::Or(mut a), q) | (q, Query::Or(mut a)) => {
                a.push(q);
                Query::Or(dedup(a))
            }
            (a, b) if a == b => a,
            (a, b) => Query::Or(vec![a, b]),
        }
    }

    /// `self AND (OR over strings s of (AND of the trigrams of s))`.
    ///
    /// A string shorter than three bytes, or whose every trigram holds a line feed
    /// (never indexed), guarantees nothing, so the whole OR is dropped.
    fn and_trigrams(self, strings: &StringSet) -> Query {
        if strings.is_empty() || strings.iter().any(|s| s.len() < 3) {
            return self;
        }
        let mut any = Query::None;
        for s in strings {
            let mut all = Query::All;
            for window in s.windows(3) {
                if !window.contains(&b'\n') {
                    all = all.and(Query::Trigram(pack(window)));
                }
            }
            if all == Query::All {
                return self;
            }
            any = any.or(all);
        }
        self.and(any)
    }
}

fn dedup(mut items: Vec<Query>) -> Vec<Query> {
    let mut unique = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        if !unique.contains(&item) {
            unique.push(item);
        }
    }
    unique
}

type StringSet = BTreeSet<Vec<u8>>;

/// Exact sets larger than this become prefix/suffix sets plus trigrams.
const MAX_EXACT: usize = 7;
/// Prefix and suffix sets are shortened until they are this small.
const MAX_SET: usize = 20;
/// Character classes with more members than this match "any character".
const MAX_CLASS: usize = 32;

/// What the planner knows about the strings one regex node matches.
#[derive(Debug, Clone)]
struct Info {
    can_empty: bool,
    /// The exact (folded) strings the node matches, when few enough to list.
    exact: Option<StringSet>,
    /// Without `exact`: every match starts with one of these.
    prefix: StringSet,
    /// Without `exact`: every match ends with one of these.
    suffix: StringSet,
    /// A condition every file with a match satisfies.
    query: Query,
}

fn set_of(strings: &[&[u8]]) -> StringSet {
    strings.iter().map(|s| s.to_vec()).collect()
}

impl Info {
    fn any_match() -> Info {
        Info {
            can_empty: true,
            exact: None,
            prefix: set_of(&[b""]),
            suffix: set_of(&[b""]),
            query: Query::All,
        }
    }
    fn any_char() -> Info {
        Info {
            can_empty: false,
            ..Info::any_match()
        }
    }
    fn no_match() -> Info {
        Info {
            can_empty: false,
            exact: Some(StringSet::new()),
            prefix: StringSet::new(),
            suffix: StringSet::new(),
            query: Query::None,
        }
    }
    fn empty_string() -> Info {
        Info {
            can_empty: true,
            exact: Some(set_of(&[b""])),
            prefix: StringSet::new(),
            suffix: StringSet::new(),
            query: Query::All,
        }
    }
    fn exact(strings: StringSet) -> Info {
        let can_empty = strings.contains(&Vec::new());
        let mut info = Info {
            can_empty,
            exact: Some(strings),
            prefix: StringSet::new(),
            suffix: StringSet::new(),
            query: Query::All,
        };
        info.simplify(false);
        info
    }

    /// Possible prefixes whether or not the node is exact.
    fn prefixes(&self) -> &StringSet {
        self.exact.as_ref().unwrap_or(&self.prefix)
    }
    fn suffixes(&self) -> &StringSet {
        self.exact.as_ref().unwrap_or(&self.suffix)
    }

    fn add_exact(&mut self) {
        if let Some(exact) = &self.exact {
            let query = std::mem::replace(&mut self.query, Query::All);
            self.query = query.and_trigrams(exact);
        }
    }

    fn simplify(&mut self, force: bool) {
        if let Some(exact) = &self.exact {
            let min_len = exact.iter().map(Vec::len).min().unwrap_or(0);
            if exact.len() > MAX_EXACT || (min_len >= 3 && force) || min_len >= 4 {
                self.add_exact();
                let exact = self.exact.take().unwrap_or_default();
                for s in exact {
                    let n = s.len();
                    if n < 3 {
                        self.prefix.insert(s.clone());
                        self.suffix.insert(s);
                    } else {
                        self.prefix.insert(s[..2].to_vec());
                        self.suffix.insert(s[n - 2..].to_vec());
                    }
                }
            }
        }
        if self.exact.is_none() {
            let prefix = std::mem::take(&mut self.prefix);
            self.prefix = self.simplify_set(prefix, false);
            let suffix = std::mem::take(&mut self.suffix);
            self.suffix = self.simplify_set(suffix, true);
        }
    }

    /// Moves what a prefix or suffix set says into the query, then shortens the set.
    fn simplify_set(&mut self, set: StringSet, is_suffix: bool) -> StringSet {
        let query = std::mem::replace(&mut self.query, Query::All);
        self.query = query.and_trigrams(&set);
        let mut n = 2;
        let mut current = set;
        loop {
            current = current
                .into_iter()
                .map(|s| {
                    if s.len() <= n {
                        s
                    } else if is_suffix {
                        s[s.len() - n..].to_vec()
                    } else {
                        s[..n].to_vec()
                    }
                })
                .collect();
            if current.len() <= MAX_SET || n == 0 {
                return current;
            }
            n -= 1;
        }
    }
}

fn cross(a: &StringSet, b: &StringSet) -> StringSet {
    let mut out = StringSet::new();
    for x in a {
        for y in b {
            let mut s = x.clone();
            s.extend_from_slice(y);
            out.insert(s);
        }
    }
    out
}

fn concat(x: Info, y: Info) -> Info {
    let mut xy = Info {
        can_empty: x.can_empty && y.can_empty,
        exact: None,
        prefix: StringSet::new(),
        suffix: StringSet::new(),
        query: x.query.clone().and(y.query.clone()),
    };
    match (&x.exact, &y.exact) {
        (Some(xe), Some(ye)) => xy.exact = Some(cross(xe, ye)),
        _ => {
            xy.prefix = match &x.exact {
                Some(xe) => cross(xe, y.prefixes()),
                None => {
                    let mut p = x.prefix.clone();
                    if x.can_empty {
                        p.extend(y.prefixes().iter().cloned());
                    }
                    p
                }
            };
            xy.suffix = match &y.exact {
                Some(ye) => cross(x.suffixes(), ye),
                None => {
                    let mut s = y.suffix.clone();
                    if y.can_empty {
                        s.extend(x.suffixes().iter().cloned());
                    }
                    s
                }
            };
        }
    }
    // A match spans the boundary between x and y: one string of suffix(x)·prefix(y)
    // occurs in it, and its trigrams may be seen by neither side alone.
    if x.exact.is_none()
        && y.exact.is_none()
        && x.suffix.len() <= MAX_SET
        && y.prefix.len() <= MAX_SET
    {
        let min_x = x.suffix.iter().map(Vec::len).min().unwrap_or(0);
        let min_y = y.prefix.iter().map(Vec::len).min().unwrap_or(0);
        if min_x + min_y >= 3 {
            let query = std::mem::replace(&mut xy.query, Query::All);
            xy.query = query.and_trigrams(&cross(&x.suffix, &y.prefix));
        }
    }
    xy.simplify(false);
    xy
}

fn alternate(mut x: Info, mut y: Info) -> Info {
    let mut xy = Info {
        can_empty: x.can_empty || y.can_empty,
        exact: None,
        prefix: StringSet::new(),
        suffix: StringSet::new(),
        query: Query::All,
    };
    match (x.exact.is_some(), y.exact.is_some()) {
        (true, true) => {
            let mut all = x.exact.take().unwrap_or_default();
            all.extend(y.exact.take().unwrap_or_default());
            xy.exact = Some(all);
        }
        _ => {
            // A side given as exact strings contributes them as prefixes and suffixes,
            // and its trigrams move into its query before the OR.
            x.add_exact();
            y.add_exact();
            xy.prefix = x.prefixes().iter().chain(y.prefixes()).cloned().collect();
            xy.suffix = x.suffixes().iter().chain(y.suffixes()).cloned().collect();
        }
    }
    xy.query = x.query.or(y.query);
    xy.simplify(false);
    xy
}

fn analyze(hir: &Hir) -> Info {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Info::empty_string(),
        HirKind::Literal(literal) => {
            let folded: Vec<u8> = literal.0.iter().map(|&b| fold(b)).collect();
            Info::exact(std::iter::once(folded).collect())
        }
        HirKind::Class(class) => analyze_class(class),
        HirKind::Capture(capture) => analyze(&capture.sub),
        HirKind::Repetition(repetition) => {
            if repetition.min == 0 {
                if repetition.max == Some(1) {
                    alternate(analyze(&repetition.sub), Info::empty_string())
                } else {
                    Info::any_match()
                }
            } else {
                // At least one copy: prefixes and suffixes of one copy still hold.
                let mut info = analyze(&repetition.sub);
                if let Some(exact) = info.exact.take() {
                    info.prefix = exact.clone();
                    info.suffix = exact;
                }
                info.simplify(false);
                info
            }
        }
        HirKind::Concat(subs) => subs
            .iter()
            .fold(Info::empty_string(), |acc, sub| concat(acc, analyze(sub))),
        HirKind::Alternation(subs) => {
            let mut iter = subs.iter();
            match iter.next() {
                None => Info::no_match(),
                Some(first) => iter.fold(analyze(first), |acc, sub| alternate(acc, analyze(sub))),
            }
        }
    }
}

fn analyze_class(class: &Class) -> Info {
    let mut members = StringSet::new();
    match class {
        Class::Unicode(unicode) => {
            let mut count = 0usize;
            for range in unicode.ranges() {
                count += (range.end() as usize) - (range.start() as usize) + 1;
                if count > MAX_CLASS * 4 {
                    return Info::any_char();
                }
                for ch in range.start()..=range.end() {
                    let mut buf = [0u8; 4];
                    let encoded = ch.encode_utf8(&mut buf).as_bytes();
                    members.insert(encoded.iter().map(|&b| fold(b)).collect());
                }
            }
        }
        Class::Bytes(bytes) => {
            let mut count = 0usize;
            for range in bytes.ranges() {
                count += (range.end() as usize) - (range.start() as usize) + 1;
                if count > MAX_CLASS * 4 {
                    return Info::any_char();
                }
                for byte in range.start()..=range.end() {
                    members.insert(vec![fold(byte)]);
                }
            }
        }
    }
    if members.is_empty() {
        return Info::no_match();
    }
    if members.len() > MAX_CLASS {
        return Info::any_char();
    }
    Info::exact(members)
}

/// The trigram condition that every file with a match of `hir` satisfies.
pub fn plan(hir: &Hir) -> Query {
    let mut info = analyze(hir);
    info.simplify(true);
    info.add_exact();
    info.query
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(pattern: &str, case_insensitive: bool) -> Query {
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(case_insensitive)
            .build()
            .parse(pattern)
            .unwrap();
        plan(&hir)
    }

    fn t(s: &str) -> Query {
        Query::Trigram(pack(s.as_bytes()))
    }

    #[test]
    fn a_literal_requires_all_its_trigrams_folded() {
        assert_eq!(plan_of("Abcd", false), Query::And(vec![t("abc"), t("bcd")]));
        assert_eq!(plan_of("abcd", true), Query::And(vec![t("abc"), t("bcd")]));
    }

    #[test]
    fn short_or_unbounded_patterns_cannot_be_narrowed() {
        assert_eq!(plan_of("ab", false), Query::All);
        assert_eq!(plan_of("a.*b", false), Query::All);
        assert_eq!(plan_of("\\w+", false), Query::All);
    }

    #[test]
    fn alternation_becomes_or() {
        let q = plan_of("foo|bar", false);
        assert_eq!(q, Query::Or(vec![t("bar"), t("foo")]));
    }

    #[test]
    fn an_alternation_of_exact_and_open_sides_admits_both_sides() {
        // (abc|d+)xyz: files holding "abcxyz" or "dxyz" must both pass.
        let q = plan_of("(abc|d+)xyz", false);
        for text in ["abcxyz", "dddxyz"] {
            let trigrams = distinct_trigrams(text.as_bytes(), &mut TrigramBitmap::default());
            assert!(matches_trigrams(&q, &trigrams), "plan {q:?} rejects {text}");
        }
        assert_ne!(q, Query::All);
    }

    #[test]
    fn case_insensitive_unicode_folds_keep_every_variant() {
        // 'k' folds to KELVIN SIGN too: the plan must not require the ASCII trigram "kot".
        let q = plan_of("kotadb", true);
        let kelvin = "\u{212A}otadb";
        let trigrams = distinct_trigrams(kelvin.as_bytes(), &mut TrigramBitmap::default());
        assert!(
            matches_trigrams(&q, &trigrams),
            "plan {q:?} rejects {kelvin}"
        );
    }

    #[test]
    fn trigrams_skip_line_feeds_and_fold_case() {
        let trigrams = distinct_trigrams(b"AB\ncdE", &mut TrigramBitmap::default());
        assert_eq!(trigrams, vec![pack(b"cde")]);
    }

    pub(crate) fn matches_trigrams(q: &Query, trigrams: &[Trigram]) -> bool {
        match q {
            Query::All => true,
            Query::None => false,
            Query::Trigram(x) => trigrams.binary_search(x).is_ok(),
            Query::And(qs) => qs.iter().all(|q| matches_trigrams(q, trigrams)),
            Query::Or(qs) => qs.iter().any(|q| matches_trigrams(q, trigrams)),
        }
    }
}
