//! `agentrace sessions` (one line per conversation) and `agentrace session
//! ID` (the conversation turn by turn).

use agentrace_store::query::{Page, SessionDetail, SessionSummary};
use serde_json::Value;

use super::table::{Align, Cell, Table};
use super::traces::next_page;
use super::{abbreviate, cost, count, counted, duration, time, Palette};

/// How much of a turn's input or output is shown.
const TURN_TEXT_CHARS: usize = 160;

pub fn render_sessions(page: &Page<SessionSummary>, palette: Palette) -> String {
    if page.items.is_empty() {
        return "no sessions found\n".to_owned();
    }
    let mut table = Table::new(&[
        ("LAST ACTIVE (UTC)", Align::Left),
        ("SESSION", Align::Left),
        ("PROJECT", Align::Left),
        ("USER", Align::Left),
        ("TRACES", Align::Right),
        ("ERRORS", Align::Right),
        ("TOKENS", Align::Right),
        ("COST", Align::Right),
    ]);
    for session in &page.items {
        let errors = count(session.error_count);
        let errors_cell = if session.error_count > 0 {
            Cell::styled(errors.clone(), palette.error(&errors))
        } else {
            Cell::new(errors)
        };
        table.push(vec![
            Cell::new(time(session.last_time)),
            Cell::new(&session.session_id),
            Cell::new(&session.project),
            Cell::new(session.user_id.as_deref().unwrap_or("-")),
            Cell::new(count(session.trace_count)),
            errors_cell,
            Cell::new(count(session.total_tokens)),
            Cell::new(cost(session.cost_usd)),
        ]);
    }
    let mut out = table.render(|line| palette.header(line));
    out.push_str(&next_page(&page.next_cursor, palette));
    out
}

pub fn render_session(detail: &SessionDetail, palette: Palette) -> String {
    let session = &detail.session;
    let mut out = String::new();
    out.push_str(&palette.header(&format!("session {}", session.session_id)));
    let user = session.user_id.as_deref().map(|user| format!(" · user {user}")).unwrap_or_default();
    out.push_str(&format!(" · project {}{user}\n", session.project));
    let errors = counted(session.error_count, "error", "errors");
    out.push_str(&format!(
        "{} · {} → {} UTC · {} · {} · {}\n",
        counted(session.trace_count, "turn", "turns"),
        time(session.first_time),
        time(session.last_time),
        counted(session.total_tokens, "token", "tokens"),
        cost(session.cost_usd),
        if session.error_count > 0 { palette.error(&errors) } else { errors },
    ));
    for (number, turn) in detail.turns.iter().enumerate() {
        let trace = &turn.trace;
        out.push('\n');
        out.push_str(&palette.header(&format!("turn {} · {} UTC", number + 1, time(trace.start_time))));
        out.push_str(&format!(
            " · {} · {} · {} · {} · {}\n",
            trace.trace_id,
            palette.status(trace.status),
            duration(trace.duration_ms),
            counted(turn.stats.total_tokens, "token", "tokens"),
            cost(turn.stats.cost_usd),
        ));
        out.push_str(&format!(
            "  > {}\n",
            abbreviate(&summary_text(trace.input.as_ref(), Side::Input), TURN_TEXT_CHARS)
        ));
        match (&trace.error, trace.output.as_ref()) {
            (Some(error), None) => {
                out.push_str(&format!("  {}\n", palette.error(&format!("! {}", abbreviate(error, TURN_TEXT_CHARS)))));
            }
            (None, None) if trace.status == agentrace_core::Status::Running => out.push_str("  < (still running)\n"),
            (_, output) => {
                out.push_str(&format!("  < {}\n", abbreviate(&summary_text(output, Side::Output), TURN_TEXT_CHARS)));
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Input,
    Output,
}

/// The human part of a turn's input or output: the user's last message, the
/// assistant's answer, or a payload's text field; compact JSON otherwise.
fn summary_text(value: Option<&Value>, side: Side) -> String {
    match value {
        None | Some(Value::Null) => "-".to_owned(),
        Some(value) => text_of(value, side).unwrap_or_else(|| value.to_string()),
    }
}

const TEXT_KEYS: &[&str] =
    &["content", "text", "question", "query", "prompt", "input", "message", "answer", "output", "result", "response"];

fn text_of(value: &Value, side: Side) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Array(items) => message_text(items, side).or_else(|| {
            // Content parts (`[{"type": "text", "text": …}]`) read as one text.
            let parts: Vec<String> = items.iter().filter_map(|item| text_of(item, side)).collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        }),
        Value::Object(object) => {
            if let Some(Value::Array(messages)) = object.get("messages") {
                if let Some(text) = message_text(messages, side) {
                    return Some(text);
                }
            }
            if let Some(Value::Array(choices)) = object.get("choices") {
                if let Some(text) = choices.first().and_then(|choice| text_of(choice, side)) {
                    return Some(text);
                }
            }
            TEXT_KEYS.iter().find_map(|key| object.get(*key).and_then(|inner| text_of(inner, side)))
        }
        _ => None,
    }
}

/// In a list of chat messages: the last user message of an input, the last
/// message of an output.
fn message_text(messages: &[Value], side: Side) -> Option<String> {
    let is_message = |value: &Value| value.get("role").or_else(|| value.get("type")).is_some_and(Value::is_string);
    if messages.is_empty() || !messages.iter().all(is_message) {
        return None;
    }
    let chosen = match side {
        Side::Input => messages
            .iter()
            .rev()
            .find(|message| {
                matches!(
                    message.get("role").or_else(|| message.get("type")).and_then(Value::as_str),
                    Some("user" | "human")
                )
            })
            .or(messages.last()),
        Side::Output => messages.last(),
    }?;
    chosen.get("content").and_then(|content| text_of(content, side))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn turns_show_the_human_part_of_a_payload() {
        let chat = json!({"messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "Let me check."},
        ]});
        assert_eq!(summary_text(Some(&chat), Side::Input), "Weather in Paris?");
        assert_eq!(summary_text(Some(&chat), Side::Output), "Let me check.");
        let parts =
            json!([{"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]}]);
        assert_eq!(summary_text(Some(&parts), Side::Input), "Hi there");
        let openai = json!({"choices": [{"message": {"role": "assistant", "content": "Sunny."}}]});
        assert_eq!(summary_text(Some(&openai), Side::Output), "Sunny.");
        assert_eq!(summary_text(Some(&json!({"answer": "42"})), Side::Output), "42");
        assert_eq!(summary_text(Some(&json!("plain")), Side::Input), "plain");
        assert_eq!(summary_text(Some(&json!({"a": 1})), Side::Input), "{\"a\":1}");
        assert_eq!(summary_text(None, Side::Input), "-");
    }
}
