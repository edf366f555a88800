//! An immutable, memory-mapped index segment: a set of files, cut into blocks of lines,
//! with their compressed text and a sorted trigram dictionary with delta-encoded posting
//! lists over blocks.
//!
//! Why blocks: a large file holds nearly every common trigram somewhere, so per-file
//! postings admit it for almost any query and its whole text must be read. Blocks of
//! about 16 KiB, cut at line ends, make "all trigrams of the literal occur" a much
//! stronger condition (they must occur within a few hundred lines), and only the admitted
//! blocks are decompressed and searched. A match never spans lines, so it always lies
//! within one block.
//!
//! Why this shape: nothing is parsed at open (a search from the CLI pays for an `mmap`,
//! not for loading an index), the operating system's page cache is the only cache, and
//! a segment is never modified, so readers need no locks. A re-index writes a new small
//! segment for the changed files and marks the old copies dead in the manifest (see
//! `snapshot`), so the work is proportional to the change.
//!
//! Layout (little endian), every section 8-byte aligned:
//! ```text
//! header   magic "KOTASEG\0", version u32, doc_count u32, then u64 offsets:
//!          docs, paths, content, dict, dict_count, postings, file_len
//! docs     doc_count block records of 56 bytes, sorted by (path, first line):
//!          path_off u32, path_len u32, content_off u64, compressed_len u32,
//!          text_len u32, first_line u32, language u8, 3 bytes padding,
//!          git blob id [20], 4 bytes padding
//! paths    path bytes
//! content  LZ4 blocks, one per file
//! dict     dict_count entries of 16 bytes, sorted by trigram:
//!          trigram u32, doc count u32, postings_off u64
//! postings per trigram, ascending doc ids as LEB128 deltas
//! ```

use crate::engine::lang::Language;
use crate::engine::trigram::Trigram;
use memmap2::Mmap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const MAGIC: &[u8; 8] = b"KOTASEG\0";
/// Bumped whenever the layout or the meaning of the text changes; older segments are rebuilt.
pub const FORMAT_VERSION: u32 = 2;
const HEADER_LEN: usize = 72;
const DOC_LEN: usize = 56;

/// Target size of a block; a block ends at the first line end after it.
pub const BLOCK_BYTES: usize = 16 * 1024;

