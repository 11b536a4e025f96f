//! Query strings of the read routes, parsed into the store's query types.
//!
//! The CLI reads a database directly through these same parsers, so a bad
//! value gets the same error whether it went through HTTP or not. Rules
//! every route shares: an unknown parameter is an error (a misspelt filter
//! must not silently match everything); a parameter given twice is an error
//! (except `metadata.KEY`, once per key); an empty value is the same as
//! leaving the parameter out, so forms may send their blank fields.

use std::collections::BTreeSet;

use agentrace_core::time::{from_epoch_millis, parse_rfc3339, Timestamp};
use agentrace_core::{SpanType, Status, TraceId};
use agentrace_store::query::{
    PageRequest, SessionFilter, SpanFilter, StatsGroupBy, StatsLevel, StatsQuery, TraceFilter, TraceSort,
    DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT,
};

/// A query parameter that was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter `{parameter}`: {message}")]
pub struct ParameterError {
    pub parameter: String,
    pub message: String,
}

impl ParameterError {
    pub fn new(parameter: &str, message: impl Into<String>) -> Self {
        ParameterError { parameter: parameter.to_owned(), message: message.into() }
    }

    /// A store's refusal of a query (`StoreError::InvalidQuery`), whose
    /// message starts with the parameter at fault: `cursor: …`.
    pub fn from_store(message: &str) -> Self {
        match message.split_once(": ") {
            Some((parameter, rest)) if !parameter.is_empty() && !parameter.contains(' ') => {
                ParameterError::new(parameter, rest)
            }
            _ => ParameterError::new("query", message),
        }
    }
}

/// The parameters of `GET /api/v1/traces`.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceListParams {
    pub filter: TraceFilter,
    pub sort: TraceSort,
    pub page: PageRequest,
    pub payloads: bool,
}

/// The parameters of `GET /api/v1/spans`.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanListParams {
    pub filter: SpanFilter,
    pub page: PageRequest,
    pub payloads: bool,
}

/// The parameters of `GET /api/v1/sessions`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionListParams {
    pub filter: SessionFilter,
    pub page: PageRequest,
}

/// The parameters of `GET /api/v1/traces/{trace_id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParams {
    /// Whether spans carry their input and output (default true).
    pub payloads: bool,
}

const METADATA_PREFIX: &str = "metadata.";

const TRACE_LIST: &[&str] = &[
    "project",
    "session_id",
    "user_id",
    "status",
    "name",
    "since",
    "until",
    "min_duration_ms",
    "has_error",
    "model",
    "tag",
    "q",
    "sort",
    "limit",
    "cursor",
    "payloads",
];
const SPAN_LIST: &[&str] =
    &["trace_id", "span_type", "model", "provider", "status", "since", "until", "limit", "cursor", "payloads"];
const SESSION_LIST: &[&str] = &["project", "user_id", "since", "until", "limit", "cursor"];
const STATS: &[&str] = &["level", "group_by", "since", "until", "project", "model", "span_type", "session_id"];
const TRACE: &[&str] = &["payloads"];

const STATUSES: &[(&str, Status)] =
    &[("running", Status::Running), ("success", Status::Success), ("error", Status::Error)];
const SORTS: &[(&str, TraceSort)] = &[
    ("start_time_desc", TraceSort::StartTimeDesc),
    ("start_time_asc", TraceSort::StartTimeAsc),
    ("duration_desc", TraceSort::DurationDesc),
    ("duration_asc", TraceSort::DurationAsc),
];
const LEVELS: &[(&str, StatsLevel)] = &[("span", StatsLevel::Span), ("trace", StatsLevel::Trace)];
const GROUPINGS: &[(&str, StatsGroupBy)] = &[
    ("none", StatsGroupBy::None),
    ("model", StatsGroupBy::Model),
    ("span_type", StatsGroupBy::SpanType),
    ("project", StatsGroupBy::Project),
    ("hour", StatsGroupBy::Hour),
    ("day", StatsGroupBy::Day),
];
const BOOLEANS: &[(&str, bool)] = &[("true", true), ("false", false)];

