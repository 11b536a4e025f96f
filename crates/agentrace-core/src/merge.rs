//! How pieces of one span or trace fold together (DESIGN.md §4).
//!
//! - A real value beats an absent one, `null`, an empty placeholder (`""`,
//!   `{}`, `[]`) and a provisional default (`running`, `custom`).
//! - Between two real values, the piece from the later stage of the item's
//!   life wins (an ended piece beats a started one); at the same stage, the
//!   later arrival wins.
//! - Metadata objects merge key by key under the same rule; tags are a union.
//! - Span events are a union too: the winning piece's events, then the
//!   other's that it lacks. Events of one span come from several messages
//!   (OTLP log records join their span's events), and a re-sent list adds
//!   nothing.
//!
//! Folding the same piece twice changes nothing, so client retries are safe,
//! and pieces of different stages give the same result in either order.

use serde_json::{Map, Value};

use crate::model::{SpanPiece, SpanType, Status, TokenUsage, TracePiece};

/// Whether a JSON value is a placeholder (`null`, `""`, `[]`, `{}`), which
/// never overwrites a real value.
pub fn is_placeholder_json(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

fn real_json(value: Option<Value>) -> Option<Value> {
    value.filter(|value| !is_placeholder_json(value))
}

fn real_text(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.is_empty())
}

/// Picks between two optional values already stripped of placeholders.
fn pick<T>(existing: Option<T>, incoming: Option<T>, incoming_wins: bool) -> Option<T> {
    match (existing, incoming) {
        (Some(existing), Some(incoming)) => Some(if incoming_wins { incoming } else { existing }),
        (existing, incoming) => existing.or(incoming),
    }
}

fn merge_metadata(existing: &mut Map<String, Value>, mut incoming: Map<String, Value>, incoming_wins: bool) {
    if existing.is_empty() {
        // The common case (every batch folds each piece into an empty one):
        // keeping the incoming map saves rebuilding it key by key.
        incoming.retain(|_, value| !value.is_null());
        *existing = incoming;
        return;
    }
    for (key, value) in incoming {
        if value.is_null() {
            continue;
        }
        match existing.get_mut(&key) {
            Some(current) if current.is_null() || incoming_wins => *current = value,
            Some(_) => {}
            None => {
                existing.insert(key, value);
            }
        }
    }
}

fn merge_tokens(existing: Option<TokenUsage>, incoming: Option<TokenUsage>, incoming_wins: bool) -> Option<TokenUsage> {
    let (existing, incoming) = match (existing, incoming) {
        (Some(existing), Some(incoming)) => (existing, incoming),
        (existing, incoming) => return existing.or(incoming).filter(|usage| !usage.is_empty()),
    };
    let merged = TokenUsage {
        prompt: pick(existing.prompt, incoming.prompt, incoming_wins),
        completion: pick(existing.completion, incoming.completion, incoming_wins),
        total: pick(existing.total, incoming.total, incoming_wins),
        cache_read: pick(existing.cache_read, incoming.cache_read, incoming_wins),
        cache_creation: pick(existing.cache_creation, incoming.cache_creation, incoming_wins),
        reasoning: pick(existing.reasoning, incoming.reasoning, incoming_wins),
    };
    (!merged.is_empty()).then_some(merged)
}

fn merge_events(existing: Vec<Value>, incoming: Vec<Value>, incoming_wins: bool) -> Vec<Value> {
    let (mut merged, others) = if incoming_wins { (incoming, existing) } else { (existing, incoming) };
    if others.is_empty() || others == merged {
        return merged;
    }
    if merged.is_empty() {
        return others;
    }
    // Long lists (streamed-token events) are compared by their text, not pairwise.
    if merged.len() * others.len() > 4096 {
        let mut seen: std::collections::HashSet<String> = merged.iter().map(Value::to_string).collect();
        merged.extend(others.into_iter().filter(|event| seen.insert(event.to_string())));
        return merged;
    }
    for event in others {
        if !merged.contains(&event) {
            merged.push(event);
        }
    }
    merged
}