/// Cuts a file's text into blocks of whole lines: (first line number, byte range).
/// An empty text is one empty block, so every file has at least one.
pub fn blocks(text: &[u8]) -> Vec<(u32, std::ops::Range<usize>)> {
    let mut out = Vec::with_capacity(text.len() / BLOCK_BYTES + 1);
    let (mut start, mut line) = (0usize, 1u32);
    loop {
        let mut end = (start + BLOCK_BYTES).min(text.len());
        if end < text.len() {
            end = memchr::memchr(b'\n', &text[end - 1..]).map_or(text.len(), |i| end + i);
        }
        out.push((line, start..end));
        if end >= text.len() {
            return out;
        }
        line += memchr::memchr_iter(b'\n', &text[start..end]).count() as u32;
        start = end;
    }
}
const DICT_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("segment i/o")]
    Io(#[from] std::io::Error),
    #[error("segment {path} is corrupt or of another format: {reason}")]
    Corrupt { path: String, reason: &'static str },
    #[error("segment content of {path} does not decompress: {reason}")]
    Content { path: String, reason: String },
}

/// One block of a file, ready to be written into a segment.
pub struct DocInput {
    pub path: String,
    pub blob_id: [u8; 20],
    pub language: Option<Language>,
    /// Line number (1-based) of the block's first line in the file.
    pub first_line: u32,
    pub text_len: u32,
    /// LZ4 block of the searchable text.
    pub compressed: Vec<u8>,
    /// Distinct folded trigrams of the text, sorted.
    pub trigrams: Vec<Trigram>,
}

/// Writes `docs` (sorted by path here) as a segment at `dest`, atomically: a reader sees
/// the whole segment or none.
pub fn write(dest: &Path, mut docs: Vec<DocInput>) -> Result<(), SegmentError> {
    docs.sort_by(|a, b| (a.path.as_str(), a.first_line).cmp(&(b.path.as_str(), b.first_line)));
    let doc_count = docs.len();

    // Posting lists by counting sort: doc ids arrive in order, so lists come out sorted.
    let mut counts = vec![0u32; 1 << 24];
    for doc in &docs {
        for &t in &doc.trigrams {
            counts[t as usize] += 1;
        }
    }
    let mut dict: Vec<(Trigram, u32, u64)> = Vec::new();
    let mut starts = vec![0u32; 0];
    let mut total = 0u64;
    for (t, &count) in counts.iter().enumerate() {
        if count > 0 {
            dict.push((t as Trigram, count, 0));
            starts.push(total as u32);
            total += count as u64;
        }
    }
    // Reuse `counts` as each trigram's next write position in `flat`.
    for (i, &(t, _, _)) in dict.iter().enumerate() {
        counts[t as usize] = starts[i];
    }
    let mut flat = vec![0u32; total as usize];
    for (id, doc) in docs.iter().enumerate() {
        for &t in &doc.trigrams {
            let slot = &mut counts[t as usize];
            flat[*slot as usize] = id as u32;
            *slot += 1;
        }
    }
    drop(counts);
    let mut postings = Vec::with_capacity(total as usize + total as usize / 4);
    for (i, entry) in dict.iter_mut().enumerate() {
        entry.2 = postings.len() as u64;
        let start = starts[i] as usize;
        let mut previous = 0u32;
        for (k, &id) in flat[start..start + entry.1 as usize].iter().enumerate() {
            let delta = if k == 0 { id } else { id - previous };
            write_varint(&mut postings, delta);
            previous = id;
        }
    }
    drop(flat);

    let mut paths = Vec::new();
    let mut records = Vec::with_capacity(doc_count * DOC_LEN);
    let mut content_len = 0u64;
    let mut previous_path: Option<(&str, u32)> = None;
    for doc in &docs {
        // Blocks of one file share the path bytes.
        let path_off = match previous_path {
            Some((path, off)) if path == doc.path => off,
            _ => {
                let off = paths.len() as u32;
                paths.extend_from_slice(doc.path.as_bytes());
                off
            }
        };
        previous_path = Some((doc.path.as_str(), path_off));
        records.extend_from_slice(&path_off.to_le_bytes());
        records.extend_from_slice(&(doc.path.len() as u32).to_le_bytes());
        records.extend_from_slice(&content_len.to_le_bytes());
        records.extend_from_slice(&(doc.compressed.len() as u32).to_le_bytes());
        records.extend_from_slice(&doc.text_len.to_le_bytes());
        records.extend_from_slice(&doc.first_line.to_le_bytes());
        records.push(doc.language.map_or(0, language_code));
        records.extend_from_slice(&[0, 0, 0]);
        records.extend_from_slice(&doc.blob_id);
        records.extend_from_slice(&[0, 0, 0, 0]);
        content_len += doc.compressed.len() as u64;
    }

    let align = |n: u64| (n + 7) & !7;
    let docs_off = HEADER_LEN as u64;
    let paths_off = align(docs_off + records.len() as u64);
    let content_off = align(paths_off + paths.len() as u64);
    let dict_off = align(content_off + content_len);
    let postings_off = align(dict_off + (dict.len() * DICT_LEN) as u64);
    let file_len = postings_off + postings.len() as u64;

    let tmp = dest.with_extension("tmp");
    let file = std::fs::File::create(&tmp)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut written = 0u64;
    let mut put =
        |out: &mut std::io::BufWriter<std::fs::File>, bytes: &[u8]| -> std::io::Result<()> {
            written += bytes.len() as u64;
            out.write_all(bytes)
        };
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&(doc_count as u32).to_le_bytes());
    for value in [
        docs_off,
        paths_off,
        content_off,
        dict_off,
        dict.len() as u64,
        postings_off,
        file_len,
    ] {
        header.extend_from_slice(&value.to_le_bytes());
    }
    put(&mut out, &header)?;
    put(&mut out, &records)?;
    let pad = |written: u64, target: u64| vec![0u8; (target - written) as usize];
    put(&mut out, &pad(docs_off + records.len() as u64, paths_off))?;
    put(&mut out, &paths)?;
    put(&mut out, &pad(paths_off + paths.len() as u64, content_off))?;
    for doc in &docs {
        put(&mut out, &doc.compressed)?;
    }
    put(&mut out, &pad(content_off + content_len, dict_off))?;
    let mut dict_bytes = Vec::with_capacity(dict.len() * DICT_LEN);
    for &(t, count, off) in &dict {
        dict_bytes.extend_from_slice(&t.to_le_bytes());
        dict_bytes.extend_from_slice(&count.to_le_bytes());
        dict_bytes.extend_from_slice(&off.to_le_bytes());
    }
    put(&mut out, &dict_bytes)?;
    put(
        &mut out,
        &pad(dict_off + dict_bytes.len() as u64, postings_off),
    )?;
    put(&mut out, &postings)?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    debug_assert_eq!(written, file_len);
    std::fs::rename(&tmp, dest)?;
    Ok(())
}

