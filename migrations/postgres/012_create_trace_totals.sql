-- Trace Service Migration: Create trace totals
-- Version: 012
-- Date: 2026-11-29

-- The trace list shows each trace with its span counts, tokens and cost.
-- agent.trace_stats computes them from the spans, which for a page of 50
-- traces means reading 2,500 span rows from all over the table: 2-3 ms at
-- a million spans, most of what a filtered page costs. agentrace's writes
-- already read the spans of each trace they touch (for its start and end),
-- so they keep the same figures here, one narrow row per trace, and the
-- list reads 50 rows by key instead.
--
-- agent.trace_stats stays the definition, computed from the spans; this
-- table holds the same figures for every trace written through agentrace.
-- Spans inserted by hand with SQL are counted here only once agentrace
-- next writes their trace, as the trace row's derived fields are.
CREATE TABLE IF NOT EXISTS agent.trace_totals (
    trace_id          TEXT PRIMARY KEY REFERENCES agent.traces (trace_id) ON DELETE CASCADE,
    total_spans       BIGINT NOT NULL,
    model_calls       BIGINT NOT NULL,
    tool_calls        BIGINT NOT NULL,
    mcp_calls         BIGINT NOT NULL,
    error_spans       BIGINT NOT NULL,
    prompt_tokens     NUMERIC NOT NULL,
    completion_tokens NUMERIC NOT NULL,
    total_tokens      NUMERIC NOT NULL,
    cost_usd          NUMERIC
);

COMMENT ON TABLE agent.trace_totals IS
    'Per trace with spans, the figures agent.trace_stats computes from them, kept by agentrace as it writes the '
    'trace''s spans (the trace list reads them). A trace without spans has no row.';
COMMENT ON COLUMN agent.trace_totals.prompt_tokens IS
    'As agent.trace_stats.prompt_tokens: over model_call and embedding spans only. NUMERIC, so that no sum overflows a write.';
COMMENT ON COLUMN agent.trace_totals.total_tokens IS
    'As agent.trace_stats.total_tokens: tokens_used.total, else prompt + completion, over model_call and embedding spans.';
COMMENT ON COLUMN agent.trace_totals.cost_usd IS
    'As agent.trace_stats.cost_usd: NULL when no model_call or embedding span of the trace has a known cost.';

-- Traces stored before this migration.
INSERT INTO agent.trace_totals (trace_id, total_spans, model_calls, tool_calls, mcp_calls, error_spans,
                                prompt_tokens, completion_tokens, total_tokens, cost_usd)
SELECT s.trace_id,
       count(*),
       count(*) FILTER (WHERE s.span_type = 'model_call'),
       count(*) FILTER (WHERE s.span_type = 'tool_call'),
       count(*) FILTER (WHERE s.span_type = 'mcp_call'),
       count(*) FILTER (WHERE s.status = 'error'),
       COALESCE(sum(usage.prompt) FILTER (WHERE usage.billed), 0),
       COALESCE(sum(usage.completion) FILTER (WHERE usage.billed), 0),
       COALESCE(sum(COALESCE(usage.total, COALESCE(usage.prompt, 0) + COALESCE(usage.completion, 0)))
                    FILTER (WHERE usage.billed), 0),
       sum(s.cost_usd) FILTER (WHERE usage.billed)
FROM agent.spans s
CROSS JOIN LATERAL (
    SELECT s.span_type IN ('model_call', 'embedding') AS billed,
           CASE WHEN jsonb_typeof(s.tokens_used -> 'prompt') = 'number'
                THEN (s.tokens_used ->> 'prompt')::numeric END AS prompt,
           CASE WHEN jsonb_typeof(s.tokens_used -> 'completion') = 'number'
                THEN (s.tokens_used ->> 'completion')::numeric END AS completion,
           CASE WHEN jsonb_typeof(s.tokens_used -> 'total') = 'number'
                THEN (s.tokens_used ->> 'total')::numeric END AS total
) AS usage
GROUP BY s.trace_id
ON CONFLICT (trace_id) DO NOTHING;
