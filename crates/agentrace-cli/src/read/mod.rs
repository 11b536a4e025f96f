//! The read commands (`traces`, `trace`, `sessions`, `session`, `stats`):
//! flags become the API's query parameters, the [`source::Source`] answers
//! with the API's JSON, and the JSON is printed as it is (`--json`) or
//! rendered. Both sources go through the same steps from the JSON on.

pub mod source;

use agentrace_core::time::{to_fixed_text, Timestamp};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::cli::{ReadSource, SessionArgs, SessionsArgs, StatsArgs, TraceArgs, TracesArgs};
use crate::render::{self, Palette};
use source::{Origins, Route, Source};

/// Query parameters under construction; absent values are left out.
#[derive(Default)]
struct Query(Vec<(String, String)>);

impl Query {
    fn text(&mut self, name: &str, value: &Option<String>) -> &mut Self {
        if let Some(value) = value {
            self.0.push((name.to_owned(), value.clone()));
        }
        self
    }

    fn time(&mut self, name: &str, value: &Option<Timestamp>) -> &mut Self {
        self.text(name, &value.map(to_fixed_text))
    }

    fn display(&mut self, name: &str, value: Option<impl ToString>) -> &mut Self {
        self.text(name, &value.map(|value| value.to_string()))
    }
}

pub async fn traces(args: TracesArgs, origins: Origins) -> anyhow::Result<()> {
    let mut query = Query::default();
    query
        .text("project", &args.project)
        .text("session_id", &args.session)
        .text("user_id", &args.user)
        .text("status", &args.status)
        .text("name", &args.name)
        .time("since", &args.since)
        .time("until", &args.until)
        .display("min_duration_ms", args.min_duration_ms)
        .display("has_error", args.has_error)
        .text("model", &args.model)
        .text("tag", &args.tag);
    for (key, value) in &args.metadata {
        query.0.push((format!("metadata.{key}"), value.clone()));
    }
    query.text("q", &args.search).text("sort", &args.sort).display("limit", args.limit).text("cursor", &args.cursor);
    show(&args.source, origins, Route::Traces, query, render::render_traces).await
}

pub async fn trace(args: TraceArgs, origins: Origins) -> anyhow::Result<()> {
    // The tree shows no payloads; leaving them out keeps a large trace quick.
    // `--json` prints the trace as the API gives it by default, in full.
    let mut query = Query::default();
    if !args.source.json {
        query.0.push(("payloads".to_owned(), "false".to_owned()));
    }
    show(&args.source, origins, Route::Trace(&args.trace_id), query, render::render_trace).await
}

pub async fn sessions(args: SessionsArgs, origins: Origins) -> anyhow::Result<()> {
    let mut query = Query::default();
    query
        .text("project", &args.project)
        .text("user_id", &args.user)
        .time("since", &args.since)
        .time("until", &args.until)
        .display("limit", args.limit)
        .text("cursor", &args.cursor);
    show(&args.source, origins, Route::Sessions, query, render::render_sessions).await
}

pub async fn session(args: SessionArgs, origins: Origins) -> anyhow::Result<()> {
    show(&args.source, origins, Route::Session(&args.session_id), Query::default(), render::render_session).await
}

pub async fn stats(args: StatsArgs, origins: Origins) -> anyhow::Result<()> {
    let mut query = Query::default();
    query
        .text("level", &args.level)
        .text("group_by", &args.group_by)
        .time("since", &args.since)
        .time("until", &args.until)
        .text("project", &args.project)
        .text("model", &args.model)
        .text("span_type", &args.span_type)
        .text("session_id", &args.session);
    let group_by = args.group_by.clone().unwrap_or_else(|| "none".to_owned());
    let render = move |response: &agentrace_server::read::StatsResponse, palette: Palette| {
        render::render_stats(response, &group_by, palette)
    };
    show(&args.source, origins, Route::Stats, query, render).await
}

/// Fetches `route` and prints the JSON (`--json`) or its rendering.
async fn show<T: DeserializeOwned>(
    settings: &ReadSource,
    origins: Origins,
    route: Route<'_>,
    query: Query,
    render: impl Fn(&T, Palette) -> String,
) -> anyhow::Result<()> {
    let source = Source::open(settings, origins).await?;
    let json = source.fetch(route, &query.0).await?;
    print!("{}", output(json, settings.json, Palette::for_stdout(), render)?);
    Ok(())
}

fn output<T: DeserializeOwned>(
    json: Value,
    as_json: bool,
    palette: Palette,
    render: impl Fn(&T, Palette) -> String,
) -> anyhow::Result<String> {
    if as_json {
        return Ok(format!("{}\n", serde_json::to_string_pretty(&json)?));
    }
    let response: T = serde_json::from_value(json)
        .map_err(|error| anyhow::anyhow!("the answer is not what this version of agentrace reads: {error}"))?;
    Ok(render(&response, palette))
}
