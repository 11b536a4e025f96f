SELECT feedback_id, trace_id, span_id, key, score, value, comment, correction, source, metadata, created_at
FROM agent.feedback
WHERE trace_id = $1
   OR (trace_id IS NULL AND span_id IN (SELECT span_id FROM agent.spans WHERE trace_id = $1))
ORDER BY created_at, feedback_id COLLATE "C"
