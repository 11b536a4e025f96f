//! The `langsmith` SDK's OpenTelemetry mode (`LANGSMITH_TRACING_MODE=otel`,
//! sent to `/otel/v1/traces`): each span says its run type in
//! `langsmith.span.kind`, the run's metadata as `langsmith.metadata.<key>`
//! (conversation ids included) and the project in
//! `langsmith.trace.session_name`. Those spans also put `gen_ai.system` on
//! chains and tools, so the run type is read before the legacy rule that
//! takes `gen_ai.system` for a model call. Mapped as the REST runs are
//! (`crate::langsmith`).

use agentrace_core::SpanType;

use super::attributes::Attributes;
use crate::langsmith::span_type_of_run;

/// `langsmith.metadata.session_id`, `…thread_id`, `…conversation_id`, in
/// the REST path's order of precedence.
pub const SESSION_KEYS: &[&str] =
    &["langsmith.metadata.session_id", "langsmith.metadata.thread_id", "langsmith.metadata.conversation_id"];
pub const USER_KEYS: &[&str] = &["langsmith.metadata.user_id"];

pub fn span_type(attributes: &Attributes, span_name: Option<&str>) -> Option<SpanType> {
    let run_type = attributes.get_str("langsmith.span.kind")?.trim().to_ascii_lowercase();
    let graph_node = attributes.get_str("langsmith.metadata.langgraph_node");
    Some(span_type_of_run(&run_type, span_name, graph_node))
}

/// The LangSmith project (the `Langsmith-Project` header carries the same
/// name), which beats the resource's `service.name`: the SDK sets that to
/// "langsmith" for every application.
pub fn project(attributes: &Attributes) -> Option<String> {
    attributes.get_str("langsmith.trace.session_name").map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned)
}
