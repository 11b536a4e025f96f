//! LangSmith run ingestion: what the `langsmith` SDK sends to
//! `/runs/multipart`, `/runs/batch`, `POST /runs`, `PATCH /runs/{id}` and
//! `POST /feedback`, turned into agentrace's model.
//!
//! Reading happens in two steps. `parse_*` reads a body into runs,
//! attachments and feedback, rejecting bad items one by one (the SDK ignores
//! response bodies, but a person debugging a client does not). Then
//! [`RunRequest::resolve`] finds the trace of every run: most runs name it
//! (`trace_id`, `dotted_order`), but legacy `client.create_run` /
//! `update_run` calls name at most a parent, so their trace comes from the
//! other runs of the request or from the store.
//!
//! Bodies arrive decoded: the HTTP layer undoes `Content-Encoding` (zstd,
//! gzip) with a streaming decoder, as the SDK's zstd frames carry no content
//! size, and applies the size limit to the decoded bytes.

mod dotted_order;
mod feedback;
pub mod multipart;
mod run;

use std::collections::HashMap;

use agentrace_core::attachment::DEFAULT_CONTENT_TYPE;
use agentrace_core::text::{escape_bytes, sanitize_json};
use agentrace_core::{Attachment, Feedback, SpanId, TraceId};
use agentrace_store::{StoreError, TraceStore};
use serde_json::{Map, Value};

pub use run::{keys, normalize_provider, span_type_of_run, Op, SESSION_KEYS};

use crate::native::BodyError;
use crate::rejection::{IngestOutcome, ItemRejection};
use run::ParsedRun;

/// What one request said, before the traces of legacy runs are looked up.
#[derive(Debug, Default)]
pub struct RunRequest {
    runs: Vec<ParsedRun>,
    attachments: Vec<PendingAttachment>,
    feedback: Vec<Feedback>,
    rejected: Vec<ItemRejection>,
}

/// An `attachment.<run id>.<name>` part, waiting for its run's trace.
#[derive(Debug)]
struct PendingAttachment {
    index: usize,
    run_id: SpanId,
    name: String,
    content_type: String,
    content: Vec<u8>,
}

/// One post or patch of a multipart body, gathered from its parts.
struct Operation {
    op: Op,
    run_id: String,
    first_part: usize,
    object: Map<String, Value>,
    /// The first problem found in one of its parts.
    broken: Option<ItemRejection>,
}

fn parse_json(bytes: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(&sanitize_json(bytes)).map_err(|error| error.to_string())
}

fn parse_document(body: &[u8]) -> Result<Value, BodyError> {
    crate::native::parse_body(body)
}

