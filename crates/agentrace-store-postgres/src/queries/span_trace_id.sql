SELECT trace_id
FROM agent.spans
WHERE span_id = $1
ORDER BY trace_id COLLATE "C"
LIMIT 1
