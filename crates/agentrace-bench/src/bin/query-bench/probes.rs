//! What is timed: each read a user makes all day, with its parameters drawn
//! at random from the loaded data, run once through the server's HTTP API
//! (what users see) and once directly through the store trait (to show how
//! much of it is the database).
//!
//! Every answer is checked (status, and the number of rows the data says it
//! must hold): a fast wrong answer must not pass for a figure.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentrace_core::time::Timestamp;
use agentrace_core::TraceId;
use agentrace_store::query::{PageRequest, StatsGroupBy, StatsQuery, TraceFilter, TraceSort, DEFAULT_PAGE_LIMIT};
use agentrace_store::TraceStore;
use anyhow::{bail, ensure, Context};
use chrono::SecondsFormat;
use serde_json::Value;

use crate::dataset::{self, Dataset, Random, COMMON_WORD, MODELS, PRODUCT_WORDS, TRACES_PER_SESSION};

/// The reads measured, in the order they are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    ListFirstPage,
    ListBySession,
    ListByModel,
    ListByOrderNumber,
    ListByProductWord,
    ListByCommonWord,
    BigTrace,
    SmallTrace,
    Session,
    StatsByHour,
    StatsByModel,
}

/// The percentile a target is stated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Percentile {
    P50,
    P95,
}

impl Read {
    pub const ALL: [Read; 11] = [
        Read::ListFirstPage,
        Read::ListBySession,
        Read::ListByModel,
        Read::ListByOrderNumber,
        Read::ListByProductWord,
        Read::ListByCommonWord,
        Read::BigTrace,
        Read::SmallTrace,
        Read::Session,
        Read::StatsByHour,
        Read::StatsByModel,
    ];

    pub fn label(self, big_trace_spans: usize) -> String {
        match self {
            Read::ListFirstPage => "trace list, first page (50 rows)".to_owned(),
            Read::ListBySession => "  filtered: session_id".to_owned(),
            Read::ListByModel => "  filtered: model".to_owned(),
            Read::ListByOrderNumber => "  filtered: q = order number (1 trace)".to_owned(),
            Read::ListByProductWord => "  filtered: q = product word (~0.5%)".to_owned(),
            Read::ListByCommonWord => format!("  filtered: q = {COMMON_WORD:?} (~30%)"),
            Read::BigTrace => format!("trace of {big_trace_spans} spans"),
            Read::SmallTrace => format!("trace of {} spans", dataset::SPANS_PER_TRACE),
            Read::Session => format!("session ({TRACES_PER_SESSION} turns)"),
            Read::StatsByHour => "stats, 24 h, group_by=hour".to_owned(),
            Read::StatsByModel => "stats, 24 h, group_by=model".to_owned(),
        }
    }

    /// The absolute target on PostgreSQL, if the issue sets one.
    pub fn target(self) -> Option<(Percentile, Duration)> {
        match self {
            Read::ListFirstPage
            | Read::ListBySession
            | Read::ListByModel
            | Read::ListByOrderNumber
            | Read::ListByProductWord
            | Read::ListByCommonWord
            | Read::BigTrace => Some((Percentile::P50, Duration::from_millis(20))),
            Read::SmallTrace => Some((Percentile::P95, Duration::from_millis(5))),
            Read::Session => None,
            Read::StatsByHour | Read::StatsByModel => Some((Percentile::P50, Duration::from_millis(200))),
        }
    }

    /// The percentile whose growth from the small to the large data set is
    /// checked: the one the absolute target names, else the median.
    pub fn growth_percentile(self) -> Percentile {
        self.target().map_or(Percentile::P50, |(percentile, _)| percentile)
    }

    pub fn is_stats(self) -> bool {
        matches!(self, Read::StatsByHour | Read::StatsByModel)
    }
}

/// What an answer must hold.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Exactly(usize),
    Between(usize, usize),
}

impl Expect {
    fn check(self, rows: usize, what: &str) -> anyhow::Result<()> {
        let holds = match self {
            Expect::Exactly(expected) => rows == expected,
            Expect::Between(low, high) => (low..=high).contains(&rows),
        };
        ensure!(holds, "{what}: {rows} rows, expected {self:?}");
        Ok(())
    }
}

/// One concrete read: the request, and what its answer must hold.
#[derive(Debug, Clone)]
enum Probe {
    Traces(TraceFilter, Expect),
    Trace(TraceId, Expect),
    Session(String, Expect),
    Stats(StatsQuery),
}

