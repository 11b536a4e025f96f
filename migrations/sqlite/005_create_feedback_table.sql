-- Trace Service Migration: Create feedback table
-- Version: 005
-- Date: 2026-11-28

-- Mirrors agent.feedback of migrations/postgres/005 with SQLite types: JSON
-- as text, score REAL, TEXT timestamps (YYYY-MM-DDTHH:MM:SS.ffffffZ).
-- trace_id is not a foreign key: feedback is often sent before its trace.

CREATE TABLE IF NOT EXISTS agent.feedback (
    feedback_id TEXT NOT NULL PRIMARY KEY CHECK (feedback_id <> ''),
    trace_id    TEXT,
    span_id     TEXT,
    key         TEXT NOT NULL,
    score       REAL,
    value       TEXT CHECK (value IS NULL OR json_valid(value)),
    comment     TEXT,
    correction  TEXT CHECK (correction IS NULL OR json_valid(correction)),
    source      TEXT CHECK (source IS NULL OR json_valid(source)),
    metadata    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE INDEX IF NOT EXISTS agent.feedback_trace_idx ON feedback (trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS agent.feedback_span_idx ON feedback (span_id) WHERE span_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS agent.feedback_key_created_idx ON feedback (key, created_at DESC);
