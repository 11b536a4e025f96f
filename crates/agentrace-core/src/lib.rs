//! agentrace's domain: what a trace and a span are, how pieces of them merge,
//! and how text that databases cannot hold is escaped. Every protocol adapter
//! converts into these types; every store persists them. No I/O lives here.

pub mod attachment;
pub mod feedback;
pub mod ids;
pub mod merge;
pub mod model;
pub mod pricing;
pub mod text;
pub mod time;
pub mod tree;

pub use attachment::{Attachment, AttachmentInfo};
pub use feedback::Feedback;
pub use ids::{IdError, SpanId, TraceId};
pub use model::{SpanPiece, SpanType, Status, StoredSpan, StoredTrace, TokenUsage, TracePiece};