/// Reads a `/runs/multipart` body. `content_type` carries the boundary.
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Result<RunRequest, BodyError> {
    let boundary = multipart::boundary(content_type)
        .ok_or_else(|| BodyError::Shape("expected Content-Type: multipart/form-data; boundary=…".into()))?;
    let parts = multipart::parse(body, &boundary).map_err(BodyError::Shape)?;
    let mut request = RunRequest::default();
    // Operations keyed by (op, run id) in order of first appearance; each
    // gathers its `post.<id>` object and its `post.<id>.<field>` parts.
    // Every rejection's index is the position of the (first) part at fault.
    let mut operations: Vec<Operation> = Vec::new();
    let mut positions: HashMap<(Op, String), usize> = HashMap::new();
    for (part_index, part) in parts.into_iter().enumerate() {
        let name = escape_bytes(part.name).into_owned();
        let (kind, rest) = name.split_once('.').unwrap_or((name.as_str(), ""));
        let op = match kind {
            "post" => Op::Post,
            "patch" => Op::Patch,
            "attachment" => {
                request.add_attachment_part(part_index, &name, rest, part.content_type, part.content);
                continue;
            }
            "feedback" => {
                let item = parse_json(part.content).and_then(|value| {
                    feedback::parse_feedback(part_index, value, Some(rest)).map_err(|rejection| rejection.message)
                });
                match item {
                    Ok(item) => request.feedback.push(item),
                    Err(message) => request.rejected.push(ItemRejection {
                        kind: "feedback",
                        index: part_index,
                        id: Some(rest.to_owned()),
                        field: name.clone(),
                        message,
                    }),
                }
                continue;
            }
            _ => {
                request.rejected.push(ItemRejection {
                    kind: "part",
                    index: part_index,
                    id: None,
                    field: name.clone(),
                    message: "unknown part name; expected post.<id>[.<field>], patch.<id>[.<field>], \
                              attachment.<id>.<name> or feedback.<id>"
                        .into(),
                });
                continue;
            }
        };
        let (run_id, field) = match rest.split_once('.') {
            Some((run_id, field)) => (run_id, Some(field)),
            None => (rest, None),
        };
        let position = *positions.entry((op, run_id.to_owned())).or_insert_with(|| {
            operations.push(Operation {
                op,
                run_id: run_id.to_owned(),
                first_part: part_index,
                object: Map::new(),
                broken: None,
            });
            operations.len() - 1
        });
        let Operation { first_part, object, broken, .. } = &mut operations[position];
        match (parse_json(part.content), field) {
            (Err(message), _) => {
                broken.get_or_insert(ItemRejection {
                    kind: op.as_str(),
                    index: *first_part,
                    id: Some(run_id.to_owned()),
                    field: field.unwrap_or_default().to_owned(),
                    message: format!("part {name}: malformed JSON: {message}"),
                });
            }
            (Ok(Value::Object(fields)), None) => {
                // A field's own part is authoritative over the same key in the run object.
                for (key, value) in fields {
                    object.entry(key).or_insert(value);
                }
            }
            (Ok(_), None) => {
                broken.get_or_insert(ItemRejection {
                    kind: op.as_str(),
                    index: *first_part,
                    id: Some(run_id.to_owned()),
                    field: String::new(),
                    message: format!("part {name} must be a JSON object"),
                });
            }
            (Ok(value), Some(field)) => {
                object.insert(field.to_owned(), value);
            }
        }
    }
    for Operation { op, run_id, first_part, object, broken } in operations {
        match broken {
            Some(rejection) => request.rejected.push(rejection),
            None => request.add_run(op, first_part, Value::Object(object), Some(&run_id)),
        }
    }
    request.rejected.sort_by_key(|rejection| rejection.index);
    Ok(request)
}

/// Reads a `/runs/batch` body: `{"post": [run, …], "patch": [run, …]}`,
/// either key optional.
pub fn parse_batch(body: &[u8]) -> Result<RunRequest, BodyError> {
    let Value::Object(mut document) = parse_document(body)? else {
        return Err(BodyError::Shape("the body must be a JSON object with `post` and/or `patch` arrays".into()));
    };
    let mut request = RunRequest::default();
    for op in [Op::Post, Op::Patch] {
        let runs = match document.remove(op.as_str()) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(runs)) => runs,
            Some(_) => return Err(BodyError::Shape(format!("`{}` must be an array of runs", op.as_str()))),
        };
        for (index, run) in runs.into_iter().enumerate() {
            request.add_run(op, index, run, None);
        }
    }
    Ok(request)
}

/// Reads a `POST /runs` body: one run.
pub fn parse_post(body: &[u8]) -> Result<RunRequest, BodyError> {
    let mut request = RunRequest::default();
    request.add_run(Op::Post, 0, parse_document(body)?, None);
    Ok(request)
}

/// Reads a `PATCH /runs/{run_id}` body: the end of one run.
pub fn parse_patch(body: &[u8], run_id: &str) -> Result<RunRequest, BodyError> {
    let mut request = RunRequest::default();
    request.add_run(Op::Patch, 0, parse_document(body)?, Some(run_id));
    Ok(request)
}

/// Reads a `POST /feedback` body: one piece of feedback.
pub fn parse_feedback(body: &[u8]) -> Result<RunRequest, BodyError> {
    let mut request = RunRequest::default();
    match feedback::parse_feedback(0, parse_document(body)?, None) {
        Ok(item) => request.feedback.push(item),
        Err(rejection) => request.rejected.push(rejection),
    }
    Ok(request)
}

impl RunRequest {
    fn add_run(&mut self, op: Op, index: usize, item: Value, id_hint: Option<&str>) {
        match run::parse_run(op, index, item, id_hint) {
            Ok(run) => self.runs.push(run),
            Err(rejection) => self.rejected.push(rejection),
        }
    }