fn write_varint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn language_code(language: Language) -> u8 {
    Language::ALL
        .iter()
        .position(|&l| l == language)
        .map_or(0, |i| i as u8 + 1)
}

fn language_from_code(code: u8) -> Option<Language> {
    code.checked_sub(1)
        .and_then(|i| Language::ALL.get(i as usize).copied())
}

/// One block's record in a segment.
#[derive(Debug, Clone, Copy)]
pub struct DocMeta<'a> {
    pub path: &'a str,
    pub blob_id: [u8; 20],
    pub language: Option<Language>,
    pub first_line: u32,
    pub text_len: u32,
}

/// Decompressed block texts shared by all segments, bounded in bytes. Hot blocks of
/// repeated or related queries are then searched without decompressing them again.
pub struct TextCache(moka::sync::Cache<(u64, u32), Arc<[u8]>>);

impl TextCache {
    pub fn new(max_bytes: u64) -> TextCache {
        TextCache(
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, text: &Arc<[u8]>| u32::try_from(text.len() + 64).unwrap_or(u32::MAX))
                .build(),
        )
    }
}

/// Distinguishes segments within a process, for the text cache's keys.
static NEXT_SEGMENT_UID: AtomicU64 = AtomicU64::new(1);

/// An open segment. Cheap to share (`Arc<Segment>`); all reads are from the mapping.
pub struct Segment {
    uid: u64,
    map: Mmap,
    doc_count: u32,
    docs_off: usize,
    paths_off: usize,
    content_off: usize,
    dict_off: usize,
    dict_count: usize,
    postings_off: usize,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("doc_count", &self.doc_count)
            .field("bytes", &self.map.len())
            .finish()
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

impl Segment {
    /// Maps a segment and checks its header and section bounds once, so later reads
    /// cannot go out of bounds on a truncated or foreign file.
    pub fn open(path: &Path) -> Result<Segment, SegmentError> {
        let corrupt = |reason| SegmentError::Corrupt {
            path: path.display().to_string(),
            reason,
        };
        let file = std::fs::File::open(path)?;
        // SAFETY: segments are written to a temporary name and renamed into place, and
        // never modified afterwards; the mapping is read-only.
        let map = unsafe { Mmap::map(&file)? };
        if map.len() < HEADER_LEN || &map[..8] != MAGIC {
            return Err(corrupt("bad magic"));
        }
        if u32_at(&map, 8) != FORMAT_VERSION {
            return Err(corrupt("older format version"));
        }
        let doc_count = u32_at(&map, 12);
        let field = |i: usize| u64_at(&map, 16 + 8 * i) as usize;
        let (docs_off, paths_off, content_off, dict_off, dict_count, postings_off, file_len) = (
            field(0),
            field(1),
            field(2),
            field(3),
            field(4),
            field(5),
            field(6),
        );
        let ordered = docs_off == HEADER_LEN
            && docs_off + doc_count as usize * DOC_LEN <= paths_off
            && paths_off <= content_off
            && content_off <= dict_off
            && dict_off
                .checked_add(dict_count.saturating_mul(DICT_LEN))
                .is_some_and(|end| end <= postings_off)
            && postings_off <= file_len
            && file_len == map.len();
        if !ordered {
            return Err(corrupt("section bounds"));
        }
        let segment = Segment {
            uid: NEXT_SEGMENT_UID.fetch_add(1, Ordering::Relaxed),
            map,
            doc_count,
            docs_off,
            paths_off,
            content_off,
            dict_off,
            dict_count,
            postings_off,
        };
        for id in 0..doc_count {
            let r = segment.record(id);
            let path_end = paths_off + u32_at(r, 0) as usize + u32_at(r, 4) as usize;
            let content_end = content_off as u64 + u64_at(r, 8) + u32_at(r, 16) as u64;
            if path_end > content_off || content_end > dict_off as u64 {
                return Err(corrupt("document bounds"));
            }
            if std::str::from_utf8(segment.path_bytes(id)).is_err() {
                return Err(corrupt("path is not utf-8"));
            }
        }
        Ok(segment)
    }

