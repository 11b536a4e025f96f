//! Span statistics from per-minute and per-hour rollups.
//!
//! Exact statistics read every span of the range, so their cost grows with
//! the data: a day of a busy deployment is hundreds of thousands of spans.
//! Both stores therefore keep `agent.span_rollups`: per minute and per hour,
//! per (project, span type, model), the counts, token and cost sums and a
//! latency histogram ([`LatencySketch`]). Triggers on `agent.spans` (and on
//! a trace's project) note every minute whose spans changed in
//! `agent.span_rollup_changes`; a background task ([`crate::TraceQueries::refresh_rollups`])
//! recomputes those minutes and their hours and clears the notes in the same
//! transaction.
//!
//! A statistics read never waits for that task. Within one snapshot it takes
//! whole clean hours from hour rows, whole clean minutes from minute rows,
//! and reads the spans themselves ([`SpanFact`]s) for partial minutes at the
//! range's ends and for changed minutes ([`plan`]). Counts, errors, tokens
//! and costs are therefore always those of the committed spans. Latency
//! percentiles over the histograms are estimates within 1% (exact below
//! 128 ms); requests that cover at most [`EXACT_STATS_MAX_SPANS`] spans, and
//! the ones rollups cannot serve (trace level, a session filter), are
//! answered exactly from the spans instead.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use agentrace_core::time::Timestamp;
use chrono::{DurationRound, TimeDelta};

use crate::query::keyset::Bind;
use crate::query::{order_groups, StatsGroup, StatsGroupBy, StatsLevel, StatsQuery, STATS_PERCENTILES};

/// Requests covering at most this many spans get exact percentiles: reading
/// that many spans takes milliseconds.
pub const EXACT_STATS_MAX_SPANS: i64 = 10_000;

/// Beyond this many separate span-reading ranges (changed minutes scattered
/// over the range) a plan is given up for one exact query.
pub const MAX_FACT_RANGES: usize = 64;

/// The width of a rollup row's bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    Minute,
    Hour,
}

impl Grain {
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Minute => "minute",
            Grain::Hour => "hour",
        }
    }

    pub fn parse(text: &str) -> Option<Grain> {
        match text {
            "minute" => Some(Grain::Minute),
            "hour" => Some(Grain::Hour),
            _ => None,
        }
    }

    pub fn width(self) -> TimeDelta {
        match self {
            Grain::Minute => TimeDelta::minutes(1),
            Grain::Hour => TimeDelta::hours(1),
        }
    }

    /// The start of the bucket holding `time` (UTC).
    pub fn floor(self, time: Timestamp) -> Timestamp {
        time.duration_trunc(self.width()).unwrap_or(time)
    }

    /// The first bucket start at or after `time`.
    pub fn ceil(self, time: Timestamp) -> Timestamp {
        let floor = self.floor(time);
        if floor == time {
            time
        } else {
            floor + self.width()
        }
    }
}

/// Below this many milliseconds a duration keeps its own histogram bucket.
const EXACT_BELOW_MS: i64 = 128;
/// Relative width of the logarithmic buckets: a bucket's middle is within
/// (GAMMA - 1) / (GAMMA + 1) < 1% of every duration in it.
const GAMMA: f64 = 1.02;
/// Keys of logarithmic buckets start here, above every exact key.
const LOG_KEY_OFFSET: i64 = 1_000;

/// A histogram of span durations in milliseconds: one bucket per
/// millisecond below 128 ms, logarithmic buckets 2% wide above. Merging is
/// adding counts, so minute histograms add up to hours and hours to any
/// range without losing precision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencySketch {
    counts: BTreeMap<u16, u64>,
}

impl LatencySketch {
    fn key(duration_ms: i64) -> u16 {
        if duration_ms < EXACT_BELOW_MS {
            return duration_ms.max(0) as u16;
        }
        let index = ((duration_ms as f64).ln() / GAMMA.ln()).ceil() as i64;
        (LOG_KEY_OFFSET + index).min(i64::from(u16::MAX)) as u16
    }

    fn value(key: u16) -> f64 {
        let key = i64::from(key);
        if key < LOG_KEY_OFFSET {
            return key as f64;
        }
        let upper = GAMMA.powi((key - LOG_KEY_OFFSET) as i32);
        2.0 * upper / (GAMMA + 1.0)
    }

