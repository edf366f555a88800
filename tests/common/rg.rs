//! [`rg_lines`] / [`rg_columns`]: ask ripgrep which lines of a checkout match, the
//! reference code search is compared against. ripgrep is required: these helpers panic
//! when `rg` is missing rather than letting a test pass without its oracle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Runs `rg -n --no-heading --column --null -uu -g '!.git' FLAGS -e PATTERN .` in `dir`
/// and returns, for every matching line, `(path, line) -> column` (1-based byte column
/// of the line's first match). Paths are relative to `dir`, without a leading `./`,
/// converted lossily when not UTF-8.
///
/// Panics if `rg` is not installed (CI installs it; a test must never pass without its
/// oracle) or if it reports an error (exit status 2).
pub fn rg_columns(dir: &Path, pattern: &str, flags: &[&str]) -> BTreeMap<(String, u64), u64> {
    let output = match Command::new("rg")
        .current_dir(dir)
        .env_remove("RIPGREP_CONFIG_PATH")
        .args([
            "-n",
            "--no-heading",
            "--column",
            "--null",
            "--color",
            "never",
            "-uu",
            "-g",
            "!.git",
        ])
        .args(flags)
        .arg("-e")
        .arg(pattern)
        .arg(".")
        .output()
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("ripgrep (`rg`) is required by this test: install ripgrep (apt-get install ripgrep)")
        }
        Err(e) => panic!("running rg: {e}"),
    };
    match output.status.code() {
        Some(0) | Some(1) => {}
        _ => panic!(
            "rg {flags:?} -e {pattern:?} failed with {}:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ),
    }
    parse_rg_output(&output.stdout)
}

/// Like [`rg_columns`], only the `(path, line)` pairs.
pub fn rg_lines(dir: &Path, pattern: &str, flags: &[&str]) -> BTreeSet<(String, u64)> {
    rg_columns(dir, pattern, flags).into_keys().collect()
}

/// Parses `PATH\0LINE:COLUMN:TEXT\n` records. The path ends at the NUL (so it may hold
/// ':' or even '\n'), the text at the next '\n' (matched text never spans lines).
fn parse_rg_output(stdout: &[u8]) -> BTreeMap<(String, u64), u64> {
    let mut out = BTreeMap::new();
    let mut rest = stdout;
    while !rest.is_empty() {
        // ripgrep interleaves one unframed line when it stops reading a binary file after
        // a match: `PATH: WARNING: stopped searching binary file after match (...)`.
        let line_end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        if !rest[..line_end].contains(&0) && is_binary_warning(&rest[..line_end]) {
            rest = &rest[line_end..];
            continue;
        }
        let nul = rest
            .iter()
            .position(|&b| b == 0)
            .expect("rg --null record without a NUL after the path");
        let raw_path = &rest[..nul];
        let raw_path = raw_path.strip_prefix(b"./").unwrap_or(raw_path);
        let path = String::from_utf8_lossy(raw_path).into_owned();
        rest = &rest[nul + 1..];
        let (line, after) = take_number(rest);
        let (column, after) = take_number(after);
        let end = after
            .iter()
            .position(|&b| b == b'\n')
            .map_or(after.len(), |i| i + 1);
        rest = &after[end..];
        out.insert((path, line), column);
    }
    out
}

fn is_binary_warning(line: &[u8]) -> bool {
    let line = String::from_utf8_lossy(line);
    line.contains(": WARNING: stopped searching binary file")
        || line.contains(": binary file matches (found ")
}

/// `DIGITS:` at the start of `bytes`: the number and what follows the ':'.
fn take_number(bytes: &[u8]) -> (u64, &[u8]) {
    let colon = bytes
        .iter()
        .position(|&b| b == b':')
        .expect("rg record: expected NUMBER:");
    let number = std::str::from_utf8(&bytes[..colon])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "rg record: {:?} is not a number",
                String::from_utf8_lossy(&bytes[..colon])
            )
        });
    (number, &bytes[colon + 1..])
}

#[cfg(test)]
mod tests {
    #[test]
    fn rg_records_keep_colons_in_paths() {
        let parsed = super::parse_rg_output(
            b"./a:b/c.txt\x0012:3:x:y\n./bin: WARNING: stopped searching binary file after match (found \"\\0\" byte around offset 9)\nd\x001:1:\n",
        );
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed.get(&("a:b/c.txt".to_string(), 12)), Some(&3));
        assert_eq!(parsed.get(&("d".to_string(), 1)), Some(&1));
    }
}
