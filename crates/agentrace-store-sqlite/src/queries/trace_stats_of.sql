SELECT trace_id, total_spans, model_calls, tool_calls, mcp_calls, error_spans, prompt_tokens, completion_tokens,
       total_tokens, cost_usd
FROM agent.trace_stats
WHERE trace_id IN (SELECT value FROM json_each(?1))
