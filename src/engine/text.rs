//! Turning a git blob into the text that search sees, the way ripgrep sees it.
//!
//! Search results are checked against `rg` over a checkout of the same commit, so the
//! searchable text of a file is exactly what ripgrep would search:
//! - a UTF-8 byte-order mark is dropped and UTF-16 files with a BOM are transcoded to
//!   UTF-8 (ripgrep's BOM sniffing), so columns on line 1 agree;
//! - a NUL byte marks binary data. ripgrep stops at the first 64 KiB read buffer that
//!   holds one and reports only lines of earlier buffers; we keep the complete lines
//!   before that boundary (usually nothing: real binaries have a NUL in the first bytes);
//! - every other byte, valid UTF-8 or not (Latin-1), is kept as is: matching is on bytes.

/// ripgrep's read buffer size: binary detection happens per buffer of this size.
const RIPGREP_BUFFER: usize = 64 * 1024;

/// Why a blob has no searchable text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A NUL byte in the first buffer: ripgrep would print nothing from it.
    Binary,
    /// Larger than the configured limit.
    TooLarge,
}

/// The searchable text of a blob, or why there is none.
pub fn searchable_text(blob: &[u8], max_bytes: u64) -> Result<std::borrow::Cow<'_, [u8]>, Skip> {
    if blob.len() as u64 > max_bytes {
        return Err(Skip::TooLarge);
    }
    if let Some(utf16) = decode_utf16_with_bom(blob) {
        return cut_at_binary(utf16.into_bytes()).map(std::borrow::Cow::Owned);
    }
    let body = blob.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(blob);
    match memchr::memchr(0, body) {
        None => Ok(std::borrow::Cow::Borrowed(body)),
        Some(nul) => searchable_prefix(body, nul).map(std::borrow::Cow::Borrowed),
    }
}

fn cut_at_binary(text: Vec<u8>) -> Result<Vec<u8>, Skip> {
    match memchr::memchr(0, &text) {
        None => Ok(text),
        Some(nul) => searchable_prefix(&text, nul).map(<[u8]>::to_vec),
    }
}

/// The complete lines ripgrep searches before it meets the NUL at `nul`.
fn searchable_prefix(body: &[u8], nul: usize) -> Result<&[u8], Skip> {
    let boundary = nul - nul % RIPGREP_BUFFER;
    if boundary == 0 {
        return Err(Skip::Binary);
    }
    match memchr::memrchr(b'\n', &body[..boundary]) {
        Some(last_newline) => Ok(&body[..=last_newline]),
        None => Err(Skip::Binary),
    }
}

/// UTF-16 (LE or BE) with a byte-order mark, decoded to UTF-8 as ripgrep does.
fn decode_utf16_with_bom(blob: &[u8]) -> Option<String> {
    let (encoding, bom_len) = encoding_rs::Encoding::for_bom(blob)?;
    if encoding == encoding_rs::UTF_8 {
        return None;
    }
    let (text, _had_errors) = encoding.decode_without_bom_handling(&blob[bom_len..]);
    Some(text.into_owned())
}

/// Whether a line is too long to hand to a model as is (minified code).
pub const MAX_LINE_TEXT: usize = 400;

/// The text of a matching line for a result: lossy UTF-8, without the line terminator,
/// and cut around the match when the line is very long, with a marker saying how much
/// was cut. Cuts fall on character boundaries.
pub fn display_line(line: &[u8], match_start: usize) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() <= MAX_LINE_TEXT {
        return String::from_utf8_lossy(line).into_owned();
    }
    let text = String::from_utf8_lossy(line);
    // Map the byte offset in the raw line onto the lossy string conservatively.
    let anchor = match_start.min(text.len());
    let mut start = anchor.saturating_sub(MAX_LINE_TEXT / 4);
    while start > 0 && !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + MAX_LINE_TEXT).min(text.len());
    while end < text.len() && !text.is_char_boundary(end) {
        end += 1;
    }
    let mut out = String::with_capacity(MAX_LINE_TEXT + 64);
    if start > 0 {
        out.push_str(&format!("[…{start} bytes cut…]"));
    }
    out.push_str(&text[start..end]);
    if end < text.len() {
        out.push_str(&format!("[…{} bytes cut…]", text.len() - end));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_kept_byte_for_byte_even_when_not_utf8() {
        let latin1 = b"caf\xe9 foo\n";
        assert_eq!(&*searchable_text(latin1, 1 << 20).unwrap(), latin1);
    }

    #[test]
    fn utf8_bom_is_dropped() {
        assert_eq!(
            &*searchable_text(b"\xEF\xBB\xBFfoo\n", 1 << 20).unwrap(),
            b"foo\n"
        );
    }

    #[test]
    fn utf16_with_bom_is_transcoded() {
        let mut blob = vec![0xFF, 0xFE];
        for unit in "foo bar\n".encode_utf16() {
            blob.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(&*searchable_text(&blob, 1 << 20).unwrap(), b"foo bar\n");
    }

    #[test]
    fn early_nul_is_binary_and_late_nul_keeps_earlier_buffers() {
        assert_eq!(
            searchable_text(b"\x7fELF\x00\x01", 1 << 20),
            Err(Skip::Binary)
        );
        let mut late = b"foo\n".repeat(20_000);
        late.push(0);
        let text = searchable_text(&late, 1 << 20).unwrap();
        assert_eq!(text.len(), 65536);
        assert!(text.ends_with(b"\n"));
    }

    #[test]
    fn size_limit_applies() {
        assert_eq!(searchable_text(b"0123456789", 5), Err(Skip::TooLarge));
    }

    #[test]
    fn long_lines_are_cut_around_the_match_with_a_marker() {
        let mut line = "x".repeat(10_000);
        line.push_str("NEEDLE");
        line.push_str(&"y".repeat(10_000));
        let shown = display_line(line.as_bytes(), 10_000);
        assert!(shown.contains("NEEDLE"));
        assert!(shown.len() < 600);
        assert!(shown.starts_with("[…"));
        assert!(shown.ends_with("bytes cut…]"));
    }
}
