//! The read API over HTTP: trace lists (every filter, sorts, pages), spans,
//! sessions, statistics and projects, on the fixture in
//! `support/read_fixture.rs`, where every filter has counterexamples.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::read_fixture::{ingest_body, ALL_NEWEST_FIRST};

crate::on_both_backends!(
    every_trace_filter_narrows_the_list,
    trace_lists_sort_and_carry_statistics,
    pages_return_every_trace_once_while_traces_arrive,
    bad_list_parameters_are_400_naming_the_parameter,
    spans_are_listed_by_filter,
    sessions_list_and_one_session_turn_by_turn,
    stats_group_and_interpolate_percentiles,
    projects_are_listed_with_totals,
);

async fn seeded(app: &TestApp) {
    let reply = app.post_json("/api/v1/ingest", &ingest_body()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["rejected"], json!([]));
}

async fn get_ok(app: &TestApp, path: &str) -> Value {
    let reply = app.get(path).await;
    assert_eq!(reply.status, StatusCode::OK, "GET {path}: {}", reply.body);
    reply.body
}

/// Costs and percentiles are computed in floating point, by each store in its own order.
fn assert_close(value: &Value, expected: f64) {
    let number = value.as_f64().unwrap_or_else(|| panic!("a number, not {value}"));
    assert!((number - expected).abs() < 1e-9 * expected.abs().max(1.0), "{number}, expected {expected}");
}

fn assert_cost(cost: Value, expected: f64) {
    assert_close(&cost, expected);
}

fn ids(items: &Value, key: &str) -> Vec<String> {
    items.as_array().expect("items").iter().map(|item| item[key].as_str().expect("id").to_owned()).collect()
}

async fn trace_ids(app: &TestApp, query: &str) -> Vec<String> {
    let page = get_ok(app, &format!("/api/v1/traces?{query}")).await;
    ids(&page["items"], "trace_id")
}

async fn every_trace_filter_narrows_the_list(app: TestApp) {
    seeded(&app).await;
    let cases: &[(&str, &[&str])] = &[
        ("", &ALL_NEWEST_FIRST),
        ("project=travel", &["trip-2", "trip-1"]),
        ("session_id=s-help", &["live-1", "support-1"]),
        ("user_id=bob", &["live-1", "support-1"]),
        ("status=error", &["support-1"]),
        ("status=running", &["live-1"]),
        ("name=plan-trip", &["trip-2", "trip-1"]),
        // Half-open: 10:05 is in, 11:30 is out.
        ("since=2026-03-01T10:05:00Z&until=2026-03-01T11:30:00Z", &["support-1", "trip-2"]),
        ("since=1772359500000", &["nightly-1", "live-1", "support-1", "trip-2"]),
        ("min_duration_ms=3000", &["support-1", "trip-1"]),
        ("has_error=true", &["support-1", "trip-2"]),
        ("has_error=false", &["nightly-1", "live-1", "trip-1"]),
        ("model=claude-sonnet-4", &["trip-2"]),
        ("model=gpt-4o", &["support-1", "trip-1"]),
        ("tag=beta", &["support-1"]),
        ("metadata.tier=gold", &["support-1", "trip-1"]),
        ("metadata.tier=gold&metadata.release=1.2", &["trip-1"]),
        ("q=refund", &["nightly-1"]),
        ("q=PARIS", &["trip-1"]),
        ("project=travel&has_error=true", &["trip-2"]),
        ("project=nowhere", &[]),
        // Blank form fields are no filter.
        ("project=&q=", &ALL_NEWEST_FIRST),
    ];
    for (query, expected) in cases {
        assert_eq!(trace_ids(&app, query).await, *expected, "GET /api/v1/traces?{query}");
    }
}

