-- Trace Service Migration: Key spans by id and trace
-- Version: 013
-- Date: 2026-11-29

-- Since 011 agent.spans carried two B-trees of the same two columns: the
-- primary key (trace_id, span_id) and spans_span_id_trace_idx (span_id,
-- trace_id), about 100 bytes a span each, and every span written went into
-- both. The primary key is now (span_id, trace_id) and the second index is
-- gone. What each served is still served:
-- - a span by (trace_id, span_id), the write's merge lookup and upsert
--   (ON CONFLICT (trace_id, span_id) infers the key whatever its column
--   order): both columns match the key;
-- - a span by id alone (LangSmith PATCH /runs/{id}, OTLP links): the key's
--   first column;
-- - a trace's spans by trace_id: spans_trace_parent_idx (trace_id,
--   parent_span_id), as the views and the store already read them.
-- Run again, it finds the key already in this order and changes nothing.
DO $agentrace$
BEGIN
    IF (SELECT a.attname
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.conrelid = 'agent.spans'::regclass AND c.contype = 'p') = 'trace_id' THEN
        CREATE UNIQUE INDEX spans_id_trace_key ON agent.spans (span_id, trace_id);
        ALTER TABLE agent.spans
            DROP CONSTRAINT spans_pkey,
            ADD CONSTRAINT spans_pkey PRIMARY KEY USING INDEX spans_id_trace_key;
        DROP INDEX IF EXISTS agent.spans_span_id_trace_idx;
    END IF;
END
$agentrace$;

COMMENT ON INDEX agent.spans_pkey IS
    'Spans by (span_id, trace_id): the write''s merge lookup and upsert, and a span by id alone '
    '(LangSmith PATCH /runs/{id}, OTLP links).';
