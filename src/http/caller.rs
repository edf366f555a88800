//! Who is calling: set by the authentication middleware on every authenticated request,
//! read by REST handlers and MCP tools. Stdio MCP runs as the local organization.

use super::error::ApiError;
use crate::store::{OrganizationId, Permissions, Tier};
use axum::http::StatusCode;

/// The authenticated caller of a request, acting for one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub org: OrganizationId,
    /// What rate windows count: `key:<key_id>` or `user:<auth.users id>`.
    pub subject: String,
    pub key_id: Option<String>,
    /// The Supabase user of an access token.
    pub user_id: Option<String>,
    pub tier: Tier,
    pub permissions: Permissions,
    pub is_admin: bool,
}

impl Caller {
    /// The local user of `kotadb mcp --stdio` (whoever can run the binary owns the data).
    pub fn local() -> Caller {
        Caller {
            org: OrganizationId::local(),
            subject: "local".into(),
            key_id: None,
            user_id: None,
            tier: Tier::Team,
            permissions: Permissions::READ_WRITE,
            is_admin: true,
        }
    }

    /// Registering, re-indexing, deleting and managing keys need write permission.
    pub fn require_write(&self) -> Result<(), ApiError> {
        if self.permissions.write {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this key is read-only: registering, re-indexing and deleting need a key with write permission",
            ))
        }
    }
}
