-- Trace Service Migration: Create query indexes
-- Version: 006
-- Date: 2026-11-28

-- The indexes the query API's filters and sorts need beyond those of 001
-- and 002, and free-text search over each trace's input, output and error.

-- pg_trgm is a trusted extension (PostgreSQL 13 and later): a role with
-- CREATE on the database may install it. It goes into the first schema of
-- the search path, as usual, unless that schema is not writable for this
-- role (PostgreSQL 15 no longer lets every role create in public): then into
-- agent, where agentrace's role always may create. Installed already, it
-- stays where it is; the index below names its operator class wherever
-- that is.
DO $agentrace$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        IF current_schema() IS NOT NULL AND has_schema_privilege(current_schema(), 'CREATE') THEN
            CREATE EXTENSION pg_trgm;
        ELSE
            CREATE EXTENSION pg_trgm SCHEMA agent;
        END IF;
    END IF;
END
$agentrace$;

-- The text free-text search reads: the JSON text of input and output and
-- the error, one per line.
CREATE OR REPLACE FUNCTION agent.trace_search_text(input JSONB, output JSONB, error TEXT)
RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce(input::text, '') || E'\n' || coalesce(output::text, '') || E'\n' || coalesce(error, '') $$;

COMMENT ON FUNCTION agent.trace_search_text(JSONB, JSONB, TEXT) IS
    'The text free-text search matches: input and output as JSON text, then error, one per line. '
    'Indexed by traces_search_idx: WHERE agent.trace_search_text(input, output, error) ILIKE ''%paris%'' uses it.';

DO $agentrace$
DECLARE
    trgm_schema TEXT := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                         WHERE e.extname = 'pg_trgm');
BEGIN
    EXECUTE format(
        'CREATE INDEX IF NOT EXISTS traces_search_idx ON agent.traces '
        'USING gin (agent.trace_search_text(input, output, error) %I.gin_trgm_ops)',
        trgm_schema);
END
$agentrace$;

COMMENT ON INDEX agent.traces_search_idx IS
    'Trigrams of agent.trace_search_text(input, output, error): case-insensitive substring search with ILIKE.';

-- Tags and metadata: GIN, for tags @> ARRAY['beta'] and
-- metadata @> '{"region": "eu"}'. jsonb_path_ops indexes containment only,
-- in about half the space of the default operator class.
CREATE INDEX IF NOT EXISTS traces_tags_idx ON agent.traces USING gin (tags);
CREATE INDEX IF NOT EXISTS traces_metadata_idx ON agent.traces USING gin (metadata jsonb_path_ops);

COMMENT ON INDEX agent.traces_tags_idx IS 'Traces by tag: WHERE tags @> ARRAY[''beta''].';
COMMENT ON INDEX agent.traces_metadata_idx IS 'Traces by metadata: WHERE metadata @> ''{"region": "eu"}''.';

-- The slowest (or fastest) traces first. A trace's duration is set when it
-- ends, together with its status, whose index already takes that update
-- out of the heap-only path: this index adds no index writes of its own to
-- other updates.
CREATE INDEX IF NOT EXISTS traces_duration_idx ON agent.traces (duration_ms DESC);

COMMENT ON INDEX agent.traces_duration_idx IS 'Traces by duration, for ORDER BY duration_ms.';

-- Traces without a start time (only attachments or feedback so far, or
-- spans that sent none): listed after all others in trace id order (byte
-- order), and deleted by retention by when they were stored. Few rows.
CREATE INDEX IF NOT EXISTS traces_unstarted_idx ON agent.traces (trace_id COLLATE "C") WHERE start_time IS NULL;

COMMENT ON INDEX agent.traces_unstarted_idx IS
    'Traces without a start time, by trace id in byte order: the end of every trace listing.';

-- A trace's failed spans: the has_error filter asks, for each trace, whether
-- one exists. Only failed spans have an entry, so the index stays small.
CREATE INDEX IF NOT EXISTS spans_error_trace_idx ON agent.spans (trace_id) WHERE status = 'error';

COMMENT ON INDEX agent.spans_error_trace_idx IS 'The spans with status error, by trace: does this trace have a failed span?';
