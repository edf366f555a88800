//! Files of an indexed commit: one file's text, and the recently indexed ones.

use super::*;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FileView {
    pub repository_id: String,
    pub path: String,
    pub language: Option<String>,
    pub start_line: u64,
    pub end_line: u64,
    pub total_lines: u64,
    pub truncated: bool,
    pub content: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RecentFile {
    pub path: String,
    pub language: Option<String>,
    pub size_bytes: u64,
    pub indexed_at: crate::store::Timestamp,
}

/// Largest file `get_file` returns whole; larger files are cut to a line range.
const MAX_FILE_BYTES_SHOWN: usize = 256 * 1024;

impl Service {
    /// A file's text at the indexed commit, optionally a line range (1-based, inclusive).
    pub async fn get_file(
        &self,
        org: &OrganizationId,
        repository: &str,
        path: &str,
        start_line: Option<u64>,
        end_line: Option<u64>,
    ) -> ServiceResult<FileView> {
        let repository = self.select(org, repository).await?;
        let snapshot = self
            .snapshot(&repository.id)
            .await?
            .ok_or(ServiceError::NotFound("indexed repository"))?;
        let path = path
            .trim_start_matches("./")
            .trim_start_matches('/')
            .to_string();
        let crate::engine::snapshot::FileText { text, language } = snapshot
            .file_text(&path)
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .ok_or(ServiceError::NotFound("file"))?;
        let language = language.map(|l| l.name().to_string());
        let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
        let total = lines.len() as u64;
        let start = start_line.unwrap_or(1).max(1);
        if let Some(end) = end_line.filter(|&end| end < start) {
            return Err(BadRequest(format!("end_line {end} is before start_line {start}")).into());
        }
        if start > total.max(1) {
            return Err(BadRequest(format!(
                "start_line {start} is past the end of {path}, which has {total} lines"
            ))
            .into());
        }
        // A range reaching past the end answers the lines that exist.
        let end = end_line.unwrap_or(total).min(total);
        let mut content = String::new();
        let mut truncated = false;
        let mut shown_end = start.saturating_sub(1);
        for (i, line) in lines
            .iter()
            .enumerate()
            .skip(start as usize - 1)
            .take(end.saturating_sub(start - 1) as usize)
        {
            if content.len() + line.len() > MAX_FILE_BYTES_SHOWN {
                truncated = true;
                break;
            }
            content.push_str(&String::from_utf8_lossy(line));
            shown_end = i as u64 + 1;
        }
        Ok(FileView {
            repository_id: repository.id.0,
            path,
            language,
            start_line: start,
            end_line: shown_end,
            total_lines: total,
            truncated: truncated || shown_end < end,
            content,
        })
    }

    pub async fn recent_files(
        &self,
        org: &OrganizationId,
        repository: &str,
        limit: u32,
    ) -> ServiceResult<Vec<RecentFile>> {
        let repository = self.select(org, repository).await?;
        let limit = answers::record_limit(Some(limit))?;
        Ok(self
            .store
            .recent_files(&repository.id, limit)
            .await?
            .into_iter()
            .map(|(file, indexed_at)| RecentFile {
                path: file.path,
                language: file.language,
                size_bytes: file.size_bytes,
                indexed_at,
            })
            .collect())
    }
}