    pub fn add(&mut self, duration_ms: i64) {
        *self.counts.entry(Self::key(duration_ms)).or_default() += 1;
    }

    pub fn merge(&mut self, other: &LatencySketch) {
        for (key, count) in &other.counts {
            *self.counts.entry(*key).or_default() += count;
        }
    }

    pub fn count(&self) -> u64 {
        self.counts.values().sum()
    }

    /// `percentile_cont` over the bucket values: position `p * (n - 1)`,
    /// interpolated between its neighbours; `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let last = self.count().checked_sub(1)?;
        let position = p.clamp(0.0, 1.0) * last as f64;
        let lower = position.floor() as u64;
        let upper = position.ceil() as u64;
        let (lower_value, upper_value) = (self.value_at(lower)?, self.value_at(upper)?);
        Some(lower_value + (upper_value - lower_value) * (position - lower as f64))
    }

    /// The value of the `rank`-th smallest duration (0-based).
    fn value_at(&self, rank: u64) -> Option<f64> {
        let mut seen = 0;
        for (key, count) in &self.counts {
            seen += count;
            if rank < seen {
                return Some(Self::value(*key));
            }
        }
        None
    }

    /// The stored form: per bucket, its key (2 bytes, little-endian) and
    /// its count (LEB128), in key order.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.counts.len() * 3);
        for (key, count) in &self.counts {
            bytes.extend_from_slice(&key.to_le_bytes());
            let mut count = *count;
            loop {
                let low = (count & 0x7f) as u8;
                count >>= 7;
                if count == 0 {
                    bytes.push(low);
                    break;
                }
                bytes.push(low | 0x80);
            }
        }
        bytes
    }

    pub fn decode(mut bytes: &[u8]) -> Result<LatencySketch, String> {
        let mut sketch = LatencySketch::default();
        while !bytes.is_empty() {
            let [low, high, rest @ ..] = bytes else {
                return Err("latency sketch: truncated bucket key".into());
            };
            let key = u16::from_le_bytes([*low, *high]);
            bytes = rest;
            let mut count = 0u64;
            let mut shift = 0;
            loop {
                let Some((byte, rest)) = bytes.split_first() else {
                    return Err("latency sketch: truncated bucket count".into());
                };
                bytes = rest;
                if shift > 63 {
                    return Err("latency sketch: bucket count overflows".into());
                }
                count |= u64::from(byte & 0x7f) << shift;
                shift += 7;
                if byte & 0x80 == 0 {
                    break;
                }
            }
            *sketch.counts.entry(key).or_default() += count;
        }
        Ok(sketch)
    }
}

/// One span as the rollups see it. Token and cost fields are those of a
/// billed (model_call or embedding) span and zero or `None` otherwise; the
/// stores compute them with the same expressions as their exact queries.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanFact {
    pub start_time: Option<Timestamp>,
    pub project: Option<String>,
    pub span_type: String,
    pub model: Option<String>,
    pub is_error: bool,
    pub duration_ms: Option<i64>,
    pub prompt_tokens: f64,
    pub completion_tokens: f64,
    pub total_tokens: f64,
    pub cost_usd: Option<f64>,
    pub unpriced: bool,
}

/// What a rollup row is kept by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RollupKey {
    pub bucket_start: Timestamp,
    pub project: Option<String>,
    pub span_type: String,
    pub model: Option<String>,
}

/// The aggregates of one rollup row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollupValues {
    pub span_count: i64,
    pub error_count: i64,
    pub prompt_tokens: f64,
    pub completion_tokens: f64,
    pub total_tokens: f64,
    pub cost_usd: Option<f64>,
    pub unpriced_count: i64,
    pub latency: LatencySketch,
}

fn add_cost(sum: Option<f64>, cost: Option<f64>) -> Option<f64> {
    match (sum, cost) {
        (Some(sum), Some(cost)) => Some(sum + cost),
        (sum, cost) => sum.or(cost),
    }
}

impl RollupValues {
    pub fn add_fact(&mut self, fact: &SpanFact) {
        self.span_count += 1;
        self.error_count += i64::from(fact.is_error);
        self.prompt_tokens += fact.prompt_tokens;
        self.completion_tokens += fact.completion_tokens;
        self.total_tokens += fact.total_tokens;
        self.cost_usd = add_cost(self.cost_usd, fact.cost_usd);
        self.unpriced_count += i64::from(fact.unpriced);
        if let Some(duration_ms) = fact.duration_ms {
            self.latency.add(duration_ms);
        }
    }

