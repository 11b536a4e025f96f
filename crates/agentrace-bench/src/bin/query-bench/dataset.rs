//! The traces query-bench reads: agent runs shaped like production ones, so
//! that every filter, sort and aggregate meets the selectivity it would meet
//! in a real deployment rather than a flattering stand-in.
//!
//! Trace `t` belongs to session `t / 10` (turn `t % 10`, two minutes or so
//! apart). A session has one project, one user and one primary model, drawn
//! with skewed weights; 40% of sessions start in the 24 hours before the
//! run's anchor time, the rest over the six days before, so the last day is
//! four times as dense as the others. Every trace is one agent run of 50
//! spans: an agent root, graph nodes, model calls, tool, MCP and retriever
//! calls, with tokens and a few errors. Its question names a unique order
//! number (`ORD-0001234`), one of 200 product words, and in 30% of traces
//! the word "refund": free-text searches that match one trace, about 0.5%
//! of them, and about 30%. One trace of 1,000 spans (the same shape, more
//! iterations) stands for a long agent run. Some traces carry feedback and
//! an attachment, so reading a trace does all the work a real one does.
//!
//! Everything is derived from the trace's number by a seeded generator: the
//! first N traces are the same whatever the full size, so the small
//! measurement reads a prefix of the large one with the same shape. Each
//! loading step writes its sessions in start order, as production ingests
//! them, so that a day's rows sit together on disk.

use agentrace_core::time::{to_micros_precision, Timestamp};
use agentrace_core::{Attachment, Feedback, SpanId, SpanPiece, SpanType, Status, TokenUsage, TraceId, TracePiece};
use agentrace_store::WriteBatch;
use chrono::Duration as TimeDelta;
use serde_json::{json, Map};

pub const SPANS_PER_TRACE: usize = 50;
pub const TRACES_PER_SESSION: u64 = 10;
/// Share of sessions, in percent, that start in the last 24 hours.
const RECENT_SESSIONS_PERCENT: u64 = 40;
/// Days before the last one over which the other sessions spread.
const OLDER_DAYS: i64 = 6;

/// (model, provider, weight): a handful of models, unevenly used, and one
/// that no price table knows.
pub const MODELS: [(&str, &str, u64); 7] = [
    ("gpt-4o", "openai", 30),
    ("claude-sonnet-4", "anthropic", 25),
    ("gpt-4o-mini", "openai", 15),
    ("gemini-2.5-pro", "gcp.gemini", 12),
    ("mistral-large-latest", "mistral_ai", 10),
    ("claude-3-5-haiku", "anthropic", 6),
    ("acme-internal-llm", "acme", 2),
];

/// (project, agent name, weight).
const PROJECTS: [(&str, &str, u64); 4] = [
    ("support-bot", "support-agent", 50),
    ("research-agent", "research-agent", 25),
    ("sales-assistant", "sales-agent", 15),
    ("internal-tools", "ops-agent", 10),
];

const USERS: u64 = 1_000;

/// The long trace's number for its span ids: beyond any numbered trace.
const BIG_TRACE_NUMBER: u64 = 1 << 40;

/// The word in 30% of the questions, for a free-text search that matches many traces.
pub const COMMON_WORD: &str = "refund";
const COMMON_WORD_PERCENT: u64 = 30;

/// Three-letter syllables that combine into 200 nine- or eight-letter
/// product words, none a substring of another or of the filler text.
const WORD_HEADS: [&str; 10] = ["bor", "cal", "dun", "fen", "gar", "hol", "jin", "kes", "lum", "mar"];
const WORD_MIDDLES: [&str; 10] = ["ado", "eli", "ifo", "oru", "ube", "aki", "emo", "ipa", "oze", "ula"];
const WORD_TAILS: [&str; 2] = ["nth", "sk"];
pub const PRODUCT_WORDS: usize = WORD_HEADS.len() * WORD_MIDDLES.len() * WORD_TAILS.len();

