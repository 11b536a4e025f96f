INSERT INTO agent.attachments (trace_id, span_id, name, content_type, size_bytes, content, created_at, updated_at)
SELECT trace_id, span_id, name, content_type, octet_length(content), content, now(), now()
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[])
     AS incoming(trace_id, span_id, name, content_type, content)
ON CONFLICT (trace_id, span_id, name) DO UPDATE SET
    content_type = EXCLUDED.content_type,
    size_bytes = EXCLUDED.size_bytes,
    content = EXCLUDED.content,
    updated_at = now()