/// What is loaded, for drawing parameters.
#[derive(Debug, Clone, Copy)]
pub struct Loaded {
    pub dataset: Dataset,
    /// Numbered traces `[0, traces)` are stored, and the long trace.
    pub traces: u64,
}

impl Loaded {
    fn probe(&self, read: Read, random: &mut Random) -> Probe {
        let page = DEFAULT_PAGE_LIMIT;
        let any_trace = |random: &mut Random| random.below(self.traces);
        let sessions = self.traces / TRACES_PER_SESSION;
        let list = |filter: TraceFilter, expect: Expect| Probe::Traces(filter, expect);
        match read {
            Read::ListFirstPage => list(TraceFilter::default(), Expect::Exactly(page.min(self.traces as usize + 1))),
            Read::ListBySession => list(
                TraceFilter { session_id: Some(Dataset::session_id(random.below(sessions))), ..Default::default() },
                Expect::Exactly(TRACES_PER_SESSION as usize),
            ),
            Read::ListByModel => {
                let (model, _, _) = MODELS[random.below(MODELS.len() as u64) as usize];
                // The long trace uses a model too, and a rare model may have
                // no session in a small data set.
                list(TraceFilter { model: Some(model.to_owned()), ..Default::default() }, Expect::Between(0, page))
            }
            Read::ListByOrderNumber => list(
                TraceFilter { q: Some(dataset::order_number(any_trace(random))), ..Default::default() },
                Expect::Exactly(1),
            ),
            Read::ListByProductWord => {
                let word = dataset::product_word(random.below(PRODUCT_WORDS as u64) as usize);
                list(TraceFilter { q: Some(word), ..Default::default() }, Expect::Between(0, page))
            }
            Read::ListByCommonWord => {
                list(TraceFilter { q: Some(COMMON_WORD.to_owned()), ..Default::default() }, Expect::Between(1, page))
            }
            Read::BigTrace => Probe::Trace(Dataset::big_trace_id(), Expect::Exactly(self.dataset.big_trace_spans)),
            Read::SmallTrace => {
                Probe::Trace(Dataset::trace_id(any_trace(random)), Expect::Exactly(dataset::SPANS_PER_TRACE))
            }
            Read::Session => Probe::Session(
                Dataset::session_id(random.below(sessions)),
                Expect::Exactly(TRACES_PER_SESSION as usize),
            ),
            Read::StatsByHour | Read::StatsByModel => Probe::Stats(StatsQuery {
                group_by: if read == Read::StatsByHour { StatsGroupBy::Hour } else { StatsGroupBy::Model },
                since: Some(self.dataset.anchor - chrono::Duration::hours(24)),
                until: Some(self.dataset.anchor),
                ..Default::default()
            }),
        }
    }
}

/// Latency percentiles of one read, nearest rank.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub samples: usize,
}

impl Latency {
    pub fn of(mut samples: Vec<Duration>) -> Latency {
        samples.sort();
        let at = |quantile: f64| samples[((samples.len() - 1) as f64 * quantile).round() as usize];
        Latency { p50: at(0.50), p95: at(0.95), p99: at(0.99), samples: samples.len() }
    }

    pub fn at(&self, percentile: Percentile) -> Duration {
        match percentile {
            Percentile::P50 => self.p50,
            Percentile::P95 => self.p95,
        }
    }
}

/// Where a read is sent.
pub enum Path<'a> {
    Http { client: &'a reqwest::Client, base_url: &'a str },
    Store(&'a Arc<dyn TraceStore>),
}

/// Times `samples` reads of one kind (after a few untimed ones that warm
/// connections and caches), each with fresh random parameters: those of
/// round `round` of the read's rounds.
pub async fn time(
    path: &Path<'_>,
    loaded: &Loaded,
    read: Read,
    samples: usize,
    round: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut random = Random::new((read as u64 * 7_919 + loaded.traces) * 104_729 + round as u64);
    for _ in 0..(samples / 10).clamp(1, 20) {
        run(path, &loaded.probe(read, &mut random)).await?;
    }
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples.max(1) {
        let probe = loaded.probe(read, &mut random);
        times.push(run(path, &probe).await.with_context(|| format!("{read:?} with {probe:?}"))?);
    }
    Ok(times)
}