impl TraceListParams {
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, ParameterError> {
        let params = Params::new(pairs, TRACE_LIST, true)?;
        let filter = TraceFilter {
            project: params.text("project")?,
            session_id: params.text("session_id")?,
            user_id: params.text("user_id")?,
            status: params.choice("status", STATUSES)?,
            name: params.text("name")?,
            since: params.time("since")?,
            until: params.time("until")?,
            min_duration_ms: params.non_negative("min_duration_ms")?,
            has_error: params.choice("has_error", BOOLEANS)?,
            model: params.text("model")?,
            tag: params.text("tag")?,
            metadata: params.metadata()?,
            q: params.text("q")?,
        };
        Ok(TraceListParams {
            filter,
            sort: params.choice("sort", SORTS)?.unwrap_or_default(),
            page: params.page()?,
            payloads: params.choice("payloads", BOOLEANS)?.unwrap_or(false),
        })
    }
}

impl SpanListParams {
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, ParameterError> {
        let params = Params::new(pairs, SPAN_LIST, false)?;
        let trace_id = params
            .text("trace_id")?
            .map(|raw| TraceId::parse(raw).map_err(|error| ParameterError::new("trace_id", error.to_string())))
            .transpose()?;
        let filter = SpanFilter {
            trace_id,
            span_type: params.span_type()?,
            model: params.text("model")?,
            provider: params.text("provider")?,
            status: params.choice("status", STATUSES)?,
            since: params.time("since")?,
            until: params.time("until")?,
        };
        Ok(SpanListParams {
            filter,
            page: params.page()?,
            payloads: params.choice("payloads", BOOLEANS)?.unwrap_or(false),
        })
    }
}

impl SessionListParams {
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, ParameterError> {
        let params = Params::new(pairs, SESSION_LIST, false)?;
        let filter = SessionFilter {
            project: params.text("project")?,
            user_id: params.text("user_id")?,
            since: params.time("since")?,
            until: params.time("until")?,
        };
        Ok(SessionListParams { filter, page: params.page()? })
    }
}

impl TraceParams {
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, ParameterError> {
        let params = Params::new(pairs, TRACE, false)?;
        Ok(TraceParams { payloads: params.choice("payloads", BOOLEANS)?.unwrap_or(true) })
    }
}

/// The parameters of `GET /api/v1/stats`.
pub fn parse_stats(pairs: &[(String, String)]) -> Result<StatsQuery, ParameterError> {
    let params = Params::new(pairs, STATS, false)?;
    let query = StatsQuery {
        level: params.choice("level", LEVELS)?.unwrap_or_default(),
        group_by: params.choice("group_by", GROUPINGS)?.unwrap_or_default(),
        since: params.time("since")?,
        until: params.time("until")?,
        project: params.text("project")?,
        model: params.text("model")?,
        span_type: params.span_type()?,
        session_id: params.text("session_id")?,
    };
    if query.level == StatsLevel::Trace && matches!(query.group_by, StatsGroupBy::Model | StatsGroupBy::SpanType) {
        let grouping = if query.group_by == StatsGroupBy::Model { "model" } else { "span_type" };
        return Err(ParameterError::new(
            "group_by",
            format!("{grouping} groups spans, not traces; use level=span (the default) to group by {grouping}"),
        ));
    }
    Ok(query)
}

/// For routes that take no query parameters: any given is an error.
pub fn reject_any(pairs: &[(String, String)]) -> Result<(), ParameterError> {
    Params::new(pairs, &[], false).map(|_| ())
}

/// A route's query pairs, checked once for unknown and repeated names.
struct Params<'a> {
    pairs: &'a [(String, String)],
}

impl<'a> Params<'a> {
    fn new(pairs: &'a [(String, String)], known: &[&str], metadata: bool) -> Result<Self, ParameterError> {
        let mut seen = BTreeSet::new();
        for (name, _) in pairs {
            let is_metadata = metadata && name.starts_with(METADATA_PREFIX);
            if !is_metadata && !known.contains(&name.as_str()) {
                if known.is_empty() {
                    return Err(ParameterError::new(name, "unknown parameter; this route takes none"));
                }
                let mut accepted = known.join(", ");
                if metadata {
                    accepted.push_str(", metadata.KEY");
                }
                return Err(ParameterError::new(name, format!("unknown parameter; this route accepts {accepted}")));
            }
            if !seen.insert(name.as_str()) {
                return Err(ParameterError::new(name, "given more than once"));
            }
        }
        Ok(Params { pairs })
    }