    pub fn doc_count(&self) -> u32 {
        self.doc_count
    }

    pub fn byte_len(&self) -> u64 {
        self.map.len() as u64
    }

    fn record(&self, id: u32) -> &[u8] {
        let at = self.docs_off + id as usize * DOC_LEN;
        &self.map[at..at + DOC_LEN]
    }

    fn path_bytes(&self, id: u32) -> &[u8] {
        let r = self.record(id);
        let start = self.paths_off + u32_at(r, 0) as usize;
        &self.map[start..start + u32_at(r, 4) as usize]
    }

    pub fn doc(&self, id: u32) -> DocMeta<'_> {
        let r = self.record(id);
        let mut blob_id = [0u8; 20];
        blob_id.copy_from_slice(&r[32..52]);
        DocMeta {
            // Checked to be UTF-8 in `open`.
            path: std::str::from_utf8(self.path_bytes(id)).unwrap_or_default(),
            blob_id,
            language: language_from_code(r[28]),
            first_line: u32_at(r, 24),
            text_len: u32_at(r, 20),
        }
    }

    /// The blocks of a path (blocks are sorted by path, then first line).
    pub fn blocks_of(&self, path: &str) -> std::ops::Range<u32> {
        let lower = |strict: bool| {
            let (mut lo, mut hi) = (0u32, self.doc_count);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let order = self.path_bytes(mid).cmp(path.as_bytes());
                if order.is_lt() || (strict && order.is_eq()) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        lower(false)..lower(true)
    }

    /// The first block of a path, if the segment has it.
    pub fn find(&self, path: &str) -> Option<u32> {
        let range = self.blocks_of(path);
        (!range.is_empty()).then_some(range.start)
    }

    /// Decompresses a file's text into `buf` (reused across calls) and returns it.
    pub fn text<'b>(&self, id: u32, buf: &'b mut Vec<u8>) -> Result<&'b [u8], SegmentError> {
        let r = self.record(id);
        let start = self.content_off + u64_at(r, 8) as usize;
        let compressed = &self.map[start..start + u32_at(r, 16) as usize];
        let len = u32_at(r, 20) as usize;
        buf.clear();
        buf.resize(len, 0);
        let n = lz4_flex::block::decompress_into(compressed, buf).map_err(|e| {
            SegmentError::Content {
                path: String::from_utf8_lossy(self.path_bytes(id)).into_owned(),
                reason: e.to_string(),
            }
        })?;
        buf.truncate(n);
        Ok(&buf[..])
    }

    /// A block's text through the cache: decompressed once, then shared.
    pub fn cached_text(&self, id: u32, cache: &TextCache) -> Result<Arc<[u8]>, SegmentError> {
        if let Some(text) = cache.0.get(&(self.uid, id)) {
            return Ok(text);
        }
        let mut buf = Vec::new();
        let text: Arc<[u8]> = Arc::from(self.text(id, &mut buf)?);
        cache.0.insert((self.uid, id), Arc::clone(&text));
        Ok(text)
    }

    /// The ids of the documents containing trigram `t`, ascending.
    pub fn postings(&self, t: Trigram) -> Vec<u32> {
        match self.entry(t) {
            Some((count, start)) => self.decode(start, count),
            None => Vec::new(),
        }
    }

    /// How many blocks contain trigram `t`, without decoding the list.
    pub fn posting_count(&self, t: Trigram) -> usize {
        self.entry(t).map_or(0, |(count, _)| count)
    }

    /// The dictionary entry of `t`: (list length, list offset in the file).
    fn entry(&self, t: Trigram) -> Option<(usize, usize)> {
        let (mut lo, mut hi) = (0usize, self.dict_count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let at = self.dict_off + mid * DICT_LEN;
            let key = u32_at(&self.map, at);
            if key < t {
                lo = mid + 1;
            } else if key > t {
                hi = mid;
            } else {
                let count = u32_at(&self.map, at + 4) as usize;
                let start = self.postings_off + u64_at(&self.map, at + 8) as usize;
                return Some((count, start));
            }
        }
        None
    }

    fn decode(&self, mut at: usize, count: usize) -> Vec<u32> {
        let mut out = Vec::with_capacity(count);
        let mut previous = 0u32;
        let end = self.map.len();
        for k in 0..count {
            let mut value = 0u32;
            let mut shift = 0;
            while at < end {
                let byte = self.map[at];
                at += 1;
                value |= ((byte & 0x7f) as u32) << shift;
                if byte & 0x80 == 0 {
                    break;
                }
                shift += 7;
                if shift > 28 {
                    break;
                }
            }
            previous = if k == 0 {
                value
            } else {
                previous.wrapping_add(value)
            };
            if previous >= self.doc_count {
                break; // corrupt list: never hand out ids past the table
            }
            out.push(previous);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::trigram::{distinct_trigrams, TrigramBitmap};

    fn doc(path: &str, text: &str) -> DocInput {
        DocInput {
            path: path.into(),
            blob_id: [7; 20],
            language: Language::from_path(path),
            first_line: 1,
            text_len: text.len() as u32,
            compressed: lz4_flex::block::compress(text.as_bytes()),
            trigrams: distinct_trigrams(text.as_bytes(), &mut TrigramBitmap::default()),
        }
    }

    #[test]
    fn blocks_are_whole_lines_covering_the_text_with_their_first_line_numbers() {
        let text: Vec<u8> = (0..5000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let cut = blocks(&text);
        assert!(cut.len() > 1);
        let mut expected_start = 0;
        for (first_line, range) in &cut {
            assert_eq!(range.start, expected_start);
            assert!(range.end == text.len() || text[range.end - 1] == b'\n');
            let first = std::str::from_utf8(&text[range.clone()])
                .unwrap()
                .lines()
                .next()
                .unwrap();
            assert_eq!(first, format!("line {}", first_line - 1));
            expected_start = range.end;
        }
        assert_eq!(expected_start, text.len());
        assert_eq!(blocks(b""), vec![(1, 0..0)]);
        let long_line = vec![b'x'; 3 * BLOCK_BYTES];
        assert_eq!(blocks(&long_line), vec![(1, 0..long_line.len())]);
    }

    #[test]
    fn blocks_of_a_path_are_found_as_a_range() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.kseg");
        let mut second = doc("b.rs", "fn two() {}\n");
        second.first_line = 900;
        write(
            &path,
            vec![
                second,
                doc("b.rs", "fn one() {}\n"),
                doc("a.rs", "x\n"),
                doc("c.rs", "y\n"),
            ],
        )
        .unwrap();
        let segment = Segment::open(&path).unwrap();
        assert_eq!(segment.blocks_of("b.rs"), 1..3);
        assert_eq!(segment.doc(2).first_line, 900);
        assert_eq!(segment.find("b.rs"), Some(1));
        assert!(segment.blocks_of("bb.rs").is_empty());
    }

    #[test]
    fn round_trips_documents_text_and_postings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.kseg");
        write(
            &path,
            vec![
                doc("b.rs", "fn beta() {}\n"),
                doc("a.py", "def alpha(): pass\n"),
            ],
        )
        .unwrap();
        let segment = Segment::open(&path).unwrap();
        assert_eq!(segment.doc_count(), 2);
        assert_eq!(segment.doc(0).path, "a.py");
        assert_eq!(segment.doc(0).language, Some(Language::Python));
        assert_eq!(segment.find("b.rs"), Some(1));
        assert_eq!(segment.find("c.rs"), None);
        let mut buf = Vec::new();
        assert_eq!(segment.text(1, &mut buf).unwrap(), b"fn beta() {}\n");
        let t = |s: &[u8]| (s[0] as u32) << 16 | (s[1] as u32) << 8 | s[2] as u32;
        assert_eq!(segment.postings(t(b"alp")), vec![0]);
        assert_eq!(segment.postings(t(b"eta")), vec![1]);
        assert_eq!(segment.postings(t(b"zzz")), Vec::<u32>::new());
    }

    #[test]
    fn a_truncated_segment_is_refused_not_read_out_of_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.kseg");
        write(&path, vec![doc("a.txt", "hello world\n")]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(matches!(
            Segment::open(&path),
            Err(SegmentError::Corrupt { .. })
        ));
    }
}