/// Folds pieces of one span in arrival order, starting from nothing, which
/// also strips placeholders from a lone piece.
pub fn fold_span(pieces: impl IntoIterator<Item = SpanPiece>) -> Option<SpanPiece> {
    pieces.into_iter().fold(None, |folded, piece| {
        let base = folded.unwrap_or_else(|| SpanPiece::new(piece.trace_id.clone(), piece.span_id.clone()));
        Some(merge_span(base, piece))
    })
}

/// Folds pieces of one trace in arrival order, starting from nothing.
pub fn fold_trace(pieces: impl IntoIterator<Item = TracePiece>) -> Option<TracePiece> {
    pieces.into_iter().fold(None, |folded, piece| {
        let base = folded.unwrap_or_else(|| TracePiece::new(piece.trace_id.clone()));
        Some(merge_trace(base, piece))
    })
}

/// Folds `incoming` into `existing` (both describe the same span).
pub fn merge_span(existing: SpanPiece, incoming: SpanPiece) -> SpanPiece {
    let incoming_wins = incoming.has_ended() || !existing.has_ended();
    let SpanPiece {
        trace_id,
        span_id,
        parent_span_id,
        span_type,
        name,
        start_time,
        end_time,
        input,
        output,
        model,
        provider,
        tokens,
        cost_usd,
        status,
        error,
        mut metadata,
        events,
    } = existing;
    merge_metadata(&mut metadata, incoming.metadata, incoming_wins);
    let real_type = |kind: Option<SpanType>| kind.filter(|kind| *kind != SpanType::Custom);
    let real_status = |status: Option<Status>| status.filter(|status| status.is_final());
    SpanPiece {
        trace_id,
        span_id,
        parent_span_id: pick(parent_span_id, incoming.parent_span_id, incoming_wins),
        span_type: pick(real_type(span_type), real_type(incoming.span_type), incoming_wins)
            .or(span_type)
            .or(incoming.span_type),
        name: pick(real_text(name), real_text(incoming.name), incoming_wins),
        start_time: pick(start_time, incoming.start_time, incoming_wins),
        end_time: pick(end_time, incoming.end_time, incoming_wins),
        input: pick(real_json(input), real_json(incoming.input), incoming_wins),
        output: pick(real_json(output), real_json(incoming.output), incoming_wins),
        model: pick(real_text(model), real_text(incoming.model), incoming_wins),
        provider: pick(real_text(provider), real_text(incoming.provider), incoming_wins),
        tokens: merge_tokens(tokens, incoming.tokens, incoming_wins),
        cost_usd: pick(cost_usd, incoming.cost_usd, incoming_wins),
        status: pick(real_status(status), real_status(incoming.status), incoming_wins).or(status).or(incoming.status),
        error: pick(real_text(error), real_text(incoming.error), incoming_wins),
        metadata,
        events: merge_events(events, incoming.events, incoming_wins),
    }
}

