-- The trace list's figures: agent.trace_totals, which agentrace keeps as it
-- writes, holds what agent.trace_stats would compute from the spans. A
-- trace without spans has no row, and its figures are zeros.
SELECT trace_id, total_spans, model_calls, tool_calls, mcp_calls, error_spans,
       prompt_tokens::int8, completion_tokens::int8, total_tokens::int8, cost_usd::float8
FROM agent.trace_totals
WHERE trace_id = ANY($1::text[])