/// Filler text: common English words, none containing a product word,
/// the common word or an order number.
const FILLER: &[&str] = &[
    "the",
    "customer",
    "asked",
    "about",
    "their",
    "order",
    "shipping",
    "delay",
    "invoice",
    "account",
    "password",
    "reset",
    "search",
    "results",
    "found",
    "three",
    "relevant",
    "documents",
    "summarise",
    "answer",
    "politely",
    "check",
    "inventory",
    "warehouse",
    "tracking",
    "number",
    "carrier",
    "estimated",
    "delivery",
    "weekend",
    "apologise",
    "escalate",
    "tool",
    "returned",
    "status",
    "pending",
    "approved",
    "subscription",
    "renewal",
    "discount",
    "coupon",
    "expired",
    "valid",
    "region",
    "europe",
    "pricing",
    "tier",
    "enterprise",
    "ticket",
    "opened",
    "closed",
    "priority",
    "high",
    "low",
    "because",
    "which",
    "would",
    "should",
    "could",
    "before",
    "after",
    "while",
    "context",
    "window",
    "retrieved",
    "knowledge",
    "base",
    "article",
    "section",
    "paragraph",
    "quote",
    "json",
    "schema",
    "field",
    "missing",
    "required",
];

const TOOLS: [&str; 5] = ["search_docs", "lookup_order", "fetch_tracking", "create_ticket", "send_email"];
const MCP_TOOLS: [&str; 3] = ["filesystem.read_file", "github.search_issues", "crm.get_contact"];

pub fn product_word(index: usize) -> String {
    let head = WORD_HEADS[index % WORD_HEADS.len()];
    let middle = WORD_MIDDLES[(index / WORD_HEADS.len()) % WORD_MIDDLES.len()];
    let tail = WORD_TAILS[(index / (WORD_HEADS.len() * WORD_MIDDLES.len())) % WORD_TAILS.len()];
    format!("{head}{middle}{tail}")
}

/// The order number trace `trace` asks about: in its input and nowhere else.
pub fn order_number(trace: u64) -> String {
    format!("ORD-{trace:07}")
}

