SELECT trace_id, min(start_time), max(end_time)
FROM agent.spans
WHERE trace_id = ANY($1::text[])
GROUP BY trace_id