    /// The parameter's value; `None` when absent or empty.
    fn text(&self, name: &str) -> Result<Option<String>, ParameterError> {
        Ok(self.raw(name).map(str::to_owned))
    }

    fn raw(&self, name: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    fn choice<T: Copy>(&self, name: &str, choices: &[(&str, T)]) -> Result<Option<T>, ParameterError> {
        let Some(raw) = self.raw(name) else { return Ok(None) };
        match choices.iter().find(|(text, _)| *text == raw) {
            Some((_, value)) => Ok(Some(*value)),
            None => {
                let names: Vec<&str> = choices.iter().map(|(text, _)| *text).collect();
                Err(ParameterError::new(name, format!("{raw:?} is not one of {}", names.join(", "))))
            }
        }
    }

    fn span_type(&self) -> Result<Option<SpanType>, ParameterError> {
        let Some(raw) = self.raw("span_type") else { return Ok(None) };
        raw.parse().map(Some).map_err(|_| {
            let names: Vec<&str> = SpanType::ALL.iter().map(|kind| kind.as_str()).collect();
            ParameterError::new("span_type", format!("{raw:?} is not one of {}", names.join(", ")))
        })
    }

    /// RFC 3339, or epoch milliseconds like ingest accepts.
    fn time(&self, name: &str) -> Result<Option<Timestamp>, ParameterError> {
        let Some(raw) = self.raw(name) else { return Ok(None) };
        parse_time(raw)
            .map(Some)
            .ok_or_else(|| ParameterError::new(name, format!("{raw:?} is not an RFC 3339 time or epoch milliseconds")))
    }

    fn non_negative(&self, name: &str) -> Result<Option<i64>, ParameterError> {
        let Some(raw) = self.raw(name) else { return Ok(None) };
        match raw.parse::<i64>() {
            Ok(value) if value >= 0 => Ok(Some(value)),
            _ => Err(ParameterError::new(name, format!("{raw:?} is not a whole number of 0 or more"))),
        }
    }

    fn page(&self) -> Result<PageRequest, ParameterError> {
        let limit = match self.raw("limit") {
            None => DEFAULT_PAGE_LIMIT,
            Some(raw) => match raw.parse::<usize>() {
                Ok(limit) if (1..=MAX_PAGE_LIMIT).contains(&limit) => limit,
                _ => {
                    return Err(ParameterError::new(
                        "limit",
                        format!("{raw:?} is not a whole number from 1 to {MAX_PAGE_LIMIT}"),
                    ))
                }
            },
        };
        Ok(PageRequest { limit, cursor: self.text("cursor")? })
    }

    /// Every `metadata.KEY=VALUE`, in the order given.
    fn metadata(&self) -> Result<Vec<(String, String)>, ParameterError> {
        let mut conditions = Vec::new();
        for (name, value) in self.pairs {
            let Some(key) = name.strip_prefix(METADATA_PREFIX) else { continue };
            if key.is_empty() {
                return Err(ParameterError::new(name, "names no metadata key; write metadata.KEY=VALUE"));
            }
            conditions.push((key.to_owned(), value.clone()));
        }
        Ok(conditions)
    }
}

/// An instant written as RFC 3339 or as epoch milliseconds (a number,
/// possibly fractional), the two forms ingest accepts.
pub fn parse_time(raw: &str) -> Option<Timestamp> {
    let looks_numeric = !raw.is_empty() && raw.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-');
    if looks_numeric {
        return raw.parse::<f64>().ok().and_then(from_epoch_millis);
    }
    parse_rfc3339(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
    }

    fn error_of<T: std::fmt::Debug>(result: Result<T, ParameterError>) -> (String, String) {
        let error = result.expect_err("an error");
        (error.parameter, error.message)
    }

    #[test]
    fn every_trace_filter_is_read() {
        let parsed = TraceListParams::parse(&pairs(&[
            ("project", "travel"),
            ("session_id", "s-1"),
            ("user_id", "alice"),
            ("status", "error"),
            ("name", "agent"),
            ("since", "2026-03-01T10:00:00+01:00"),
            ("until", "1772362800000"),
            ("min_duration_ms", "250"),
            ("has_error", "true"),
            ("model", "gpt-4o"),
            ("tag", "prod"),
            ("metadata.release", "1.2"),
            ("metadata.tier", "gold"),
            ("q", "Paris"),
            ("sort", "duration_asc"),
            ("limit", "1000"),
            ("cursor", "abc"),
            ("payloads", "true"),
        ]))
        .unwrap();
        let filter = &parsed.filter;
        assert_eq!(filter.project.as_deref(), Some("travel"));
        assert_eq!(filter.session_id.as_deref(), Some("s-1"));
        assert_eq!(filter.user_id.as_deref(), Some("alice"));
        assert_eq!(filter.status, Some(Status::Error));
        assert_eq!(filter.name.as_deref(), Some("agent"));
        assert_eq!(filter.since, parse_rfc3339("2026-03-01T09:00:00Z"));
        assert_eq!(filter.until, parse_rfc3339("2026-03-01T11:00:00Z"));
        assert_eq!(filter.min_duration_ms, Some(250));
        assert_eq!(filter.has_error, Some(true));
        assert_eq!(filter.model.as_deref(), Some("gpt-4o"));
        assert_eq!(filter.tag.as_deref(), Some("prod"));
        assert_eq!(filter.metadata, [("release".into(), "1.2".into()), ("tier".into(), "gold".into())]);
        assert_eq!(filter.q.as_deref(), Some("Paris"));
        assert_eq!(parsed.sort, TraceSort::DurationAsc);
        assert_eq!(parsed.page, PageRequest { limit: 1000, cursor: Some("abc".into()) });
        assert!(parsed.payloads);
    }

    #[test]
    fn defaults_apply_and_empty_values_count_as_absent() {
        let parsed = TraceListParams::parse(&pairs(&[("project", ""), ("status", ""), ("limit", "")])).unwrap();
        assert_eq!(parsed.filter, TraceFilter::default());
        assert_eq!(parsed.sort, TraceSort::StartTimeDesc);
        assert_eq!(parsed.page, PageRequest { limit: DEFAULT_PAGE_LIMIT, cursor: None });
        assert!(!parsed.payloads);
        assert!(TraceParams::parse(&[]).unwrap().payloads, "one trace carries its payloads unless told not to");
    }

    #[test]
    fn bad_values_name_their_parameter() {
        // (query, parameter named, message)
        type Case = (&'static [(&'static str, &'static str)], &'static str, &'static str);
        let cases: &[Case] = &[
            (&[("status", "failed")], "status", "\"failed\" is not one of running, success, error"),
            (
                &[("sort", "name")],
                "sort",
                "\"name\" is not one of start_time_desc, start_time_asc, duration_desc, duration_asc",
            ),
            (&[("has_error", "yes")], "has_error", "\"yes\" is not one of true, false"),
            (&[("since", "yesterday")], "since", "\"yesterday\" is not an RFC 3339 time or epoch milliseconds"),
            (
                &[("until", "2026-13-01T00:00:00Z")],
                "until",
                "\"2026-13-01T00:00:00Z\" is not an RFC 3339 time or epoch milliseconds",
            ),
            (&[("min_duration_ms", "-5")], "min_duration_ms", "\"-5\" is not a whole number of 0 or more"),
            (&[("limit", "0")], "limit", "\"0\" is not a whole number from 1 to 1000"),
            (&[("limit", "1001")], "limit", "\"1001\" is not a whole number from 1 to 1000"),
            (&[("metadata.", "x")], "metadata.", "names no metadata key; write metadata.KEY=VALUE"),
            (&[("project", "a"), ("project", "b")], "project", "given more than once"),
        ];
        for (query, parameter, message) in cases {
            assert_eq!(error_of(TraceListParams::parse(&pairs(query))), (parameter.to_string(), message.to_string()));
        }
        let (parameter, message) = error_of(TraceListParams::parse(&pairs(&[("sesion_id", "s")])));
        assert_eq!(parameter, "sesion_id");
        assert!(message.starts_with("unknown parameter; this route accepts project, session_id,"), "{message}");
        assert!(message.ends_with("payloads, metadata.KEY"), "{message}");
    }

    #[test]
    fn metadata_may_repeat_per_key_and_only_traces_take_it() {
        let (parameter, _) = error_of(TraceListParams::parse(&pairs(&[("metadata.a", "1"), ("metadata.a", "2")])));
        assert_eq!(parameter, "metadata.a");
        let (parameter, message) = error_of(SpanListParams::parse(&pairs(&[("metadata.a", "1")])));
        assert_eq!(parameter, "metadata.a");
        assert!(message.starts_with("unknown parameter"));
    }

    #[test]
    fn span_session_and_trace_parameters() {
        let spans = SpanListParams::parse(&pairs(&[
            ("trace_id", "t-1"),
            ("span_type", "tool_call"),
            ("provider", "openai"),
            ("payloads", "true"),
        ]))
        .unwrap();
        assert_eq!(spans.filter.trace_id, Some(TraceId::parse("t-1").unwrap()));
        assert_eq!(spans.filter.span_type, Some(SpanType::ToolCall));
        assert_eq!(spans.filter.provider.as_deref(), Some("openai"));
        assert!(spans.payloads);
        let (parameter, message) = error_of(SpanListParams::parse(&pairs(&[("span_type", "llm")])));
        assert_eq!(parameter, "span_type");
        assert!(message.starts_with("\"llm\" is not one of agent, node, chain, model_call"), "{message}");

        let sessions = SessionListParams::parse(&pairs(&[("user_id", "bob"), ("limit", "2")])).unwrap();
        assert_eq!(sessions.filter.user_id.as_deref(), Some("bob"));
        assert_eq!(sessions.page.limit, 2);
        assert_eq!(error_of(SessionListParams::parse(&pairs(&[("status", "error")]))).0, "status");

        assert!(!TraceParams::parse(&pairs(&[("payloads", "false")])).unwrap().payloads);
        assert_eq!(error_of(TraceParams::parse(&pairs(&[("limit", "5")]))).0, "limit");
    }

    #[test]
    fn stats_parameters_and_the_groupings_traces_cannot_have() {
        let query = parse_stats(&pairs(&[("level", "trace"), ("group_by", "day"), ("project", "p")])).unwrap();
        assert_eq!(
            (query.level, query.group_by, query.project.as_deref()),
            (StatsLevel::Trace, StatsGroupBy::Day, Some("p"))
        );
        assert_eq!(parse_stats(&[]).unwrap(), StatsQuery::default());
        for grouping in ["model", "span_type"] {
            let (parameter, message) = error_of(parse_stats(&pairs(&[("level", "trace"), ("group_by", grouping)])));
            assert_eq!(parameter, "group_by");
            assert!(message.starts_with(&format!("{grouping} groups spans, not traces")), "{message}");
        }
        assert_eq!(error_of(parse_stats(&pairs(&[("group_by", "week")]))).0, "group_by");
    }

    #[test]
    fn a_store_refusal_names_its_parameter() {
        let error = ParameterError::from_store("cursor: not issued for this listing");
        assert_eq!((error.parameter.as_str(), error.message.as_str()), ("cursor", "not issued for this listing"));
        let error = ParameterError::from_store("the query cannot be answered");
        assert_eq!((error.parameter.as_str(), error.message.as_str()), ("query", "the query cannot be answered"));
    }

    #[test]
    fn times_are_rfc3339_or_epoch_millis() {
        assert_eq!(parse_time("1772359200000"), parse_rfc3339("2026-03-01T10:00:00Z"));
        assert_eq!(parse_time("1772359200000.5"), parse_rfc3339("2026-03-01T10:00:00.000500Z"));
        assert_eq!(parse_time("2026-03-01T10:00:00Z"), parse_rfc3339("2026-03-01T10:00:00Z"));
        assert_eq!(parse_time("1e3"), None);
        assert_eq!(parse_time("--1"), None);
    }
}