/// A deterministic generator (SplitMix64).
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Random {
        Random(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn weighted<T: Copy>(&mut self, choices: &[(T, u64)]) -> T {
        let total: u64 = choices.iter().map(|(_, weight)| weight).sum();
        let mut pick = self.below(total);
        for &(choice, weight) in choices {
            if pick < weight {
                return choice;
            }
            pick -= weight;
        }
        choices[choices.len() - 1].0
    }

    fn words(&mut self, count: usize) -> String {
        let words: Vec<&str> = (0..count).map(|_| FILLER[self.below(FILLER.len() as u64) as usize]).collect();
        words.join(" ")
    }
}

/// Seeds for the generators of different things, so that no two draw the
/// same sequence.
fn seed(kind: u64, number: u64) -> u64 {
    Random(kind << 56 ^ number).next()
}

/// The dataset: which traces exist and when "now" is for them.
#[derive(Debug, Clone, Copy)]
pub struct Dataset {
    /// The end of the busiest 24 hours: every trace starts before it.
    pub anchor: Timestamp,
    /// Spans of the one long trace.
    pub big_trace_spans: usize,
}

/// What a session's traces share.
struct Session {
    project: &'static str,
    agent_name: &'static str,
    user: u64,
    model: (&'static str, &'static str),
    start: Timestamp,
}

impl Dataset {
    pub fn new(anchor: Timestamp, big_trace_spans: usize) -> Dataset {
        Dataset { anchor: to_micros_precision(anchor), big_trace_spans }
    }

    pub fn trace_id(trace: u64) -> TraceId {
        TraceId::parse(format!("{:016x}{trace:016x}", seed(1, trace))).expect("a 32-character hex id is valid")
    }

    pub fn session_id(session: u64) -> String {
        format!("session-{:012x}", seed(2, session) >> 16)
    }

    /// The long trace: an id no numbered trace has, a session of its own.
    pub fn big_trace_id() -> TraceId {
        TraceId::parse("b16b16b16b16b16b16b16b16b16b16b1").expect("a 32-character hex id is valid")
    }

    fn session(&self, session: u64) -> Session {
        let mut random = Random(seed(3, session));
        let (project, agent_name) =
            random.weighted(&PROJECTS.map(|(project, agent, weight)| ((project, agent), weight)));
        let model = random.weighted(&MODELS.map(|(model, provider, weight)| ((model, provider), weight)));
        let user = random.below(USERS);
        // Sessions end (ten turns, a few minutes apart) before the anchor.
        let hour_ms = 3_600_000;
        let offset_ms = if random.percent(RECENT_SESSIONS_PERCENT) {
            hour_ms + random.below(23 * hour_ms as u64) as i64
        } else {
            24 * hour_ms + random.below((OLDER_DAYS * 24 * hour_ms) as u64) as i64
        };
        Session { project, agent_name, user, model, start: self.anchor - TimeDelta::milliseconds(offset_ms) }
    }

    /// Sessions `[first, last)` in the order they started: the order their
    /// traces reach a store in production, so that rows of one period sit
    /// together on disk as they would, rather than scattered by number.
    pub fn sessions_in_time_order(&self, first: u64, last: u64) -> Vec<u64> {
        let mut sessions: Vec<(Timestamp, u64)> =
            (first..last).map(|session| (self.session(session).start, session)).collect();
        sessions.sort();
        sessions.into_iter().map(|(_, session)| session).collect()
    }

    /// The traces of `sessions` (each with its spans, and the feedback and
    /// attachments some carry), in one write batch.
    pub fn batch(&self, sessions: &[u64]) -> WriteBatch {
        let traces =
            sessions.iter().flat_map(|session| (session * TRACES_PER_SESSION)..((session + 1) * TRACES_PER_SESSION));
        let mut batch = WriteBatch::default();
        for trace in traces {
            let session_number = trace / TRACES_PER_SESSION;
            let session = self.session(session_number);
            let turn = trace % TRACES_PER_SESSION;
            let mut random = Random(seed(4, trace));
            let start = session.start + TimeDelta::milliseconds(turn as i64 * 120_000 + random.below(30_000) as i64);
            let trace_id = Dataset::trace_id(trace);
            let shape = TraceShape {
                number: trace,
                trace_id: trace_id.clone(),
                session_id: Dataset::session_id(session_number),
                session: &session,
                order: order_number(trace),
                product: product_word(random.below(PRODUCT_WORDS as u64) as usize),
                spans: SPANS_PER_TRACE,
                start,
            };
            shape.write_into(&mut batch, &mut random);
            if random.percent(10) {
                batch.feedback.push(feedback(&trace_id, format!("fb-{trace}"), start, &mut random));
            }
            if random.percent(2) {
                batch.attachments.push(attachment(&trace_id, &batch.spans, "screenshot.png", &mut random));
            }
        }
        batch
    }

    /// The long trace, with a few attachments and feedback.
    pub fn big_trace_batch(&self) -> WriteBatch {
        let mut batch = WriteBatch::default();
        let mut random = Random(seed(5, 0));
        let session = Session {
            project: PROJECTS[1].0,
            agent_name: PROJECTS[1].1,
            user: 7,
            model: (MODELS[1].0, MODELS[1].1),
            start: self.anchor - TimeDelta::hours(2),
        };
        let trace_id = Dataset::big_trace_id();
        let shape = TraceShape {
            number: BIG_TRACE_NUMBER,
            trace_id: trace_id.clone(),
            session_id: trace_id.to_string(),
            session: &session,
            order: "ORD-BIG0001".to_owned(),
            product: product_word(0),
            spans: self.big_trace_spans,
            start: session.start,
        };
        shape.write_into(&mut batch, &mut random);
        for name in ["report.pdf", "chart.png", "transcript.txt"] {
            batch.attachments.push(attachment(&trace_id, &batch.spans, name, &mut random));
        }
        for number in 0..2 {
            batch.feedback.push(feedback(&trace_id, format!("fb-big-{number}"), session.start, &mut random));
        }
        batch
    }
}

fn feedback(trace_id: &TraceId, feedback_id: String, start: Timestamp, random: &mut Random) -> Feedback {
    let helpful = random.percent(80);
    Feedback {
        feedback_id,
        trace_id: Some(trace_id.clone()),
        span_id: None,
        key: "user_score".to_owned(),
        score: Some(if helpful { 1.0 } else { 0.0 }),
        value: None,
        comment: (!helpful).then(|| random.words(8)),
        correction: None,
        source: Some(json!({"type": "app"})),
        metadata: Map::new(),
        created_at: Some(start + TimeDelta::minutes(5)),
    }
}

/// A file of a few kilobytes on a span of the trace just added to `spans`.
fn attachment(trace_id: &TraceId, spans: &[SpanPiece], name: &str, random: &mut Random) -> Attachment {
    let trace_spans: Vec<&SpanPiece> = spans.iter().filter(|span| &span.trace_id == trace_id).collect();
    let span = trace_spans[random.below(trace_spans.len() as u64) as usize];
    let content: Vec<u8> = (0..4_096).map(|_| random.next() as u8).collect();
    let content_type = if name.ends_with(".png") { "image/png" } else { "application/octet-stream" };
    Attachment {
        trace_id: trace_id.clone(),
        span_id: span.span_id.clone(),
        name: name.to_owned(),
        content_type: content_type.to_owned(),
        content,
    }
}

/// One agent run: the root, then reason / act iterations (a ReasonNode
/// with its model call; a ToolNode with a tool call, an MCP call and a
/// retrieval), then a ResponseNode with the final model call, cut to
/// exactly `spans` spans.
struct TraceShape<'a> {
    /// The trace's number (the long trace has one no numbered trace reaches).
    number: u64,
    trace_id: TraceId,
    session_id: String,
    session: &'a Session,
    order: String,
    product: String,
    spans: usize,
    start: Timestamp,
}

