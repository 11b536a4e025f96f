//! The OpenTelemetry GenAI semantic conventions (current and deprecated
//! names) and MCP spans, onto agentrace's columns.
//!
//! Each function reads one concern and takes the attributes it used, so
//! the conversion can try the conventions in priority order and leave the
//! rest for metadata. The operation name and MCP method stay in metadata:
//! they are the raw kind behind `span_type`.

use agentrace_core::{SpanType, TokenUsage};
use serde_json::{json, Value};

use super::attributes::Attributes;
use super::value::{as_count, as_text, json_or_text};

/// The conversation (session) a span belongs to.
pub const SESSION_KEYS: &[&str] = &["gen_ai.conversation.id"];

pub fn span_type(attributes: &Attributes) -> Option<SpanType> {
    if attributes.contains("mcp.method.name") {
        return Some(SpanType::McpCall);
    }
    let kind = match attributes.get_str("gen_ai.operation.name")? {
        "chat" | "text_completion" | "generate_content" => SpanType::ModelCall,
        "embeddings" => SpanType::Embedding,
        "execute_tool" => SpanType::ToolCall,
        "invoke_agent" | "create_agent" => SpanType::Agent,
        "retrieval"
        | "search_memory"
        | "create_memory"
        | "update_memory"
        | "upsert_memory"
        | "delete_memory"
        | "create_memory_store"
        | "delete_memory_store" => SpanType::Retriever,
        "invoke_workflow" => SpanType::Chain,
        "plan" => SpanType::Node,
        _ => return None,
    };
    Some(kind)
}

/// The response model (what actually ran), else the requested one. The
/// requested model stays in metadata when it differs from the response's.
pub fn model(attributes: &mut Attributes) -> Option<String> {
    let response = attributes.take_if("gen_ai.response.model", |value| as_text(value).map(str::to_owned));
    match response {
        Some(response) => {
            if attributes.get_str("gen_ai.request.model") == Some(response.as_str()) {
                attributes.take("gen_ai.request.model");
            }
            Some(response)
        }
        None => attributes.take_if("gen_ai.request.model", |value| as_text(value).map(str::to_owned)),
    }
}

/// `gen_ai.provider.name`, else the deprecated `gen_ai.system`, normalised
/// to the current provider names; a raw value that differs from its
/// normalised form stays in metadata.
pub fn provider(attributes: &mut Attributes) -> Option<String> {
    ["gen_ai.provider.name", "gen_ai.system"].into_iter().find_map(|key| {
        let raw = as_text(attributes.get(key)?)?.to_owned();
        let normalised = normalise_provider(&raw);
        if normalised == raw {
            attributes.take(key);
        }
        Some(normalised)
    })
}

/// Old `gen_ai.system` values and the capitalised names OpenLLMetry sends,
/// onto the GenAI provider names.
pub fn normalise_provider(raw: &str) -> String {
    let lower = raw.trim().to_ascii_lowercase();
    let normalised = match lower.as_str() {
        "az.ai.openai" | "azure_openai" | "azure openai" | "azureopenai" => "azure.ai.openai",
        "az.ai.inference" => "azure.ai.inference",
        "vertex_ai" | "vertexai" | "vertex ai" => "gcp.vertex_ai",
        "gemini" => "gcp.gemini",
        "xai" => "x_ai",
        "mistral" | "mistralai" => "mistral_ai",
        "bedrock" | "aws_bedrock" | "aws bedrock" => "aws.bedrock",
        "watsonx" | "ibm_watsonx" => "ibm.watsonx.ai",
        "moonshot" => "moonshot_ai",
        _ => return lower,
    };
    normalised.to_owned()
}

/// Token counts under the current names, then the deprecated ones; only
/// fields still unknown are filled.
pub fn tokens(attributes: &mut Attributes, usage: &mut TokenUsage) {
    fill(&mut usage.prompt, attributes, &["gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"]);
    fill(&mut usage.completion, attributes, &["gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"]);
    fill(&mut usage.total, attributes, &["gen_ai.usage.total_tokens"]);
    fill(
        &mut usage.cache_read,
        attributes,
        &["gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens"],
    );
    fill(
        &mut usage.cache_creation,
        attributes,
        &["gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens"],
    );
    fill(&mut usage.reasoning, attributes, &["gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens"]);
}

pub(super) fn fill(slot: &mut Option<i64>, attributes: &mut Attributes, keys: &[&str]) {
    if slot.is_none() {
        *slot = attributes.take_first(keys, as_count);
    }
}

/// Messages (with the system instructions as a leading system message),
/// else tool call arguments, else a retrieval query.
pub fn input(attributes: &mut Attributes) -> Option<Value> {
    if let Some(messages) =
        messages_with_instructions(attributes, "gen_ai.input.messages", "gen_ai.system_instructions")
    {
        return Some(messages);
    }
    attributes
        .take("gen_ai.tool.call.arguments")
        .map(json_or_text)
        .or_else(|| attributes.take("gen_ai.retrieval.query.text"))
}

