//! Feedback on a trace or one of its spans: a named score, value or comment
//! given by a user, a reviewer or an evaluator after (or while) it ran.
//!
//! Feedback often arrives before the spans it rates (a client posts it
//! synchronously while its traces still wait in a background queue), so it
//! may name only a span id; readers find it through that span once the span
//! is stored.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{SpanId, TraceId};
use crate::time::Timestamp;

/// One piece of feedback, keyed by `feedback_id`: sending the same id again
/// replaces it (client retries are safe).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    pub feedback_id: String,
    pub trace_id: Option<TraceId>,
    /// The span (LangSmith run) rated; `None` for feedback on a whole trace.
    pub span_id: Option<SpanId>,
    /// What is rated: "correctness", "helpfulness", "user_score", ...
    pub key: String,
    pub score: Option<f64>,
    pub value: Option<Value>,
    pub comment: Option<String>,
    pub correction: Option<Value>,
    /// Who gave it: `{"type": "api" | "model" | "app", "metadata": {...}}`.
    pub source: Option<Value>,
    /// Anything else the client sent with it.
    pub metadata: Map<String, Value>,
    /// When the client says the feedback was given; the server's clock at
    /// first storage otherwise.
    pub created_at: Option<Timestamp>,
}

impl Feedback {
    /// An approximation of the bytes this feedback occupies, for batch limits.
    pub fn approximate_size(&self) -> usize {
        let json_size = |value: &Option<Value>| value.as_ref().map_or(0, crate::model::approximate_json_size);
        256 + self.key.len()
            + self.comment.as_ref().map_or(0, String::len)
            + json_size(&self.value)
            + json_size(&self.correction)
            + json_size(&self.source)
            + self
                .metadata
                .iter()
                .map(|(key, value)| key.len() + crate::model::approximate_json_size(value))
                .sum::<usize>()
    }
}
