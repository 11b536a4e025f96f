-- The touched traces' extents, for their derived fields, and their totals
-- (agent.trace_totals), from the same read of their spans. A totals row
-- that would not change is left alone.
WITH totals AS MATERIALIZED (
    SELECT s.trace_id,
           min(s.start_time) AS earliest_start,
           max(s.end_time) AS latest_end,
           count(*) AS total_spans,
           count(*) FILTER (WHERE s.span_type = 'model_call') AS model_calls,
           count(*) FILTER (WHERE s.span_type = 'tool_call') AS tool_calls,
           count(*) FILTER (WHERE s.span_type = 'mcp_call') AS mcp_calls,
           count(*) FILTER (WHERE s.status = 'error') AS error_spans,
           -- As agent.trace_stats counts them.
           COALESCE(sum(usage.prompt) FILTER (WHERE usage.billed), 0) AS prompt_tokens,
           COALESCE(sum(usage.completion) FILTER (WHERE usage.billed), 0) AS completion_tokens,
           COALESCE(sum(COALESCE(usage.total, COALESCE(usage.prompt, 0) + COALESCE(usage.completion, 0)))
                        FILTER (WHERE usage.billed), 0) AS total_tokens,
           sum(s.cost_usd) FILTER (WHERE usage.billed) AS cost_usd
    FROM agent.spans s
    CROSS JOIN LATERAL (
        SELECT s.span_type IN ('model_call', 'embedding') AS billed,
               agent.token_count(s.tokens_used, 'prompt') AS prompt,
               agent.token_count(s.tokens_used, 'completion') AS completion,
               agent.token_count(s.tokens_used, 'total') AS total
    ) AS usage
    WHERE s.trace_id = ANY($1::text[])
    GROUP BY s.trace_id
), kept AS (
    INSERT INTO agent.trace_totals AS kept (trace_id, total_spans, model_calls, tool_calls, mcp_calls, error_spans,
                                            prompt_tokens, completion_tokens, total_tokens, cost_usd)
    SELECT trace_id, total_spans, model_calls, tool_calls, mcp_calls, error_spans,
           prompt_tokens, completion_tokens, total_tokens, cost_usd
    FROM totals
    ORDER BY trace_id
    ON CONFLICT (trace_id) DO UPDATE SET
        total_spans = EXCLUDED.total_spans,
        model_calls = EXCLUDED.model_calls,
        tool_calls = EXCLUDED.tool_calls,
        mcp_calls = EXCLUDED.mcp_calls,
        error_spans = EXCLUDED.error_spans,
        prompt_tokens = EXCLUDED.prompt_tokens,
        completion_tokens = EXCLUDED.completion_tokens,
        total_tokens = EXCLUDED.total_tokens,
        cost_usd = EXCLUDED.cost_usd
    WHERE (kept.total_spans, kept.model_calls, kept.tool_calls, kept.mcp_calls, kept.error_spans, kept.prompt_tokens,
           kept.completion_tokens, kept.total_tokens, kept.cost_usd)
          IS DISTINCT FROM
          (EXCLUDED.total_spans, EXCLUDED.model_calls, EXCLUDED.tool_calls, EXCLUDED.mcp_calls, EXCLUDED.error_spans,
           EXCLUDED.prompt_tokens, EXCLUDED.completion_tokens, EXCLUDED.total_tokens, EXCLUDED.cost_usd)
)
SELECT trace_id, earliest_start, latest_end
FROM totals