/// Lays spans out one after another on the trace's clock.
struct Clock {
    spans: Vec<SpanPiece>,
    cursor: Timestamp,
    trace_id: TraceId,
    id_seed: u64,
}

impl Clock {
    fn span(&mut self, parent: Option<usize>, span_type: SpanType, name: &str) -> usize {
        let number = self.spans.len() as u64;
        // Unique over all traces, like OTLP's random ids: the seed is a
        // bijection of its input, and no two (trace, span) pairs share one.
        let span_id = SpanId::parse(format!("{:016x}", seed(6, self.id_seed.wrapping_mul(1_000_003) + number)))
            .expect("a 16-character hex id is valid");
        let mut span = SpanPiece::new(self.trace_id.clone(), span_id);
        span.parent_span_id = parent.map(|parent| self.spans[parent].span_id.clone());
        span.span_type = Some(span_type);
        span.name = Some(name.to_owned());
        span.start_time = Some(self.cursor);
        span.status = Some(Status::Success);
        self.spans.push(span);
        self.spans.len() - 1
    }

    /// A span that runs `duration_ms`, after which the clock moves on.
    fn leaf(&mut self, parent: usize, span_type: SpanType, name: &str, duration_ms: u64) -> usize {
        let index = self.span(Some(parent), span_type, name);
        self.cursor += TimeDelta::milliseconds(duration_ms as i64);
        self.spans[index].end_time = Some(self.cursor);
        self.cursor += TimeDelta::milliseconds(3);
        index
    }

    /// Ends a span that contains others, once its children are laid out.
    fn close(&mut self, index: usize) {
        self.spans[index].end_time = Some(self.cursor);
        self.cursor += TimeDelta::milliseconds(2);
    }
}

