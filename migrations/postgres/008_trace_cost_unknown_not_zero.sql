-- Trace Service Migration: Trace cost unknown, not zero
-- Version: 008
-- Date: 2026-11-28

-- agent.trace_stats.cost_usd was 0 for a trace none of whose model calls
-- had a cost: a model missing from the price table read as free. It is now
-- NULL when no model_call or embedding span of the trace has a known cost,
-- as the query API's sums are; the view is otherwise unchanged (003).
CREATE OR REPLACE VIEW agent.trace_stats AS
SELECT t.trace_id,
       t.session_id,
       t.user_id,
       t.project,
       t.name,
       t.start_time,
       t.end_time,
       t.duration_ms AS total_duration_ms,
       t.status,
       totals.total_spans,
       totals.model_calls,
       totals.tool_calls,
       totals.mcp_calls,
       totals.error_spans,
       totals.prompt_tokens,
       totals.completion_tokens,
       totals.total_tokens,
       totals.cost_usd,
       t.created_at
FROM agent.traces t
CROSS JOIN LATERAL (
    SELECT count(*) AS total_spans,
           count(*) FILTER (WHERE usage.span_type = 'model_call') AS model_calls,
           count(*) FILTER (WHERE usage.span_type = 'tool_call') AS tool_calls,
           count(*) FILTER (WHERE usage.span_type = 'mcp_call') AS mcp_calls,
           count(*) FILTER (WHERE usage.status = 'error') AS error_spans,
           COALESCE(sum(usage.prompt) FILTER (WHERE usage.billed), 0)::bigint AS prompt_tokens,
           COALESCE(sum(usage.completion) FILTER (WHERE usage.billed), 0)::bigint AS completion_tokens,
           COALESCE(sum(COALESCE(usage.total, COALESCE(usage.prompt, 0) + COALESCE(usage.completion, 0)))
                        FILTER (WHERE usage.billed), 0)::bigint AS total_tokens,
           sum(usage.cost_usd) FILTER (WHERE usage.billed) AS cost_usd
    FROM (
        -- Hand-written rows may hold anything in tokens_used; only JSON
        -- numbers count, so one odd row cannot make the view fail.
        SELECT s.span_type,
               s.status,
               s.cost_usd,
               s.span_type IN ('model_call', 'embedding') AS billed,
               CASE WHEN jsonb_typeof(s.tokens_used -> 'prompt') = 'number'
                    THEN (s.tokens_used ->> 'prompt')::numeric END AS prompt,
               CASE WHEN jsonb_typeof(s.tokens_used -> 'completion') = 'number'
                    THEN (s.tokens_used ->> 'completion')::numeric END AS completion,
               CASE WHEN jsonb_typeof(s.tokens_used -> 'total') = 'number'
                    THEN (s.tokens_used ->> 'total')::numeric END AS total
        FROM agent.spans s
        WHERE s.trace_id = t.trace_id
    ) AS usage
) AS totals
-- A session's traces in the order they ran (same order on SQLite).
ORDER BY t.start_time NULLS LAST, t.trace_id COLLATE "C";

COMMENT ON COLUMN agent.trace_stats.cost_usd IS
    'Sum of cost_usd over model_call and embedding spans only; NULL when none of them has a known cost '
    '(a model missing from the price table is unpriced, not free).';
