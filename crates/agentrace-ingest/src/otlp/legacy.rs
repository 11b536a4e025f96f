//! Older attribute names still sent by instrumentations in the wild:
//! OpenLLMetry (Traceloop) span kinds, flattened `gen_ai.prompt.N.*` /
//! `gen_ai.completion.N.*` messages, `llm.usage.total_tokens`,
//! `traceloop.entity.*` and association properties, and Langfuse's own
//! session and user keys. Tried after the GenAI and OpenInference names.

use agentrace_core::{SpanType, TokenUsage};
use serde_json::Value;

use super::attributes::Attributes;
use super::genai::fill;
use super::value::json_or_text;

pub const SESSION_KEYS: &[&str] = &["langfuse.session.id", "traceloop.association.properties.session_id"];
pub const USER_KEYS: &[&str] = &["enduser.id", "langfuse.user.id", "traceloop.association.properties.user_id"];

pub fn span_type(attributes: &Attributes) -> Option<SpanType> {
    if let Some(kind) = attributes.get_str("traceloop.span.kind") {
        let span_type = match kind {
            "workflow" => SpanType::Chain,
            "task" => SpanType::Node,
            "agent" => SpanType::Agent,
            "tool" => SpanType::ToolCall,
            _ => SpanType::Custom,
        };
        if span_type != SpanType::Custom {
            return Some(span_type);
        }
    }
    if let Some(request_type) = attributes.get_str("llm.request.type") {
        return Some(match request_type {
            "embedding" | "embeddings" => SpanType::Embedding,
            "rerank" => SpanType::Retriever,
            _ => SpanType::ModelCall,
        });
    }
    attributes.contains("gen_ai.system").then_some(SpanType::ModelCall)
}

pub fn tokens(attributes: &mut Attributes, usage: &mut TokenUsage) {
    fill(&mut usage.total, attributes, &["llm.usage.total_tokens"]);
    fill(&mut usage.cache_read, attributes, &["gen_ai.usage.cache_read_input_tokens"]);
    fill(&mut usage.cache_creation, attributes, &["gen_ai.usage.cache_creation_input_tokens"]);
}

/// OpenLLMetry's flattened `gen_ai.prompt.N.{role,content}`, else a whole
/// `gen_ai.prompt` value.
pub fn input(attributes: &mut Attributes) -> Option<Value> {
    attributes.take_flattened("gen_ai.prompt").or_else(|| attributes.take("gen_ai.prompt").map(json_or_text))
}

pub fn output(attributes: &mut Attributes) -> Option<Value> {
    attributes.take_flattened("gen_ai.completion").or_else(|| attributes.take("gen_ai.completion").map(json_or_text))
}

/// The last resort for a span's input: what Traceloop's decorators record.
pub fn entity_input(attributes: &mut Attributes) -> Option<Value> {
    attributes.take("traceloop.entity.input").map(json_or_text)
}

pub fn entity_output(attributes: &mut Attributes) -> Option<Value> {
    attributes.take("traceloop.entity.output").map(json_or_text)
}