/// Folds `incoming` into `existing` (both describe the same trace).
pub fn merge_trace(existing: TracePiece, incoming: TracePiece) -> TracePiece {
    let incoming_wins = incoming.has_ended() || !existing.has_ended();
    let TracePiece {
        trace_id,
        session_id,
        user_id,
        project,
        name,
        start_time,
        end_time,
        input,
        output,
        status,
        error,
        mut metadata,
        mut tags,
    } = existing;
    merge_metadata(&mut metadata, incoming.metadata, incoming_wins);
    for tag in incoming.tags {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    let real_status = |status: Option<Status>| status.filter(|status| status.is_final());
    TracePiece {
        trace_id,
        session_id: pick(real_text(session_id), real_text(incoming.session_id), incoming_wins),
        user_id: pick(real_text(user_id), real_text(incoming.user_id), incoming_wins),
        project: pick(real_text(project), real_text(incoming.project), incoming_wins),
        name: pick(real_text(name), real_text(incoming.name), incoming_wins),
        start_time: pick(start_time, incoming.start_time, incoming_wins),
        end_time: pick(end_time, incoming.end_time, incoming_wins),
        input: pick(real_json(input), real_json(incoming.input), incoming_wins),
        output: pick(real_json(output), real_json(incoming.output), incoming_wins),
        status: pick(real_status(status), real_status(incoming.status), incoming_wins).or(status).or(incoming.status),
        error: pick(real_text(error), real_text(incoming.error), incoming_wins),
        metadata,
        tags,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::{SpanId, TraceId};
    use crate::time::parse_rfc3339;

    fn start_piece() -> SpanPiece {
        let mut piece = SpanPiece::new(TraceId::parse("t").unwrap(), SpanId::parse("s").unwrap());
        piece.name = Some("ReasonNode".into());
        piece.span_type = Some(SpanType::Node);
        piece.start_time = parse_rfc3339("2026-01-01T00:00:00Z");
        piece.input = Some(json!({"q": "hi"}));
        piece.output = Some(json!({}));
        piece.status = Some(Status::Running);
        piece.metadata.insert("a".into(), json!(1));
        piece
    }

    fn end_piece() -> SpanPiece {
        let mut piece = SpanPiece::new(TraceId::parse("t").unwrap(), SpanId::parse("s").unwrap());
        piece.end_time = parse_rfc3339("2026-01-01T00:00:02Z");
        piece.output = Some(json!({"answer": 42}));
        piece.input = Some(Value::Null);
        piece.status = Some(Status::Success);
        piece.tokens = Some(TokenUsage { prompt: Some(3), completion: Some(4), ..TokenUsage::default() });
        piece.metadata.insert("a".into(), json!(2));
        piece.metadata.insert("b".into(), Value::Null);
        piece
    }

    #[test]
    fn arrival_order_does_not_change_the_result() {
        let start_then_end = fold_span([start_piece(), end_piece()]).unwrap();
        let end_then_start = fold_span([end_piece(), start_piece()]).unwrap();
        assert_eq!(start_then_end, end_then_start);
        assert_eq!(start_then_end.input, Some(json!({"q": "hi"})));
        assert_eq!(start_then_end.output, Some(json!({"answer": 42})));
        assert_eq!(start_then_end.status, Some(Status::Success));
        assert_eq!(start_then_end.metadata, json!({"a": 2}).as_object().unwrap().clone());
    }

    #[test]
    fn events_from_several_pieces_are_joined_once() {
        let mut ended = end_piece();
        ended.events = vec![json!({"name": "exception"}), json!({"name": "token"})];
        let mut log = SpanPiece::new(TraceId::parse("t").unwrap(), SpanId::parse("s").unwrap());
        log.events = vec![json!({"name": "gen_ai.client.inference.operation.details"}), json!({"name": "token"})];
        let expected = vec![
            json!({"name": "exception"}),
            json!({"name": "token"}),
            json!({"name": "gen_ai.client.inference.operation.details"}),
        ];
        let span_first = fold_span([ended.clone(), log.clone()]).unwrap();
        let log_first = fold_span([log.clone(), ended.clone()]).unwrap();
        assert_eq!(span_first.events, expected);
        assert_eq!(log_first.events, expected);
        assert_eq!(merge_span(span_first.clone(), log), span_first);
    }

    #[test]
    fn a_duplicate_piece_changes_nothing() {
        let once = fold_span([start_piece(), end_piece()]).unwrap();
        let twice = merge_span(once.clone(), end_piece());
        assert_eq!(once, twice);
        assert_eq!(merge_span(once.clone(), start_piece()), once);
    }

    #[test]
    fn placeholders_never_erase_real_values() {
        let mut placeholder = SpanPiece::new(TraceId::parse("t").unwrap(), SpanId::parse("s").unwrap());
        placeholder.end_time = parse_rfc3339("2026-01-01T00:00:02Z");
        placeholder.input = Some(json!([]));
        placeholder.name = Some(String::new());
        placeholder.span_type = Some(SpanType::Custom);
        let merged = merge_span(start_piece(), placeholder);
        assert_eq!(merged.input, Some(json!({"q": "hi"})));
        assert_eq!(merged.name.as_deref(), Some("ReasonNode"));
        assert_eq!(merged.span_type, Some(SpanType::Node));
    }

    #[test]
    fn trace_tags_union_and_defaults_give_way() {
        let mut first = TracePiece::new(TraceId::parse("t").unwrap());
        first.tags = vec!["a".into()];
        first.session_id = Some(String::new());
        let mut second = TracePiece::new(TraceId::parse("t").unwrap());
        second.tags = vec!["b".into(), "a".into()];
        second.session_id = Some("session_1".into());
        let merged = merge_trace(first, second);
        assert_eq!(merged.tags, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(merged.session_id.as_deref(), Some("session_1"));
    }
}
