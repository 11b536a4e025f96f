SELECT trace_id, session_id, user_id, project, name, start_time, end_time, duration_ms,
       input, output, status, error, metadata, tags, sent_fields
FROM agent.traces
WHERE trace_id = ANY($1::text[])
ORDER BY trace_id COLLATE "C"
FOR NO KEY UPDATE