impl TraceShape<'_> {
    fn write_into(&self, batch: &mut WriteBatch, random: &mut Random) {
        let mut clock = Clock {
            spans: Vec::with_capacity(self.spans),
            cursor: self.start,
            trace_id: self.trace_id.clone(),
            id_seed: self.number,
        };
        let (model, provider) = self.session.model;
        let question = format!(
            "{} {} {} {} {}",
            random.words(10),
            self.order,
            random.words(6),
            self.product,
            if random.percent(COMMON_WORD_PERCENT) { COMMON_WORD } else { "question" },
        );
        let root = clock.span(None, SpanType::Agent, self.session.agent_name);
        clock.spans[root].input = Some(json!({"messages": [{"role": "user", "content": question}]}));
        // Room for the closing ResponseNode and its model call.
        let body_spans = self.spans.saturating_sub(3);
        let has_room = |clock: &Clock| clock.spans.len() < 1 + body_spans;
        let mut step = 0;
        while has_room(&clock) {
            let reason = clock.span(Some(root), SpanType::Node, "ReasonNode");
            node_state(&mut clock.spans[reason], "ReasonNode", step, random);
            if has_room(&clock) {
                let call = clock.leaf(reason, SpanType::ModelCall, model, 400 + random.below(3_000));
                model_call(&mut clock.spans[call], model, provider, &question, random);
            }
            clock.close(reason);
            if has_room(&clock) {
                let act = clock.span(Some(root), SpanType::Node, "ToolNode");
                node_state(&mut clock.spans[act], "ToolNode", step, random);
                if has_room(&clock) {
                    let tool = TOOLS[random.below(TOOLS.len() as u64) as usize];
                    let call = clock.leaf(act, SpanType::ToolCall, tool, 40 + random.below(1_500));
                    tool_call(&mut clock.spans[call], &self.order, random);
                }
                if has_room(&clock) {
                    let tool = MCP_TOOLS[random.below(MCP_TOOLS.len() as u64) as usize];
                    let call = clock.leaf(act, SpanType::McpCall, tool, 20 + random.below(600));
                    tool_call(&mut clock.spans[call], &self.order, random);
                }
                if has_room(&clock) {
                    let call = clock.leaf(act, SpanType::Retriever, "kb_retriever", 30 + random.below(300));
                    clock.spans[call].input = Some(json!({"query": random.words(6)}));
                    clock.spans[call].output = Some(json!({"documents": [
                        {"id": format!("kb-{}", random.below(5_000)), "text": random.words(25)},
                        {"id": format!("kb-{}", random.below(5_000)), "text": random.words(25)},
                    ]}));
                }
                clock.close(act);
            }
            step += 1;
        }
        if self.spans >= 3 {
            let respond = clock.span(Some(root), SpanType::Node, "ResponseNode");
            node_state(&mut clock.spans[respond], "ResponseNode", step, random);
            let call = clock.leaf(respond, SpanType::ModelCall, model, 600 + random.below(4_000));
            model_call(&mut clock.spans[call], model, provider, &question, random);
            clock.close(respond);
        }
        clock.close(root);
        let answer = format!("{} {} {}", random.words(20), self.product, random.words(20));
        clock.spans[root].output = Some(json!({"answer": answer}));
        if random.percent(3) {
            clock.spans[root].status = Some(Status::Error);
            clock.spans[root].error = Some("agent stopped: tool budget exhausted".to_owned());
        }

        let mut trace = TracePiece::new(self.trace_id.clone());
        trace.session_id = Some(self.session_id.clone());
        trace.user_id = Some(format!("user-{:04}", self.session.user));
        trace.project = Some(self.session.project.to_owned());
        trace.tags = vec![if random.percent(90) { "production" } else { "staging" }.to_owned()];
        trace.metadata.insert("app.version".into(), json!(format!("2026.11.{}", random.below(4))));
        trace.metadata.insert("channel".into(), json!(["web", "slack", "email"][random.below(3) as usize]));
        batch.traces.push(trace);
        batch.spans.extend(clock.spans);
    }
}

fn node_state(span: &mut SpanPiece, node: &str, step: u64, random: &mut Random) {
    span.input = Some(json!({"state": random.words(12)}));
    span.output = Some(json!({"state": random.words(12)}));
    span.metadata.insert("langgraph_node".into(), json!(node));
    span.metadata.insert("langgraph_step".into(), json!(step));
}

fn model_call(span: &mut SpanPiece, model: &str, provider: &str, question: &str, random: &mut Random) {
    span.model = Some(model.to_owned());
    span.provider = Some(provider.to_owned());
    let prompt = 800 + random.below(3_000) as i64;
    let completion = 50 + random.below(600) as i64;
    let cache_read = random.percent(40).then_some(prompt / 2);
    span.tokens = Some(
        TokenUsage { prompt: Some(prompt), completion: Some(completion), cache_read, ..Default::default() }
            .with_total(),
    );
    span.input = Some(json!({"messages": [
        {"role": "system", "content": "You are a helpful support agent. Use the tools when needed."},
        {"role": "user", "content": question},
    ]}));
    span.output = Some(json!({"role": "assistant", "content": random.words(30)}));
    span.metadata.insert("gen_ai.request.temperature".into(), json!(0.2));
    if random.percent(1) {
        span.status = Some(Status::Error);
        span.error = Some("rate limited: 429 Too Many Requests".to_owned());
    }
}

