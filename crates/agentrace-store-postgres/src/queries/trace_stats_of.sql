SELECT trace_id, total_spans::int8, model_calls::int8, tool_calls::int8, mcp_calls::int8, error_spans::int8,
       prompt_tokens::int8, completion_tokens::int8, total_tokens::int8, cost_usd::float8
FROM agent.trace_stats
WHERE trace_id = ANY($1::text[])