    pub fn merge(&mut self, other: &RollupValues) {
        self.span_count += other.span_count;
        self.error_count += other.error_count;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.total_tokens += other.total_tokens;
        self.cost_usd = add_cost(self.cost_usd, other.cost_usd);
        self.unpriced_count += other.unpriced_count;
        self.latency.merge(&other.latency);
    }
}

/// Rollup rows folded from spans read one at a time, so that memory holds
/// one row per group and minute, never the spans themselves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FactRows {
    /// Minute rows of the spans with a start time.
    pub minutes: BTreeMap<RollupKey, RollupValues>,
    /// The spans without one, by (project, span type, model); their
    /// bucket start is the Unix epoch, which no grouping by time shows.
    pub unstarted: BTreeMap<RollupKey, RollupValues>,
}

impl FactRows {
    pub fn add(&mut self, fact: &SpanFact) {
        let (rows, bucket_start) = match fact.start_time {
            Some(start_time) => (&mut self.minutes, Grain::Minute.floor(start_time)),
            None => (&mut self.unstarted, Timestamp::UNIX_EPOCH),
        };
        let key = RollupKey {
            bucket_start,
            project: fact.project.clone(),
            span_type: fact.span_type.clone(),
            model: fact.model.clone(),
        };
        rows.entry(key).or_default().add_fact(fact);
    }
}

/// The rollup rows of `grain` that `facts` (spans with a start time) make.
pub fn summarize<'a>(facts: impl IntoIterator<Item = &'a SpanFact>, grain: Grain) -> BTreeMap<RollupKey, RollupValues> {
    let mut rows = FactRows::default();
    facts.into_iter().for_each(|fact| rows.add(fact));
    coarsen(rows.minutes, grain)
}

/// Finer rollup rows added up into `grain` buckets.
pub fn coarsen(
    rows: impl IntoIterator<Item = (RollupKey, RollupValues)>,
    grain: Grain,
) -> BTreeMap<RollupKey, RollupValues> {
    let mut coarse: BTreeMap<RollupKey, RollupValues> = BTreeMap::new();
    for (mut key, values) in rows {
        key.bucket_start = grain.floor(key.bucket_start);
        coarse.entry(key).or_default().merge(&values);
    }
    coarse
}

/// A half-open time range; `None` is unbounded on that side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// Where each part of a statistics range is read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupPlan {
    /// Ranges of hour-row bucket starts.
    pub hours: Vec<TimeRange>,
    /// Ranges of minute-row bucket starts.
    pub minutes: Vec<TimeRange>,
    /// Ranges of span start times read span by span.
    pub facts: Vec<TimeRange>,
    /// Also read the spans without a start time (an unbounded range
    /// counts them, like the exact query).
    pub unstarted: bool,
}

fn push_range(ranges: &mut Vec<TimeRange>, from: Option<Timestamp>, to: Option<Timestamp>) {
    if let (Some(from), Some(to)) = (from, to) {
        if from >= to {
            return;
        }
    }
    match ranges.last_mut() {
        Some(last) if last.to.is_some() && last.to == from => last.to = to,
        _ => ranges.push(TimeRange { from, to }),
    }
}

/// Covers the bounded range `[from, to)` with minute rows, and spans where
/// a minute is partial or changed.
fn cover_minutes(from: Timestamp, to: Timestamp, changed: &BTreeSet<Timestamp>, plan: &mut RollupPlan) {
    let (first, end) = (Grain::Minute.ceil(from), Grain::Minute.floor(to));
    if first >= end {
        push_range(&mut plan.facts, Some(from), Some(to));
        return;
    }
    push_range(&mut plan.facts, Some(from), Some(first));
    let mut cursor = first;
    for &minute in changed.range(first..end) {
        push_range(&mut plan.minutes, Some(cursor), Some(minute));
        push_range(&mut plan.facts, Some(minute), Some(minute + Grain::Minute.width()));
        cursor = minute + Grain::Minute.width();
    }
    push_range(&mut plan.minutes, Some(cursor), Some(end));
    push_range(&mut plan.facts, Some(end), Some(to));
}

