//! Who is calling: set by the authentication middleware on every authenticated request,
//! read by REST handlers and MCP tools. Stdio MCP runs as the local organization.

use crate::store::{OrganizationId, Tier};

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub org: OrganizationId,
    pub key_id: String,
    pub tier: Tier,
    pub is_admin: bool,
}

impl Caller {
    /// The local user of `kotadb mcp --stdio` (whoever can run the binary owns the data).
    pub fn local() -> Caller {
        Caller {
            org: OrganizationId::local(),
            key_id: "local".into(),
            tier: Tier::Team,
            is_admin: true,
        }
    }
}
