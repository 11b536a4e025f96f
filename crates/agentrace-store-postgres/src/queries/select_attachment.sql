SELECT trace_id, span_id, name, content_type, content
FROM agent.attachments
WHERE trace_id = $1 AND span_id = $2 AND name = $3
