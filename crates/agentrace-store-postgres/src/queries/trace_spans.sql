SELECT trace_id, span_id, parent_span_id, span_type, name, start_time, end_time, duration_ms,
       input, output, model, provider, tokens_used, cost_usd::float8, status, error, metadata, events
FROM agent.spans
WHERE trace_id = $1
ORDER BY start_time NULLS LAST, span_id COLLATE "C"
