SELECT trace_id, span_id, name, content_type, size_bytes
FROM agent.attachments
WHERE trace_id = $1
ORDER BY span_id COLLATE "C", name COLLATE "C"