fn tool_call(span: &mut SpanPiece, order: &str, random: &mut Random) {
    span.input = Some(json!({"arguments": {"order": order, "query": random.words(5)}}));
    span.output = Some(json!({"result": random.words(30)}));
    if random.percent(3) {
        span.status = Some(Status::Error);
        span.error = Some("upstream service timed out after 5000 ms".to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset() -> Dataset {
        Dataset::new(agentrace_core::time::parse_rfc3339("2026-11-28T00:00:00Z").unwrap(), 1_000)
    }

    #[test]
    fn every_trace_has_fifty_spans_in_one_tree_and_the_long_one_a_thousand() {
        let batch = dataset().batch(&[0, 1]);
        assert_eq!(batch.traces.len(), 20);
        assert_eq!(batch.spans.len(), 20 * SPANS_PER_TRACE);
        for trace in &batch.traces {
            let spans: Vec<&SpanPiece> = batch.spans.iter().filter(|span| span.trace_id == trace.trace_id).collect();
            assert_eq!(spans.len(), SPANS_PER_TRACE);
            assert_eq!(spans.iter().filter(|span| span.parent_span_id.is_none()).count(), 1);
            let ids: std::collections::HashSet<&SpanId> = spans.iter().map(|span| &span.span_id).collect();
            assert_eq!(ids.len(), SPANS_PER_TRACE, "span ids are unique within a trace");
            assert!(spans.iter().filter_map(|span| span.parent_span_id.as_ref()).all(|parent| ids.contains(parent)));
            assert!(spans.iter().all(|span| span.end_time >= span.start_time && span.end_time.is_some()));
        }
        assert_eq!(dataset().big_trace_batch().spans.len(), 1_000);
    }

    #[test]
    fn sessions_hold_ten_traces_and_the_last_day_is_denser_than_the_others() {
        let dataset = dataset();
        let batch = dataset.batch(&(0..200).collect::<Vec<u64>>());
        let sessions: std::collections::HashSet<&String> =
            batch.traces.iter().filter_map(|trace| trace.session_id.as_ref()).collect();
        assert_eq!(sessions.len(), 200);
        let roots: Vec<&SpanPiece> = batch.spans.iter().filter(|span| span.parent_span_id.is_none()).collect();
        assert!(roots.iter().all(|root| root.end_time.unwrap() < dataset.anchor));
        let last_day = roots.iter().filter(|root| root.start_time.unwrap() >= dataset.anchor - TimeDelta::days(1));
        let share = last_day.count() as f64 / roots.len() as f64;
        assert!((0.3..0.5).contains(&share), "{share} of traces in the last day");
    }

    #[test]
    fn the_order_number_finds_one_trace_and_the_words_are_as_common_as_promised() {
        let batch = dataset().batch(&(0..200).collect::<Vec<u64>>());
        let questions: Vec<String> = batch
            .spans
            .iter()
            .filter(|span| span.parent_span_id.is_none())
            .map(|root| root.input.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(questions.iter().filter(|question| question.contains(&order_number(123))).count(), 1);
        let common = questions.iter().filter(|question| question.contains(COMMON_WORD)).count();
        assert!((500..700).contains(&common), "{common} of 2000 questions say {COMMON_WORD}");
        let product = questions.iter().filter(|question| question.contains(&product_word(17))).count();
        assert!((1..40).contains(&product), "{product} of 2000 questions name one product");
        let words: std::collections::HashSet<String> = (0..PRODUCT_WORDS).map(product_word).collect();
        assert_eq!(words.len(), PRODUCT_WORDS);
        for word in &words {
            assert!(FILLER.iter().all(|filler| !filler.contains(word.as_str())));
        }
    }

    #[test]
    fn a_prefix_of_the_traces_is_the_same_whatever_the_size() {
        let dataset = dataset();
        let small = dataset.batch(&[0]);
        let large = dataset.batch(&[0, 1, 2]);
        assert_eq!(small.spans[..], large.spans[..small.spans.len()]);
        let ordered = dataset.sessions_in_time_order(0, 50);
        let mut sorted = ordered.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<u64>>(), "every session once");
        let starts: Vec<Timestamp> = ordered.iter().map(|&session| dataset.session(session).start).collect();
        assert!(starts.windows(2).all(|pair| pair[0] <= pair[1]), "in start order");
    }
}
