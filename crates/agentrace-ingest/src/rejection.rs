//! How an adapter reports the items it could not accept: which item (kind,
//! index and id) and which field, so a client can fix exactly that.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemRejection {
    /// "trace" or "span" (native API); "post", "patch", "attachment",
    /// "feedback" or "part" (LangSmith).
    pub kind: &'static str,
    /// Position of the item in its array in the request (LangSmith
    /// multipart: of the part at fault).
    pub index: usize,
    /// The item's id, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The offending field, as a path inside the item (`tokens_used.prompt`).
    pub field: String,
    pub message: String,
}

/// What an adapter made of a request: the writable pieces and the rejections.
#[derive(Debug, Default)]
pub struct IngestOutcome {
    pub batch: agentrace_store::WriteBatch,
    pub accepted_traces: usize,
    pub accepted_spans: usize,
    pub rejected: Vec<ItemRejection>,
}