pub fn output(attributes: &mut Attributes) -> Option<Value> {
    attributes
        .take("gen_ai.output.messages")
        .map(json_or_text)
        .or_else(|| attributes.take("gen_ai.tool.call.result").map(json_or_text))
        .or_else(|| attributes.take("gen_ai.retrieval.documents").map(json_or_text))
}

/// `gen_ai.input.messages` with `gen_ai.system_instructions` (a list of
/// parts) folded in as a leading `{"role": "system", "parts": …}` message,
/// so that a span's input is one conversation in the GenAI message schema.
fn messages_with_instructions(
    attributes: &mut Attributes,
    messages_key: &str,
    instructions_key: &str,
) -> Option<Value> {
    let messages = attributes.take(messages_key).map(json_or_text);
    let instructions = attributes.take(instructions_key).map(json_or_text);
    match (instructions, messages) {
        (None, messages) => messages,
        (Some(instructions), Some(Value::Array(mut messages))) => {
            messages.insert(0, system_message(instructions));
            Some(Value::Array(messages))
        }
        (Some(instructions), None) => Some(Value::Array(vec![system_message(instructions)])),
        (Some(instructions), Some(other)) => Some(json!({"system_instructions": instructions, "messages": other})),
    }
}

fn system_message(instructions: Value) -> Value {
    match instructions {
        parts @ Value::Array(_) => json!({"role": "system", "parts": parts}),
        text => json!({"role": "system", "parts": [{"type": "text", "content": text}]}),
    }
}

const MESSAGE_EVENTS: &[(&str, &str)] = &[
    ("gen_ai.system.message", "system"),
    ("gen_ai.user.message", "user"),
    ("gen_ai.assistant.message", "assistant"),
    ("gen_ai.tool.message", "tool"),
];
const DETAILS_EVENT: &str = "gen_ai.client.inference.operation.details";

fn event_attributes<'a>(events: &'a [Value], name: &str) -> impl Iterator<Item = &'a Value> + 'a {
    let name = name.to_owned();
    events.iter().filter(move |event| event["name"] == name.as_str()).map(|event| &event["attributes"])
}

/// Input from span events: the v1.26 `gen_ai.content.prompt` event, else
/// the per-message events, else the inference details event. The events
/// themselves are kept as they came.
pub fn input_from_events(events: &[Value]) -> Option<Value> {
    if let Some(prompt) = event_attributes(events, "gen_ai.content.prompt").find_map(|attrs| attrs.get("gen_ai.prompt"))
    {
        return Some(json_or_text(prompt.clone()));
    }
    let messages: Vec<Value> = events
        .iter()
        .filter_map(|event| {
            let (_, role) = MESSAGE_EVENTS.iter().find(|(name, _)| event["name"] == *name)?;
            let attributes = &event["attributes"];
            let role = attributes.get("role").and_then(Value::as_str).unwrap_or(role);
            let mut message = json!({"role": role});
            for field in ["content", "tool_calls", "id"] {
                if let Some(value) = attributes.get(field) {
                    message[field] = json_or_text(value.clone());
                }
            }
            Some(message)
        })
        .collect();
    if !messages.is_empty() {
        return Some(Value::Array(messages));
    }
    event_attributes(events, DETAILS_EVENT).find_map(|attributes| details_messages(attributes, true))
}

pub fn output_from_events(events: &[Value]) -> Option<Value> {
    if let Some(completion) =
        event_attributes(events, "gen_ai.content.completion").find_map(|attrs| attrs.get("gen_ai.completion"))
    {
        return Some(json_or_text(completion.clone()));
    }
    let choices: Vec<Value> = event_attributes(events, "gen_ai.choice")
        .map(|attributes| {
            let mut message = attributes.get("message").cloned().map(json_or_text).unwrap_or_else(|| json!({}));
            if let (Value::Object(fields), Some(reason)) = (&mut message, attributes.get("finish_reason")) {
                fields.entry("finish_reason").or_insert_with(|| reason.clone());
            }
            message
        })
        .collect();
    if !choices.is_empty() {
        return Some(Value::Array(choices));
    }
    event_attributes(events, DETAILS_EVENT).find_map(|attributes| details_messages(attributes, false))
}

/// The messages of a `gen_ai.client.inference.operation.details` event or
/// log record (its attributes as a JSON object).
pub fn details_messages(attributes: &Value, input: bool) -> Option<Value> {
    let object = attributes.as_object()?;
    let mut attributes = Attributes::new(object.iter().map(|(key, value)| (key.clone(), value.clone())).collect());
    if input {
        messages_with_instructions(&mut attributes, "gen_ai.input.messages", "gen_ai.system_instructions")
    } else {
        attributes.take("gen_ai.output.messages").map(json_or_text)
    }
}
