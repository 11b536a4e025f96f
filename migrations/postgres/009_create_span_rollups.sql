-- Trace Service Migration: Span rollups for statistics
-- Version: 009
-- Date: 2026-11-28

-- Statistics over a day of a busy deployment would otherwise read hundreds
-- of thousands of spans. agent.span_rollups keeps, per minute and per hour
-- and per (project, span type, model), what those statistics add up;
-- agent.span_rollup_changes notes the minutes whose spans changed since.
-- agentrace recomputes noted minutes in the background and, until it has,
-- reads their spans directly, so statistics always match the spans.

CREATE TABLE IF NOT EXISTS agent.span_rollups (
    grain             TEXT NOT NULL CHECK (grain IN ('minute', 'hour')),
    bucket_start      TIMESTAMPTZ NOT NULL,
    project           TEXT,
    span_type         TEXT NOT NULL,
    model             TEXT,
    span_count        BIGINT NOT NULL,
    error_count       BIGINT NOT NULL,
    prompt_tokens     NUMERIC NOT NULL,
    completion_tokens NUMERIC NOT NULL,
    total_tokens      NUMERIC NOT NULL,
    cost_usd          NUMERIC,
    unpriced_count    BIGINT NOT NULL,
    latency_sketch    BYTEA NOT NULL
);

CREATE INDEX IF NOT EXISTS span_rollups_bucket_idx ON agent.span_rollups (grain, bucket_start);

COMMENT ON TABLE agent.span_rollups IS
    'Span statistics per minute and per hour (UTC) and per (project, span_type, model): one row per group with spans. '
    'A bucket listed in agent.span_rollup_changes may be out of date; agentrace reads its spans instead.';
COMMENT ON COLUMN agent.span_rollups.grain IS 'minute or hour: the width of the bucket starting at bucket_start.';
COMMENT ON COLUMN agent.span_rollups.project IS 'The project of the spans'' trace.';
COMMENT ON COLUMN agent.span_rollups.error_count IS 'Spans with status error.';
COMMENT ON COLUMN agent.span_rollups.prompt_tokens IS
    'Tokens of model_call and embedding spans, as agent.trace_stats counts them (total falls back to prompt + completion).';
COMMENT ON COLUMN agent.span_rollups.cost_usd IS 'The sum of the known costs of model_call and embedding spans; NULL when none is known.';
COMMENT ON COLUMN agent.span_rollups.unpriced_count IS
    'model_call and embedding spans with a model and tokens but no cost (the model is missing from the price table).';
COMMENT ON COLUMN agent.span_rollups.latency_sketch IS
    'Histogram of duration_ms: per bucket a 2-byte little-endian key and a LEB128 count, in key order. '
    'Keys below 1000 are exact milliseconds (0-127); key 1000 + i holds durations in (1.02^(i-1), 1.02^i].';

CREATE TABLE IF NOT EXISTS agent.span_rollup_changes (
    change_id BIGSERIAL PRIMARY KEY,
    minute    TIMESTAMPTZ NOT NULL,
    noted_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS span_rollup_changes_minute_idx ON agent.span_rollup_changes (minute);

COMMENT ON TABLE agent.span_rollup_changes IS
    'Minutes (UTC) whose spans changed after their rollups were computed; a minute may be listed more than once. '
    'Append-only for writers, so that concurrent ingest transactions never wait on each other here.';
COMMENT ON COLUMN agent.span_rollup_changes.noted_at IS
    'When the change was written: a minute still being written to is recomputed once it has been quiet for a moment, not after every write.';

-- Statement-level, with transition tables: one insert per ingest statement,
-- not one per span.
CREATE OR REPLACE FUNCTION agent.note_span_rollup_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO agent.span_rollup_changes (minute)
        SELECT DISTINCT date_trunc('minute', start_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        FROM new_spans WHERE start_time IS NOT NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO agent.span_rollup_changes (minute)
        SELECT date_trunc('minute', start_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        FROM new_spans WHERE start_time IS NOT NULL
        UNION
        SELECT date_trunc('minute', start_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        FROM old_spans WHERE start_time IS NOT NULL;
    ELSE
        INSERT INTO agent.span_rollup_changes (minute)
        SELECT DISTINCT date_trunc('minute', start_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        FROM old_spans WHERE start_time IS NOT NULL;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER spans_rollup_insert AFTER INSERT ON agent.spans
    REFERENCING NEW TABLE AS new_spans FOR EACH STATEMENT EXECUTE FUNCTION agent.note_span_rollup_changes();
CREATE OR REPLACE TRIGGER spans_rollup_update AFTER UPDATE ON agent.spans
    REFERENCING OLD TABLE AS old_spans NEW TABLE AS new_spans FOR EACH STATEMENT EXECUTE FUNCTION agent.note_span_rollup_changes();
CREATE OR REPLACE TRIGGER spans_rollup_delete AFTER DELETE ON agent.spans
    REFERENCING OLD TABLE AS old_spans FOR EACH STATEMENT EXECUTE FUNCTION agent.note_span_rollup_changes();

-- Rollups are kept by the trace's project: a trace whose project changes
-- (its spans arrived first) changes the rows of all its spans.
CREATE OR REPLACE FUNCTION agent.note_trace_project_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agent.span_rollup_changes (minute)
    SELECT DISTINCT date_trunc('minute', start_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
    FROM agent.spans WHERE trace_id = NEW.trace_id AND start_time IS NOT NULL;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER traces_rollup_project AFTER UPDATE OF project ON agent.traces
    FOR EACH ROW WHEN (OLD.project IS DISTINCT FROM NEW.project) EXECUTE FUNCTION agent.note_trace_project_change();

-- Spans stored before this migration: their minutes wait for their rollups.
INSERT INTO agent.span_rollup_changes (minute)
SELECT DISTINCT date_trunc('minute', start_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
FROM agent.spans WHERE start_time IS NOT NULL;
