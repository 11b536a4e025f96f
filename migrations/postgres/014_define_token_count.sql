-- Trace Service Migration: One definition of a token count
-- Version: 014
-- Date: 2026-11-29

-- A span's token count under a key of tokens_used counts only when it is a
-- JSON number: hand-written rows may hold anything there, and one odd row
-- must not make a sum fail. agent.trace_stats (003, 008), the trace totals
-- every write keeps (agent.trace_totals) and the query API's sums each
-- spelled that test out; they all call this function now. An SQL function
-- of one expression is inlined where it is called, so the plans stay those
-- of the expression written out.
CREATE OR REPLACE FUNCTION agent.token_count(tokens_used JSONB, token_key TEXT)
RETURNS NUMERIC
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN jsonb_typeof(tokens_used -> token_key) = 'number' THEN (tokens_used ->> token_key)::numeric END
$$;

COMMENT ON FUNCTION agent.token_count(JSONB, TEXT) IS
    'The token count under token_key of a span''s tokens_used when it is a JSON number, else NULL: '
    'agent.token_count(tokens_used, ''prompt''). Sums over spans use it, so one odd row cannot make them fail.';

-- agent.trace_stats as in 008, with its token counts through the function.
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
        SELECT s.span_type,
               s.status,
               s.cost_usd,
               s.span_type IN ('model_call', 'embedding') AS billed,
               agent.token_count(s.tokens_used, 'prompt') AS prompt,
               agent.token_count(s.tokens_used, 'completion') AS completion,
               agent.token_count(s.tokens_used, 'total') AS total
        FROM agent.spans s
        WHERE s.trace_id = t.trace_id
    ) AS usage
) AS totals
-- A session's traces in the order they ran (same order on SQLite).
ORDER BY t.start_time NULLS LAST, t.trace_id COLLATE "C";
