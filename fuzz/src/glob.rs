//! Path globs for `search_request`: made up freely (`Raw`) or built from parts (`Built`),
//! in which case the target also knows what they mean and checks KotaDB's filter against
//! that, not against globset.
//!
//! The meaning stated here is ripgrep's `-g` (globset with `literal_separator`), as
//! `search::PathFilter` documents it: `*` is any run of bytes but `/`, `?` one byte but
//! `/`, a `**` path segment any number of directories, `{a,b}` either (an empty
//! alternative is dropped, as globset drops it), `\` escapes; a leading `/` anchors at
//! the root; a glob with no `/` matches the file name in any directory; a glob ending in
//! `/` names directories only and matches no file.

use arbitrary::Arbitrary;

/// Path fragments of the corpus (and their case variants), so built globs hit files.
const WORDS: &[&str] = &[
    "src",
    "engine",
    "main",
    "lib",
    "search",
    "README",
    "include",
    "x",
    "web",
    "App",
    "app",
    "models",
    "cmd",
    "Weird Dir",
    "[x]{y},z",
    "\u{00fc}mlaut",
    "\u{00e4}",
    "noext",
    "data",
    "latin1",
    "crlf",
    "empty",
    "nonl",
    "long",
    "big",
    "tool",
    ".rs",
    ".py",
    ".js",
    ".TSX",
    ".tsx",
    ".h",
    ".c",
    ".md",
    ".txt",
    ".go",
    ".rb",
    "rs",
    "py",
    "m",
    "a",
    "",
    ".",
];

