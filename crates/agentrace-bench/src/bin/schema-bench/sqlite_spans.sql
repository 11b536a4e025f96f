-- The 50 spans of each trace t in [?1, ?2), as postgres_spans.sql makes them.
WITH RECURSIVE
trace (t) AS (SELECT ?1 UNION ALL SELECT t + 1 FROM trace WHERE t + 1 < ?2),
span (s) AS (SELECT 0 UNION ALL SELECT s + 1 FROM span WHERE s < 49),
kind (s, span_type, name) AS (
    SELECT s,
           CASE WHEN s = 0 THEN 'agent'
                WHEN s <= 5 THEN 'node'
                WHEN s <= 30 THEN CASE s % 5 WHEN 0 THEN 'model_call' WHEN 1 THEN 'tool_call' WHEN 2 THEN 'mcp_call'
                                             WHEN 3 THEN 'embedding' ELSE 'model_call' END
                ELSE 'tool_call' END,
           CASE WHEN s = 0 THEN 'support-agent'
                WHEN s <= 5 THEN CASE s WHEN 1 THEN 'ReasonNode' WHEN 2 THEN 'ToolNode' WHEN 3 THEN 'ResponseNode'
                                        WHEN 4 THEN 'ReasonNode' ELSE 'ToolNode' END
                WHEN s <= 30 THEN CASE s % 5 WHEN 0 THEN 'gpt-4o' WHEN 1 THEN 'search_web' WHEN 2 THEN 'fetch_tracking'
                                             WHEN 3 THEN 'embed' ELSE 'gpt-4o' END
                ELSE 'lookup_order' END
    FROM span
)
INSERT INTO agent.spans (trace_id, span_id, parent_span_id, span_type, name, start_time, end_time, duration_ms,
                         input, output, model, provider, tokens_used, cost_usd, status, metadata)
SELECT printf('%08x%024x', (t * 2654435761) % 4294967296, t),
       printf('%08x%08x', ((t * 50 + s) * 2654435761) % 4294967296, s),
       CASE WHEN s > 0 THEN printf('%08x%08x', ((t * 50 + (s - 1) / 5) * 2654435761) % 4294967296, (s - 1) / 5) END,
       kind.span_type,
       kind.name,
       strftime('%Y-%m-%dT%H:%M:%S', 1793491200 + t, 'unixepoch') || printf('.%06dZ', s * 10000),
       strftime('%Y-%m-%dT%H:%M:%S', 1793491200 + t, 'unixepoch') || printf('.%06dZ', s * 10000 + 8000),
       8,
       json_object('messages', json_array(json_object(
           'role', 'user', 'content', 'Where is order ' || t || '? It was due last week and the tracking page is empty.'))),
       json_object('content', 'Order ' || t || ' ships tomorrow; the tracking page updates tonight.'),
       CASE WHEN kind.span_type IN ('model_call', 'embedding') THEN 'gpt-4o' END,
       CASE WHEN kind.span_type IN ('model_call', 'embedding') THEN 'openai' END,
       CASE WHEN kind.span_type IN ('model_call', 'embedding', 'agent')
            THEN json_object('prompt', 420, 'completion', 80, 'total', 500) END,
       CASE WHEN kind.span_type = 'model_call' THEN 0.0021 END,
       CASE WHEN s % 17 = 16 THEN 'error' ELSE 'success' END,
       json_object('service.name', 'support-bot')
FROM trace
CROSS JOIN kind