async fn trace_lists_sort_and_carry_statistics(app: TestApp) {
    seeded(&app).await;
    assert_eq!(trace_ids(&app, "sort=start_time_asc").await, ["trip-1", "trip-2", "support-1", "live-1", "nightly-1"]);
    // Missing durations (the running trace) sort last either way.
    assert_eq!(trace_ids(&app, "sort=duration_desc").await, ["support-1", "trip-1", "trip-2", "nightly-1", "live-1"]);
    assert_eq!(trace_ids(&app, "sort=duration_asc").await, ["nightly-1", "trip-2", "trip-1", "support-1", "live-1"]);

    let page = get_ok(&app, "/api/v1/traces?session_id=s-paris&sort=start_time_asc").await;
    let first = &page["items"][0];
    assert_eq!(first["trace_id"], "trip-1");
    assert_eq!(first["duration_ms"], 4000);
    assert_eq!(first["tags"], json!(["prod"]));
    assert_eq!(first["input"], Value::Null, "payloads are left out by default");
    assert_eq!(
        first["stats"],
        json!({"total_spans": 3, "model_calls": 1, "tool_calls": 1, "mcp_calls": 0, "error_spans": 0,
               "prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150, "cost_usd": 0.0012})
    );
    assert_eq!(page["items"][1]["stats"]["error_spans"], 1);
    assert_eq!(page["next_cursor"], Value::Null);

    let with_payloads = get_ok(&app, "/api/v1/traces?session_id=s-paris&sort=start_time_asc&payloads=true").await;
    assert_eq!(with_payloads["items"][0]["output"], json!({"answer": "Sunny, 22°C"}));
    assert_eq!(with_payloads["items"][1]["input"], "And tomorrow?");
}

async fn pages_return_every_trace_once_while_traces_arrive(app: TestApp) {
    seeded(&app).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(cursor) => format!("limit=2&cursor={}", urlencode(cursor)),
            None => "limit=2".to_owned(),
        };
        let page = get_ok(&app, &format!("/api/v1/traces?{query}")).await;
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(ids(&page["items"], "trace_id"));
        pages += 1;
        // A newer trace and an older one arrive between pages: the newer
        // sorts before the pages already read, the older after them.
        let (newer, older) = (format!("new-{pages}"), format!("old-{pages}"));
        let arriving = json!({"spans": [
            {"trace_id": newer, "span_id": "root", "start_time": "2026-03-02T00:00:00Z", "end_time": "2026-03-02T00:00:01Z"},
            {"trace_id": older, "span_id": "root", "start_time": format!("2026-02-0{pages}T00:00:00Z"), "end_time": format!("2026-02-0{pages}T00:00:01Z")}
        ]});
        assert_eq!(app.post_json("/api/v1/ingest", &arriving).await.status, StatusCode::OK);
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
        assert!(pages < 20, "paging does not end");
    }
    let (fixture, arrived): (Vec<String>, Vec<String>) =
        seen.iter().cloned().partition(|id| !id.starts_with("new-") && !id.starts_with("old-"));
    assert_eq!(fixture, ALL_NEWEST_FIRST, "every fixture trace once, in order");
    assert!(
        arrived.iter().all(|id| id.starts_with("old-")),
        "newer traces never show up behind the cursor: {arrived:?}"
    );
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no trace twice: {seen:?}");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

async fn bad_list_parameters_are_400_naming_the_parameter(app: TestApp) {
    seeded(&app).await;
    let cases: &[(&str, &str, &str)] = &[
        ("/api/v1/traces?status=failed", "status", "invalid query parameter `status`: \"failed\" is not one of running, success, error"),
        ("/api/v1/traces?limit=0", "limit", "invalid query parameter `limit`: \"0\" is not a whole number from 1 to 1000"),
        ("/api/v1/traces?limit=5000", "limit", "invalid query parameter `limit`: \"5000\" is not a whole number from 1 to 1000"),
        ("/api/v1/traces?since=yesterday", "since", "invalid query parameter `since`: \"yesterday\" is not an RFC 3339 time or epoch milliseconds"),
        ("/api/v1/traces?has_error=maybe", "has_error", "invalid query parameter `has_error`: \"maybe\" is not one of true, false"),
        ("/api/v1/traces?sort=name", "sort", "invalid query parameter `sort`: \"name\" is not one of start_time_desc, start_time_asc, duration_desc, duration_asc"),
        ("/api/v1/traces?project=a&project=b", "project", "invalid query parameter `project`: given more than once"),
        ("/api/v1/spans?span_type=llm", "span_type", "invalid query parameter `span_type`: \"llm\" is not one of agent, node, chain, model_call, embedding, tool_call, mcp_call, retriever, guardrail, evaluator, custom"),
        ("/api/v1/sessions?status=error", "status", "invalid query parameter `status`: unknown parameter; this route accepts project, user_id, since, until, limit, cursor"),
        ("/api/v1/stats?level=trace&group_by=model", "group_by", "invalid query parameter `group_by`: model groups spans, not traces; use level=span (the default) to group by model"),
        ("/api/v1/projects?limit=1", "limit", "invalid query parameter `limit`: unknown parameter; this route takes none"),
    ];
    for (path, parameter, message) in cases {
        let reply = app.get(path).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}: {}", reply.body);
        assert_eq!(
            reply.body,
            json!({"error": {"code": "invalid_parameter", "parameter": parameter, "message": message}}),
            "{path}"
        );
    }
    let unknown = app.get("/api/v1/traces?sesion_id=s-help").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.body["error"]["parameter"], "sesion_id", "a misspelt filter never matches everything");
    let forged = app.get("/api/v1/traces?cursor=not-a-cursor").await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST, "{}", forged.body);
    assert_eq!(forged.body["error"]["parameter"], "cursor", "{}", forged.body);
}