/// Runs one read; returns the time from sending it to holding the whole
/// answer (checking the answer comes after the clock stops).
async fn run(path: &Path<'_>, probe: &Probe) -> anyhow::Result<Duration> {
    match path {
        Path::Http { client, base_url } => {
            let (url, params) = http_request(base_url, probe);
            let url = reqwest::Url::parse_with_params(&url, &params)?;
            let started = Instant::now();
            let response = client.get(url.clone()).send().await.with_context(|| format!("GET {url}"))?;
            let status = response.status();
            let body = response.bytes().await.with_context(|| format!("reading GET {url}"))?;
            let elapsed = started.elapsed();
            if !status.is_success() {
                bail!("GET {url} answered {status}: {}", String::from_utf8_lossy(&body));
            }
            let answer: Value = serde_json::from_slice(&body).with_context(|| format!("GET {url}: not JSON"))?;
            check_http(probe, &answer).with_context(|| format!("GET {url}"))?;
            Ok(elapsed)
        }
        Path::Store(store) => {
            let started = Instant::now();
            let rows = store_read(store, probe).await?;
            let elapsed = started.elapsed();
            check_rows(probe, rows)?;
            Ok(elapsed)
        }
    }
}

fn http_request(base_url: &str, probe: &Probe) -> (String, Vec<(&'static str, String)>) {
    let time = |timestamp: Timestamp| timestamp.to_rfc3339_opts(SecondsFormat::Micros, true);
    match probe {
        Probe::Traces(filter, _) => {
            let mut params = Vec::new();
            if let Some(session_id) = &filter.session_id {
                params.push(("session_id", session_id.clone()));
            }
            if let Some(model) = &filter.model {
                params.push(("model", model.clone()));
            }
            if let Some(q) = &filter.q {
                params.push(("q", q.clone()));
            }
            (format!("{base_url}/api/v1/traces"), params)
        }
        Probe::Trace(trace_id, _) => (format!("{base_url}/api/v1/traces/{trace_id}"), Vec::new()),
        Probe::Session(session_id, _) => (format!("{base_url}/api/v1/sessions/{session_id}"), Vec::new()),
        Probe::Stats(query) => {
            let group_by = if query.group_by == StatsGroupBy::Hour { "hour" } else { "model" };
            let mut params = vec![("group_by", group_by.to_owned())];
            params.extend(query.since.map(|since| ("since", time(since))));
            params.extend(query.until.map(|until| ("until", time(until))));
            (format!("{base_url}/api/v1/stats"), params)
        }
    }
}

fn check_http(probe: &Probe, answer: &Value) -> anyhow::Result<()> {
    let count = |key: &str| answer[key].as_array().map(Vec::len).with_context(|| format!("no {key:?} array"));
    match probe {
        Probe::Traces(..) => check_rows(probe, count("items")?),
        Probe::Trace(..) => {
            for key in ["trace", "stats"] {
                ensure!(answer[key].is_object(), "no {key:?} object");
            }
            for key in ["attachments", "feedback"] {
                count(key)?;
            }
            check_rows(probe, count("spans")?)
        }
        Probe::Session(..) => check_rows(probe, count("turns")?),
        Probe::Stats(..) => check_rows(probe, count("groups")?),
    }
}

fn check_rows(probe: &Probe, rows: usize) -> anyhow::Result<()> {
    match probe {
        Probe::Traces(_, expect) => expect.check(rows, "traces"),
        Probe::Trace(_, expect) => expect.check(rows, "spans"),
        Probe::Session(_, expect) => expect.check(rows, "turns"),
        Probe::Stats(_) => Expect::Between(1, usize::MAX).check(rows, "groups"),
    }
}

/// The store calls the HTTP handler makes for the same read.
async fn store_read(store: &Arc<dyn TraceStore>, probe: &Probe) -> anyhow::Result<usize> {
    let page = PageRequest { limit: DEFAULT_PAGE_LIMIT, cursor: None };
    Ok(match probe {
        Probe::Traces(filter, _) => {
            store.list_traces(filter, TraceSort::StartTimeDesc, &page, false).await?.items.len()
        }
        Probe::Trace(trace_id, _) => {
            let detail = store.trace(trace_id).await?.context("trace not found")?;
            store.trace_stats(trace_id).await?.context("no trace stats")?;
            store.attachments(trace_id).await?;
            store.feedback(trace_id).await?;
            detail.spans.len()
        }
        Probe::Session(session_id, _) => store.session(session_id).await?.context("session not found")?.turns.len(),
        Probe::Stats(query) => store.stats(query).await?.len(),
    })
}
