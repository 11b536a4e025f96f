-- Trace Service Migration: Trace cost unknown, not zero
-- Version: 008
-- Date: 2026-11-28

-- As migrations/postgres/008: agent.trace_stats.cost_usd is NULL, not 0,
-- when no model_call or embedding span of the trace has a known cost (a
-- model missing from the price table is unpriced, not free). The view is
-- otherwise that of 003.
DROP VIEW IF EXISTS agent.trace_stats;
CREATE VIEW agent.trace_stats AS
SELECT t.trace_id,
       t.session_id,
       t.user_id,
       t.project,
       t.name,
       t.start_time,
       t.end_time,
       t.duration_ms AS total_duration_ms,
       t.status,
       json_extract(totals.value, '$[0]') AS total_spans,
       json_extract(totals.value, '$[1]') AS model_calls,
       json_extract(totals.value, '$[2]') AS tool_calls,
       json_extract(totals.value, '$[3]') AS mcp_calls,
       json_extract(totals.value, '$[4]') AS error_spans,
       json_extract(totals.value, '$[5]') AS prompt_tokens,
       json_extract(totals.value, '$[6]') AS completion_tokens,
       json_extract(totals.value, '$[7]') AS total_tokens,
       json_extract(totals.value, '$[8]') AS cost_usd,
       t.created_at
FROM traces t
CROSS JOIN json_each((
    SELECT json_array(json_array(
               count(*),
               count(*) FILTER (WHERE usage.span_type = 'model_call'),
               count(*) FILTER (WHERE usage.span_type = 'tool_call'),
               count(*) FILTER (WHERE usage.span_type = 'mcp_call'),
               count(*) FILTER (WHERE usage.status = 'error'),
               CAST(coalesce(sum(usage.prompt) FILTER (WHERE usage.billed), 0) AS INTEGER),
               CAST(coalesce(sum(usage.completion) FILTER (WHERE usage.billed), 0) AS INTEGER),
               CAST(coalesce(sum(coalesce(usage.total, coalesce(usage.prompt, 0) + coalesce(usage.completion, 0)))
                                 FILTER (WHERE usage.billed), 0) AS INTEGER),
               sum(usage.cost_usd) FILTER (WHERE usage.billed)))
    FROM (
        SELECT s.span_type,
               s.status,
               s.cost_usd,
               s.span_type IN ('model_call', 'embedding') AS billed,
               CASE WHEN json_type(s.tokens_used, '$.prompt') IN ('integer', 'real')
                    THEN json_extract(s.tokens_used, '$.prompt') END AS prompt,
               CASE WHEN json_type(s.tokens_used, '$.completion') IN ('integer', 'real')
                    THEN json_extract(s.tokens_used, '$.completion') END AS completion,
               CASE WHEN json_type(s.tokens_used, '$.total') IN ('integer', 'real')
                    THEN json_extract(s.tokens_used, '$.total') END AS total
        FROM spans s
        WHERE s.trace_id = t.trace_id
    ) AS usage
)) AS totals
ORDER BY t.start_time NULLS LAST, t.trace_id;
