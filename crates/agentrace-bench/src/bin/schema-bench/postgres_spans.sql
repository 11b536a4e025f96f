-- The 50 spans of each trace t in [$1, $2): an agent root; five graph nodes
-- under it; model, tool, MCP and embedding calls under those; tool calls
-- below. Span s's parent is span (s - 1) / 5. Ids as sqlite_spans.sql makes them.
INSERT INTO agent.spans (trace_id, span_id, parent_span_id, span_type, name, start_time, end_time, duration_ms,
                         input, output, model, provider, tokens_used, cost_usd, status, metadata)
SELECT lpad(to_hex((t * 2654435761) % 4294967296), 8, '0') || lpad(to_hex(t), 24, '0'),
       lpad(to_hex(((t * 50 + s) * 2654435761) % 4294967296), 8, '0') || lpad(to_hex(s), 8, '0'),
       CASE WHEN s > 0 THEN lpad(to_hex(((t * 50 + (s - 1) / 5) * 2654435761) % 4294967296), 8, '0')
                            || lpad(to_hex((s - 1) / 5), 8, '0') END,
       kind.span_type,
       kind.name,
       timestamptz '2026-11-01 00:00:00+00' + t * interval '1 second' + s * interval '10 ms',
       timestamptz '2026-11-01 00:00:00+00' + t * interval '1 second' + s * interval '10 ms' + interval '8 ms',
       8,
       jsonb_build_object('messages', jsonb_build_array(jsonb_build_object(
           'role', 'user', 'content', 'Where is order ' || t || '? It was due last week and the tracking page is empty.'))),
       jsonb_build_object('content', 'Order ' || t || ' ships tomorrow; the tracking page updates tonight.'),
       CASE WHEN kind.span_type IN ('model_call', 'embedding') THEN 'gpt-4o' END,
       CASE WHEN kind.span_type IN ('model_call', 'embedding') THEN 'openai' END,
       CASE WHEN kind.span_type IN ('model_call', 'embedding', 'agent')
            THEN jsonb_build_object('prompt', 420, 'completion', 80, 'total', 500) END,
       CASE WHEN kind.span_type = 'model_call' THEN 0.0021 END,
       CASE WHEN s % 17 = 16 THEN 'error' ELSE 'success' END,
       jsonb_build_object('service.name', 'support-bot')
FROM generate_series($1::int8, $2::int8 - 1) AS t
CROSS JOIN generate_series(0, 49) AS s
CROSS JOIN LATERAL (
    SELECT CASE WHEN s = 0 THEN 'agent'
                WHEN s <= 5 THEN 'node'
                WHEN s <= 30 THEN (ARRAY['model_call', 'tool_call', 'mcp_call', 'embedding', 'model_call'])[1 + s % 5]
                ELSE 'tool_call' END AS span_type,
           CASE WHEN s = 0 THEN 'support-agent'
                WHEN s <= 5 THEN (ARRAY['ReasonNode', 'ToolNode', 'ResponseNode', 'ReasonNode', 'ToolNode'])[s]
                WHEN s <= 30 THEN (ARRAY['gpt-4o', 'search_web', 'fetch_tracking', 'embed', 'gpt-4o'])[1 + s % 5]
                ELSE 'lookup_order' END AS name
) AS kind