#[derive(Arbitrary, Debug, Clone)]
pub enum Part {
    Word(u8),
    Text(String),
    Star,
    Question,
    /// `{a,b,…}` of literal alternatives.
    Alt(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Segment {
    DoubleStar,
    Parts(Vec<Part>),
}

#[derive(Arbitrary, Debug, Clone)]
pub enum GlobInput {
    Raw(String),
    Built {
        leading_slash: bool,
        segments: Vec<Segment>,
    },
}

fn word(i: u8) -> &'static str {
    WORDS[i as usize % WORDS.len()]
}

/// A literal as glob text: specials escaped, `/` dropped (literals never span segments).
fn escape_glob(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '/' => {}
            '*' | '?' | '[' | ']' | '{' | '}' | ',' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

fn literal_regex(text: &str) -> String {
    regex::escape(&text.replace('/', ""))
}

fn alt_text(alt: &[u8]) -> Vec<String> {
    alt.iter().take(4).map(|&i| word(i).to_string()).collect()
}

/// The glob text and, for a built glob, the regex over paths it means.
pub fn render(input: &GlobInput) -> (String, Option<regex::bytes::Regex>) {
    let (leading_slash, segments) = match input {
        GlobInput::Raw(text) => return (text.clone(), None),
        GlobInput::Built {
            leading_slash,
            segments,
        } => (*leading_slash, segments),
    };
    // Two `**` in a row mean what one means; keep one (globset's tokens differ).
    let mut kept: Vec<&Segment> = Vec::new();
    for segment in segments.iter().take(6) {
        if matches!(segment, Segment::DoubleStar)
            && matches!(kept.last(), Some(Segment::DoubleStar))
        {
            continue;
        }
        kept.push(segment);
    }
    let mut glob = String::new();
    if leading_slash {
        glob.push('/');
    }
    let texts: Vec<(String, String)> = kept
        .iter()
        .map(|segment| match segment {
            Segment::DoubleStar => ("**".to_string(), String::new()),
            Segment::Parts(parts) => {
                let (mut text, mut re) = (String::new(), String::new());
                let mut last_star = false;
                for part in parts.iter().take(6) {
                    let star = matches!(part, Part::Star);
                    if star && last_star {
                        // `**` inside a segment is another token: keep `*` single.
                        continue;
                    }
                    last_star = star;
                    match part {
                        Part::Word(i) => {
                            escape_glob(word(*i), &mut text);
                            re.push_str(&literal_regex(word(*i)));
                        }
                        Part::Text(s) => {
                            escape_glob(s, &mut text);
                            re.push_str(&literal_regex(s));
                        }
                        Part::Star => {
                            text.push('*');
                            re.push_str("(?-u:[^/])*");
                        }
                        Part::Question => {
                            text.push('?');
                            re.push_str("(?-u:[^/])");
                        }
                        Part::Alt(alt) => {
                            let words = alt_text(alt);
                            text.push('{');
                            for (k, w) in words.iter().enumerate() {
                                if k > 0 {
                                    text.push(',');
                                }
                                escape_glob(w, &mut text);
                            }
                            text.push('}');
                            let non_empty: Vec<String> = words
                                .iter()
                                .filter(|w| !w.is_empty())
                                .map(|w| literal_regex(w))
                                .collect();
                            if !non_empty.is_empty() {
                                re.push_str(&format!("(?:{})", non_empty.join("|")));
                            }
                        }
                    }
                }
                (text, re)
            }
        })
        .collect();
    // PathFilter trims leading '/' (an empty first segment writes one): the regex is of
    // the trimmed glob; which rule applies (whole path or file name) is still decided by
    // the glob as written, see `reference_matches`.
    let segments_text: Vec<String> = texts.iter().map(|(t, _)| t.clone()).collect();
    let mut texts = texts;
    while texts.len() > 1 && texts[0].0.is_empty() {
        texts.remove(0);
        kept.remove(0);
    }
    let n = texts.len();
    let mut re = String::from("^");
    for (i, (_, part_re)) in texts.iter().enumerate() {
        let double = matches!(kept[i], Segment::DoubleStar);
        let sep = if i + 1 < n { "/" } else { "" };
        if double {
            if n == 1 {
                re.push_str(".*");
            } else if i == 0 {
                re.push_str("(?:.*/)?");
            } else if i + 1 == n {
                // `a/**`: the '/' before was already written; anything after it.
                re.push_str(".*");
            } else {
                // `a/**/b`: zero or more directories; the '/' before is written.
                re.push_str("(?:.*/)?");
            }
        } else {
            re.push_str(part_re);
            re.push_str(sep);
        }
    }
    for (i, segment) in segments_text.iter().enumerate() {
        if i > 0 {
            glob.push('/');
        }
        glob.push_str(segment);
    }
    re.push('$');
    // `a/**` needs at least one byte after the '/' (globset: "/.*"), which ".*" after the
    // written '/' already states; `a/**/b` matches "a/b" too, as "(?:.*/)?" does.
    let regex = regex::bytes::Regex::new(&re).expect("reference glob regex");
    (glob, Some(regex))
}

/// Whether `path` passes a built glob, with PathFilter's rules around globset.
pub fn reference_matches(glob: &str, regex: &regex::bytes::Regex, path: &str) -> bool {
    if glob.contains('/') {
        regex.is_match(path.as_bytes())
    } else {
        regex.is_match(path.rsplit('/').next().unwrap_or(path).as_bytes())
    }
}

/// PathFilter rebuilt with globset the same way, for raw globs (whose meaning the target
/// does not state itself): the search's path filtering is then checked end to end.
pub fn mirror(glob: &str) -> Option<globset::GlobMatcher> {
    globset::GlobBuilder::new(glob.trim_start_matches('/'))
        .literal_separator(true)
        .build()
        .ok()
        .map(|g| g.compile_matcher())
}

pub fn mirror_matches(glob: &str, matcher: &globset::GlobMatcher, path: &str) -> bool {
    // ripgrep's rule, which globset alone does not apply: a glob ending in '/' names
    // directories only, so no file passes it.
    if glob.ends_with('/') {
        return false;
    }
    if glob.contains('/') {
        matcher.is_match(path)
    } else {
        matcher.is_match(path.rsplit('/').next().unwrap_or(path))
    }
}