/// Splits `[since, until)` into whole clean hours, whole clean minutes and
/// span-by-span reads, given the minutes whose spans changed since their
/// rollups were computed.
pub fn plan(since: Option<Timestamp>, until: Option<Timestamp>, changed: &BTreeSet<Timestamp>) -> RollupPlan {
    let mut plan = RollupPlan { unstarted: since.is_none() && until.is_none(), ..RollupPlan::default() };
    let first_hour = since.map(|since| Grain::Hour.ceil(since));
    let end_hour = until.map(|until| Grain::Hour.floor(until));
    if let (Some(since), Some(until), Some(first), Some(end)) = (since, until, first_hour, end_hour) {
        if first >= end {
            if since < until {
                cover_minutes(since, until, changed, &mut plan);
            }
            return plan;
        }
    }
    if let (Some(since), Some(first)) = (since, first_hour) {
        cover_minutes(since, first, changed, &mut plan);
    }
    let changed_hours: BTreeSet<Timestamp> = changed
        .iter()
        .map(|minute| Grain::Hour.floor(*minute))
        .filter(|hour| first_hour.is_none_or(|first| *hour >= first) && end_hour.is_none_or(|end| *hour < end))
        .collect();
    let mut cursor = first_hour;
    for hour in changed_hours {
        push_range(&mut plan.hours, cursor, Some(hour));
        let hour_end = hour + Grain::Hour.width();
        cover_minutes(hour, hour_end, changed, &mut plan);
        cursor = Some(hour_end);
    }
    push_range(&mut plan.hours, cursor, end_hour);
    if let (Some(end), Some(until)) = (end_hour, until) {
        cover_minutes(end, until, changed, &mut plan);
    }
    plan
}

/// `column` inside any of `ranges`, as one SQL condition (`FALSE` for none).
pub fn in_ranges(bind: &mut impl Bind, column: &str, ranges: &[TimeRange]) -> String {
    let alternatives: Vec<String> = ranges
        .iter()
        .map(|range| {
            let mut bounds = Vec::new();
            if let Some(from) = range.from {
                bounds.push(format!("{column} >= {}", bind.bind_time(from)));
            }
            if let Some(to) = range.to {
                bounds.push(format!("{column} < {}", bind.bind_time(to)));
            }
            if bounds.is_empty() {
                format!("{column} IS NOT NULL")
            } else {
                bounds.join(" AND ")
            }
        })
        .collect();
    if alternatives.is_empty() {
        "FALSE".into()
    } else {
        format!("(({}))", alternatives.join(") OR ("))
    }
}

/// The SQL conditions of `query`'s filters that rollup rows and spans
/// share: the project on the table aliased `project`, the model and span
/// type on the one aliased `span`.
pub fn filter_conditions(bind: &mut impl Bind, query: &StatsQuery, project: &str, span: &str) -> Vec<String> {
    let mut conditions = Vec::new();
    if let Some(value) = &query.project {
        conditions.push(format!("{project}.project = {}", bind.bind_text(value)));
    }
    if let Some(value) = &query.model {
        conditions.push(format!("{span}.model = {}", bind.bind_text(value)));
    }
    if let Some(value) = query.span_type {
        conditions.push(format!("{span}.span_type = {}", bind.bind_text(value.as_str())));
    }
    conditions
}

/// Whether rollups can answer `query`: span level, no session filter.
pub fn serves(query: &StatsQuery) -> bool {
    query.level == StatsLevel::Span && query.session_id.is_none()
}

fn bucket_label(time: Timestamp) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn group_key(group_by: StatsGroupBy, key: &RollupKey) -> Option<String> {
    match group_by {
        StatsGroupBy::None => None,
        StatsGroupBy::Model => key.model.clone(),
        StatsGroupBy::SpanType => Some(key.span_type.clone()),
        StatsGroupBy::Project => key.project.clone(),
        StatsGroupBy::Hour => Some(bucket_label(Grain::Hour.floor(key.bucket_start))),
        StatsGroupBy::Day => {
            Some(bucket_label(key.bucket_start.duration_trunc(TimeDelta::days(1)).unwrap_or(key.bucket_start)))
        }
    }
}

