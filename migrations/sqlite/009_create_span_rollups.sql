-- Trace Service Migration: Span rollups for statistics
-- Version: 009
-- Date: 2026-11-28

-- Mirrors agent.span_rollups and agent.span_rollup_changes of
-- migrations/postgres/009 with SQLite types: bucket_start TEXT in the fixed
-- form YYYY-MM-DDTHH:MM:00.000000Z, token sums and cost_usd REAL,
-- latency_sketch a BLOB in the same encoding. agentrace recomputes noted
-- minutes in the background and, until it has, reads their spans directly,
-- so statistics always match the spans.

CREATE TABLE IF NOT EXISTS agent.span_rollups (
    grain             TEXT NOT NULL CHECK (grain IN ('minute', 'hour')),
    bucket_start      TEXT NOT NULL,
    project           TEXT,
    span_type         TEXT NOT NULL,
    model             TEXT,
    span_count        INTEGER NOT NULL,
    error_count       INTEGER NOT NULL,
    -- Tokens of model_call and embedding spans, as agent.trace_stats counts
    -- them (total falls back to prompt + completion).
    prompt_tokens     REAL NOT NULL,
    completion_tokens REAL NOT NULL,
    total_tokens      REAL NOT NULL,
    -- The sum of the known costs of model_call and embedding spans; NULL
    -- when none is known.
    cost_usd          REAL,
    -- model_call and embedding spans with a model and tokens but no cost.
    unpriced_count    INTEGER NOT NULL,
    -- Histogram of duration_ms: per bucket a 2-byte little-endian key and a
    -- LEB128 count, in key order. Keys below 1000 are exact milliseconds
    -- (0-127); key 1000 + i holds durations in (1.02^(i-1), 1.02^i].
    latency_sketch    BLOB NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS agent.span_rollups_bucket_idx ON span_rollups (grain, bucket_start);

-- SQLite has a single writer, so the notes need not be append-only as on
-- PostgreSQL (where concurrent ingest transactions must not wait on each
-- other): one row per minute is enough, and a refresh, holding the write
-- lock, deletes exactly the minutes it recomputed. noted_at is the time of
-- the minute's latest change (PostgreSQL's max(noted_at)): a minute still
-- being written to is recomputed once it has been quiet for a moment, not
-- after every write. It has the form of the created_at columns.
CREATE TABLE IF NOT EXISTS agent.span_rollup_changes (
    minute   TEXT NOT NULL PRIMARY KEY,
    noted_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT, WITHOUT ROWID;

-- Row-level: SQLite has no transition tables. A minute noted before gets a
-- new noted_at through an upsert clause: INSERT OR IGNORE or OR REPLACE
-- would not do, as SQLite replaces a trigger's conflict policy with that of
-- the statement firing it, and the store's span upsert would then fail on
-- a minute noted twice. The minute of a fixed-form timestamp is its first
-- 16 characters (YYYY-MM-DDTHH:MM), spelled in the same fixed form as
-- bucket_start.
CREATE TRIGGER IF NOT EXISTS agent.spans_rollup_insert AFTER INSERT ON spans
WHEN new.start_time IS NOT NULL
BEGIN
    INSERT INTO span_rollup_changes (minute) VALUES (substr(new.start_time, 1, 16) || ':00.000000Z')
    ON CONFLICT (minute) DO UPDATE SET noted_at = excluded.noted_at;
END;

CREATE TRIGGER IF NOT EXISTS agent.spans_rollup_update AFTER UPDATE ON spans
BEGIN
    INSERT INTO span_rollup_changes (minute)
    SELECT substr(old.start_time, 1, 16) || ':00.000000Z' WHERE old.start_time IS NOT NULL
    ON CONFLICT (minute) DO UPDATE SET noted_at = excluded.noted_at;
    INSERT INTO span_rollup_changes (minute)
    SELECT substr(new.start_time, 1, 16) || ':00.000000Z' WHERE new.start_time IS NOT NULL
    ON CONFLICT (minute) DO UPDATE SET noted_at = excluded.noted_at;
END;

-- Also fires for the spans a trace's deletion takes with it (ON DELETE
-- CASCADE).
CREATE TRIGGER IF NOT EXISTS agent.spans_rollup_delete AFTER DELETE ON spans
WHEN old.start_time IS NOT NULL
BEGIN
    INSERT INTO span_rollup_changes (minute) VALUES (substr(old.start_time, 1, 16) || ':00.000000Z')
    ON CONFLICT (minute) DO UPDATE SET noted_at = excluded.noted_at;
END;

-- Rollups are kept by the trace's project: a trace whose project changes
-- (its spans arrived first) changes the rows of all its spans.
CREATE TRIGGER IF NOT EXISTS agent.traces_rollup_project AFTER UPDATE OF project ON traces
WHEN old.project IS NOT new.project
BEGIN
    INSERT INTO span_rollup_changes (minute)
    SELECT DISTINCT substr(start_time, 1, 16) || ':00.000000Z'
    FROM spans WHERE trace_id = new.trace_id AND start_time IS NOT NULL
    ON CONFLICT (minute) DO UPDATE SET noted_at = excluded.noted_at;
END;

-- Spans stored before this migration: their minutes wait for their rollups.
-- OR IGNORE, so that running the file again keeps the times of the notes.
INSERT OR IGNORE INTO agent.span_rollup_changes (minute)
SELECT DISTINCT substr(start_time, 1, 16) || ':00.000000Z'
FROM agent.spans WHERE start_time IS NOT NULL;