async fn spans_are_listed_by_filter(app: TestApp) {
    seeded(&app).await;
    let span_ids = |query: &'static str| {
        let app = &app;
        async move { ids(&get_ok(app, &format!("/api/v1/spans?{query}")).await["items"], "span_id") }
    };
    assert_eq!(span_ids("trace_id=trip-1").await, ["t1-tool", "t1-llm", "t1-root"], "newest first");
    assert_eq!(span_ids("span_type=tool_call").await, ["t2-tool", "t1-tool"]);
    assert_eq!(span_ids("model=gpt-4o").await, ["s1-llm", "t1-llm"]);
    assert_eq!(span_ids("provider=anthropic").await, ["t2-llm"]);
    assert_eq!(span_ids("status=error").await, ["s1-root", "t2-tool"]);
    assert_eq!(span_ids("status=running").await, ["l1-root"]);
    assert_eq!(
        span_ids("span_type=model_call&since=2026-03-01T11:00:00Z&until=2026-03-01T12:00:00Z").await,
        ["s1-llm"]
    );
    assert_eq!(span_ids("trace_id=nope").await, Vec::<String>::new());

    let all = get_ok(&app, "/api/v1/spans?limit=1000").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 12);
    assert!(all["items"].as_array().unwrap().iter().all(|span| span["input"].is_null()));
    let page = get_ok(&app, "/api/v1/spans?span_type=model_call&limit=3").await;
    assert_eq!(ids(&page["items"], "span_id"), ["n1-llm", "s1-llm", "t2-llm"]);
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let rest = get_ok(&app, &format!("/api/v1/spans?span_type=model_call&limit=3&cursor={}", urlencode(cursor))).await;
    assert_eq!(ids(&rest["items"], "span_id"), ["t1-llm"]);
    assert_eq!(rest["next_cursor"], Value::Null);
}