/// The statistics groups of `query` from rollup rows and the spans read
/// one by one for a plan, or `None` when they cover at most
/// [`EXACT_STATS_MAX_SPANS`] spans and the exact query should answer instead.
pub fn groups(query: &StatsQuery, rows: &[(RollupKey, RollupValues)], facts: &FactRows) -> Option<Vec<StatsGroup>> {
    let by_time = matches!(query.group_by, StatsGroupBy::Hour | StatsGroupBy::Day);
    let unstarted = facts.unstarted.iter().filter(|_| !by_time);
    let mut merged: HashMap<Option<String>, RollupValues> = HashMap::new();
    for (key, values) in rows.iter().map(|(key, values)| (key, values)).chain(&facts.minutes).chain(unstarted) {
        merged.entry(group_key(query.group_by, key)).or_default().merge(values);
    }
    let covered: i64 = merged.values().map(|values| values.span_count).sum();
    if covered <= EXACT_STATS_MAX_SPANS {
        return None;
    }
    let mut groups: Vec<StatsGroup> = merged
        .into_iter()
        .map(|(key, values)| {
            let [p50, p95, p99] = STATS_PERCENTILES.map(|p| values.latency.percentile(p));
            let mut group = StatsGroup::new(
                key,
                values.span_count,
                values.error_count,
                [p50, p95, p99],
                [
                    values.prompt_tokens.round() as i64,
                    values.completion_tokens.round() as i64,
                    values.total_tokens.round() as i64,
                ],
                values.cost_usd,
                values.unpriced_count,
            );
            group.percentiles_estimated = true;
            group
        })
        .collect();
    order_groups(query.group_by, &mut groups);
    Some(groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::percentile_cont;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn range(from: &str, to: &str) -> TimeRange {
        TimeRange { from: Some(at(from)), to: Some(at(to)) }
    }

    #[test]
    fn sketch_percentiles_are_within_one_percent_and_exact_below_128_ms() {
        let durations: Vec<i64> = (0..20_000).map(|i| (i * 7919 % 30_011) + (i % 5)).collect();
        let mut sketch = LatencySketch::default();
        durations.iter().for_each(|duration| sketch.add(*duration));
        let mut sorted: Vec<f64> = durations.iter().map(|duration| *duration as f64).collect();
        sorted.sort_by(f64::total_cmp);
        for p in [0.001, 0.25, 0.5, 0.95, 0.99, 1.0] {
            let exact = percentile_cont(&sorted, p).unwrap();
            let estimate = sketch.percentile(p).unwrap();
            assert!((estimate - exact).abs() <= exact * 0.01 + 1e-9, "p{p}: {estimate} vs {exact}");
        }

        let mut small = LatencySketch::default();
        [3, 1, 127, 40, 40, 0].iter().for_each(|duration| small.add(*duration));
        let sorted = [0.0, 1.0, 3.0, 40.0, 40.0, 127.0];
        for p in STATS_PERCENTILES {
            assert_eq!(small.percentile(p), percentile_cont(&sorted, p));
        }
        assert_eq!(LatencySketch::default().percentile(0.5), None);
    }

    #[test]
    fn sketch_round_trips_and_refuses_truncated_bytes() {
        let mut sketch = LatencySketch::default();
        for duration in [0, 5, 5, 200, 86_400_000, i64::MAX] {
            sketch.add(duration);
        }
        for _ in 0..300 {
            sketch.add(1_000);
        }
        let bytes = sketch.encode();
        assert_eq!(LatencySketch::decode(&bytes).unwrap(), sketch);
        assert!(LatencySketch::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(LatencySketch::decode(&[1]).is_err());
    }

    #[test]
    fn a_range_inside_one_minute_is_read_span_by_span() {
        let plan = plan(Some(at("2026-03-01T10:00:10Z")), Some(at("2026-03-01T10:00:50Z")), &BTreeSet::new());
        assert_eq!(plan.facts, vec![range("2026-03-01T10:00:10Z", "2026-03-01T10:00:50Z")]);
        assert!(plan.hours.is_empty() && plan.minutes.is_empty() && !plan.unstarted);
    }

    #[test]
    fn a_day_uses_hours_inside_minutes_at_the_edges_and_spans_for_partial_and_changed_minutes() {
        let changed: BTreeSet<Timestamp> =
            [at("2026-03-01T13:05:00Z"), at("2026-03-01T13:06:00Z"), at("2026-03-02T09:00:00Z")].into();
        let plan = plan(Some(at("2026-03-01T10:17:30Z")), Some(at("2026-03-02T10:42:15Z")), &changed);
        assert_eq!(
            plan.hours,
            vec![
                range("2026-03-01T11:00:00Z", "2026-03-01T13:00:00Z"),
                range("2026-03-01T14:00:00Z", "2026-03-02T09:00:00Z")
            ]
        );
        assert_eq!(
            plan.minutes,
            vec![
                range("2026-03-01T10:18:00Z", "2026-03-01T11:00:00Z"),
                range("2026-03-01T13:00:00Z", "2026-03-01T13:05:00Z"),
                range("2026-03-01T13:07:00Z", "2026-03-01T14:00:00Z"),
                range("2026-03-02T09:01:00Z", "2026-03-02T10:42:00Z"),
            ],
            "a changed hour's clean minutes and the tail's whole minutes join up"
        );
        assert_eq!(
            plan.facts,
            vec![
                range("2026-03-01T10:17:30Z", "2026-03-01T10:18:00Z"),
                range("2026-03-01T13:05:00Z", "2026-03-01T13:07:00Z"),
                range("2026-03-02T09:00:00Z", "2026-03-02T09:01:00Z"),
                range("2026-03-02T10:42:00Z", "2026-03-02T10:42:15Z"),
            ]
        );
    }

    #[test]
    fn an_unbounded_range_reads_every_hour_and_the_unstarted_spans() {
        let changed: BTreeSet<Timestamp> = [at("2026-03-01T13:05:00Z")].into();
        let plan = plan(None, None, &changed);
        assert_eq!(
            plan.hours,
            vec![
                TimeRange { from: None, to: Some(at("2026-03-01T13:00:00Z")) },
                TimeRange { from: Some(at("2026-03-01T14:00:00Z")), to: None }
            ]
        );
        assert_eq!(
            plan.minutes,
            vec![
                range("2026-03-01T13:00:00Z", "2026-03-01T13:05:00Z"),
                range("2026-03-01T13:06:00Z", "2026-03-01T14:00:00Z")
            ]
        );
        assert_eq!(plan.facts, vec![range("2026-03-01T13:05:00Z", "2026-03-01T13:06:00Z")]);
        assert!(plan.unstarted);
    }

    fn fact(start: &str, duration_ms: i64) -> SpanFact {
        SpanFact {
            start_time: Some(at(start)),
            project: Some("p".into()),
            span_type: "model_call".into(),
            model: Some("m".into()),
            is_error: false,
            duration_ms: Some(duration_ms),
            prompt_tokens: 2.0,
            completion_tokens: 1.0,
            total_tokens: 3.0,
            cost_usd: None,
            unpriced: true,
        }
    }

    #[test]
    fn minute_rows_add_up_to_the_hour_rows_of_the_same_spans() {
        let facts: Vec<SpanFact> = (0..200).map(|i| fact(&format!("2026-03-01T10:{:02}:00Z", i % 60), i)).collect();
        let hours_from_minutes = coarsen(summarize(&facts, Grain::Minute), Grain::Hour);
        assert_eq!(hours_from_minutes, summarize(&facts, Grain::Hour));
        let hour = hours_from_minutes.values().next().unwrap();
        assert_eq!((hour.span_count, hour.total_tokens, hour.unpriced_count), (200, 600.0, 200));
        assert_eq!(hour.cost_usd, None);
    }

    #[test]
    fn small_results_are_left_to_the_exact_query() {
        let query = StatsQuery::default();
        let mut facts = FactRows::default();
        (0..10).for_each(|i| facts.add(&fact("2026-03-01T10:00:00Z", i)));
        assert_eq!(groups(&query, &[], &facts), None);
        let mut many = FactRows::default();
        (0..=EXACT_STATS_MAX_SPANS).for_each(|i| many.add(&fact("2026-03-01T10:00:00Z", i % 100)));
        let result = groups(&query, &[], &many).unwrap();
        assert_eq!(result.len(), 1);
        assert!(result[0].percentiles_estimated);
        assert_eq!(result[0].count, EXACT_STATS_MAX_SPANS + 1);
    }
}
