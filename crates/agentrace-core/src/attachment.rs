//! Files a client attached to a span (LangSmith's `attachment.<run>.<name>`
//! parts: images, audio, documents). They are kept as opaque bytes beside
//! the span rather than inside its JSON, so a megabyte PNG neither bloats
//! `agent.spans` nor has to be valid text.

use serde::{Deserialize, Serialize};

use crate::ids::{SpanId, TraceId};

/// The content type stored when a client names none.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// One attached file. Keyed by `(trace_id, span_id, name)`: sending the same
/// name again for a span replaces the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// The client's name for the file (escaped text, never empty).
    pub name: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

impl Attachment {
    pub fn info(&self) -> AttachmentInfo {
        AttachmentInfo {
            trace_id: self.trace_id.clone(),
            span_id: self.span_id.clone(),
            name: self.name.clone(),
            content_type: self.content_type.clone(),
            size_bytes: self.content.len() as i64,
        }
    }
}

/// What a listing says about an attachment, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
}