async fn sessions_list_and_one_session_turn_by_turn(app: TestApp) {
    seeded(&app).await;
    let sessions = get_ok(&app, "/api/v1/sessions").await;
    assert_eq!(ids(&sessions["items"], "session_id"), ["s-batch", "s-help", "s-paris"]);
    let mut paris = sessions["items"][2].clone();
    assert_cost(paris["cost_usd"].take(), 0.0032);
    assert_eq!(
        paris,
        json!({"session_id": "s-paris", "project": "travel", "user_id": "alice", "trace_count": 2,
               "first_time": "2026-03-01T10:00:00Z", "last_time": "2026-03-01T10:05:00Z",
               "prompt_tokens": 320, "completion_tokens": 80, "total_tokens": 400, "cost_usd": null,
               "error_count": 0})
    );
    assert_eq!(sessions["items"][1]["error_count"], 1);
    assert_eq!(sessions["items"][0]["cost_usd"], Value::Null, "an unpriced model leaves the cost unknown");
    assert_eq!(ids(&get_ok(&app, "/api/v1/sessions?user_id=alice").await["items"], "session_id"), ["s-paris"]);
    assert_eq!(ids(&get_ok(&app, "/api/v1/sessions?project=support").await["items"], "session_id"), ["s-help"]);
    let window = get_ok(&app, "/api/v1/sessions?since=2026-03-01T10:01:00Z&until=2026-03-01T11:00:00Z").await;
    assert_eq!(ids(&window["items"], "session_id"), ["s-paris"]);
    let first_page = get_ok(&app, "/api/v1/sessions?limit=2").await;
    assert_eq!(ids(&first_page["items"], "session_id"), ["s-batch", "s-help"]);
    let cursor = urlencode(first_page["next_cursor"].as_str().expect("a next page"));
    let second_page = get_ok(&app, &format!("/api/v1/sessions?limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&second_page["items"], "session_id"), ["s-paris"]);

    let detail = get_ok(&app, "/api/v1/sessions/s-paris").await;
    assert_eq!(detail["trace_count"], 2);
    assert_eq!(ids(&detail["turns"], "trace_id"), ["trip-1", "trip-2"], "turns in start order");
    assert_eq!(detail["turns"][0]["input"]["messages"][1]["content"], "Weather in Paris?");
    assert_eq!(detail["turns"][1]["output"], json!({"answer": "Rain expected"}));
    assert_eq!(detail["turns"][1]["stats"]["total_tokens"], 250);

    let missing = app.get("/api/v1/sessions/s-nowhere").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["error"]["message"], "session \"s-nowhere\" not found");
}

async fn stats_group_and_interpolate_percentiles(app: TestApp) {
    seeded(&app).await;
    // Trace durations 250, 2000, 4000, 10000 (the running trace has none):
    // p50 at position 1.5 = 3000; p95 at 2.85 = 4000 + 0.85 × 6000 = 9100;
    // p99 at 2.97 = 4000 + 0.97 × 6000 = 9820.
    let traces = get_ok(&app, "/api/v1/stats?level=trace").await;
    let all = &traces["groups"][0];
    assert_eq!(traces["groups"].as_array().unwrap().len(), 1);
    assert_eq!(all["key"], Value::Null);
    assert_eq!(all["count"], 5);
    assert_eq!(all["error_count"], 1);
    assert_eq!(all["error_rate"], 0.2);
    assert_close(&all["p50_ms"], 3000.0);
    assert_close(&all["p95_ms"], 9100.0);
    assert_close(&all["p99_ms"], 9820.0);
    assert_eq!(all["total_tokens"], 1015);

    let by_model = get_ok(&app, "/api/v1/stats?group_by=model&span_type=model_call").await;
    let groups = by_model["groups"].as_array().unwrap();
    let keys: Vec<&str> = groups.iter().map(|group| group["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["gpt-4o", "acme-7b", "claude-sonnet-4"], "by count, then key");
    // gpt-4o calls took 1500 and 4000 ms: p50 2750, p95 1500 + 0.95 × 2500.
    assert_eq!(groups[0]["count"], 2);
    assert_close(&groups[0]["p50_ms"], 2750.0);
    assert_close(&groups[0]["p95_ms"], 3875.0);
    assert_eq!(groups[0]["prompt_tokens"], 620);
    assert_cost(groups[0]["cost_usd"].clone(), 0.0062);
    assert_eq!(groups[0]["unpriced_count"], 0);
    assert_eq!(groups[1]["unpriced_count"], 1, "acme-7b has tokens and no price");
    assert_eq!(groups[1]["cost_usd"], Value::Null);

    let by_hour = get_ok(&app, "/api/v1/stats?level=trace&group_by=hour").await;
    let buckets: Vec<(&str, i64)> = by_hour["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| (group["key"].as_str().unwrap(), group["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(buckets, [("2026-03-01T10:00:00Z", 2), ("2026-03-01T11:00:00Z", 2), ("2026-03-01T12:00:00Z", 1)]);

    let support = get_ok(&app, "/api/v1/stats?level=trace&project=support").await;
    assert_eq!(support["groups"][0]["count"], 2);
    let errors_by_type =
        get_ok(&app, "/api/v1/stats?group_by=span_type&since=2026-03-01T10:05:00Z&until=2026-03-01T10:06:00Z").await;
    let tool =
        errors_by_type["groups"].as_array().unwrap().iter().find(|group| group["key"] == "tool_call").unwrap().clone();
    assert_eq!((tool["count"].as_i64(), tool["error_rate"].as_f64()), (Some(1), Some(1.0)));
}

async fn projects_are_listed_with_totals(app: TestApp) {
    seeded(&app).await;
    let projects = get_ok(&app, "/api/v1/projects").await;
    assert_eq!(ids(&projects["items"], "project"), ["default", "support", "travel"]);
    let mut travel = projects["items"][2].clone();
    assert_cost(travel["cost_usd"].take(), 0.0032);
    assert_eq!(
        travel,
        json!({"project": "travel", "trace_count": 2, "last_activity": "2026-03-01T10:05:00Z",
               "prompt_tokens": 320, "completion_tokens": 80, "total_tokens": 400, "cost_usd": null})
    );
    assert_eq!(projects["items"][1]["trace_count"], 2);
}
