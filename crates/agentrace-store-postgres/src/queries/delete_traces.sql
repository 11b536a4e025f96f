-- Spans and attachments go with their trace (ON DELETE CASCADE).
DELETE FROM agent.traces WHERE trace_id = ANY($1::text[])
