SELECT s.trace_id, s.span_id, s.parent_span_id, s.span_type, s.name, s.start_time, s.end_time, s.duration_ms,
       s.input, s.output, s.model, s.provider, s.tokens_used, s.cost_usd::float8, s.status, s.error,
       s.metadata, s.events
FROM unnest($1::text[], $2::text[]) AS wanted(trace_id, span_id)
JOIN agent.spans s ON s.trace_id = wanted.trace_id AND s.span_id = wanted.span_id