    fn add_attachment_part(
        &mut self,
        index: usize,
        part_name: &str,
        rest: &str,
        content_type: Option<&[u8]>,
        content: &[u8],
    ) {
        let reject = |message: String| ItemRejection {
            kind: "attachment",
            index,
            id: None,
            field: part_name.to_owned(),
            message,
        };
        let Some((run_id, name)) = rest.split_once('.').filter(|(_, name)| !name.is_empty()) else {
            self.rejected.push(reject("expected attachment.<run id>.<name>".into()));
            return;
        };
        let run_id = match SpanId::parse(run_id) {
            Ok(run_id) => run_id,
            Err(error) => return self.rejected.push(reject(format!("run id: {error}"))),
        };
        // File-backed attachments say `Content-Type: <mime>; length=<n>`.
        let content_type = content_type
            .map(|raw| escape_bytes(raw).into_owned())
            .map(|raw| {
                raw.split(';')
                    .filter(|parameter| !parameter.trim().to_ascii_lowercase().starts_with("length="))
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .filter(|mime| !mime.is_empty())
            .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_owned());
        self.attachments.push(PendingAttachment {
            index,
            run_id,
            name: name.to_owned(),
            content_type,
            content: content.to_vec(),
        });
    }

    /// Runs (posts and patches) read so far.
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }

    /// Finds every run's trace and maps the request onto agentrace's model.
    ///
    /// A run without `trace_id` or `dotted_order` belongs to the trace of
    /// another operation on the same run in this request, else to the trace
    /// the store holds it in, else to its parent's trace (found the same
    /// way; an unknown parent is taken for the root), else it is a root.
    pub async fn resolve(self, store: &dyn TraceStore) -> Result<IngestOutcome, StoreError> {
        let RunRequest { runs, attachments, feedback, mut rejected } = self;
        let mut known: HashMap<SpanId, TraceId> =
            runs.iter().filter_map(|run| Some((run.run_id.clone(), run.trace_id.clone()?))).collect();
        let mut outcome = IngestOutcome::default();
        for run in runs {
            let trace_id = match run.trace_id.clone() {
                Some(trace_id) => trace_id,
                None => trace_of_legacy_run(&run, &known, store).await?,
            };
            known.insert(run.run_id.clone(), trace_id.clone());
            let pieces = run.into_pieces(trace_id);
            outcome.batch.spans.push(pieces.span);
            outcome.accepted_spans += 1;
            if let Some(trace) = pieces.trace {
                outcome.batch.traces.push(trace);
                outcome.accepted_traces += 1;
            }
            outcome.batch.attachments.extend(pieces.attachments);
            rejected.extend(pieces.rejected);
        }
        for pending in attachments {
            let trace_id = match known.get(&pending.run_id) {
                Some(trace_id) => Some(trace_id.clone()),
                None => store.span_trace_id(&pending.run_id).await?,
            };
            let Some(trace_id) = trace_id else {
                rejected.push(ItemRejection {
                    kind: "attachment",
                    index: pending.index,
                    id: Some(pending.run_id.to_string()),
                    field: format!("attachment.{}.{}", pending.run_id, pending.name),
                    message: "its run is neither in this request nor stored, so its trace is unknown".into(),
                });
                continue;
            };
            outcome.batch.attachments.push(Attachment {
                trace_id,
                span_id: pending.run_id,
                name: pending.name,
                content_type: pending.content_type,
                content: pending.content,
            });
        }
        outcome.batch.feedback = feedback;
        outcome.rejected = rejected;
        Ok(outcome)
    }
}

async fn trace_of_legacy_run(
    run: &ParsedRun,
    known: &HashMap<SpanId, TraceId>,
    store: &dyn TraceStore,
) -> Result<TraceId, StoreError> {
    if let Some(trace_id) = known.get(&run.run_id) {
        return Ok(trace_id.clone());
    }
    if run.says_root() {
        return Ok(root_trace_id(&run.run_id));
    }
    if let Some(trace_id) = store.span_trace_id(&run.run_id).await? {
        return Ok(trace_id);
    }
    let Some(parent_id) = &run.parent_id else {
        return Ok(root_trace_id(&run.run_id));
    };
    if let Some(trace_id) = known.get(parent_id) {
        return Ok(trace_id.clone());
    }
    Ok(store.span_trace_id(parent_id).await?.unwrap_or_else(|| root_trace_id(parent_id)))
}

/// A root run's id is its trace's id. Both are validated by the same rules.
fn root_trace_id(run_id: &SpanId) -> TraceId {
    TraceId::parse(run_id.as_str()).expect("span and trace ids share their validation rules")
}
