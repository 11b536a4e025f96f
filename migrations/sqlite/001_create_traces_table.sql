-- Trace Service Migration: Create traces table
-- Version: 001
-- Date: 2026-11-28

-- The database file is attached as `agent`: names are qualified here so the
-- objects land in the file, never in the connection's main database.
-- Timestamps are TEXT in the fixed-width UTC form YYYY-MM-DDTHH:MM:SS.ffffffZ
-- (always six fractional digits), so that text order is time order.
-- JSON columns hold JSON text; tags is a JSON array of strings.

CREATE TABLE IF NOT EXISTS agent.traces (
    trace_id    TEXT NOT NULL PRIMARY KEY CHECK (trace_id <> ''),
    session_id  TEXT NOT NULL,
    user_id     TEXT,
    project     TEXT NOT NULL DEFAULT 'default',
    name        TEXT,
    start_time  TEXT,
    end_time    TEXT,
    duration_ms INTEGER,
    input       TEXT CHECK (input IS NULL OR json_valid(input)),
    output      TEXT CHECK (output IS NULL OR json_valid(output)),
    status      TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'success', 'error')),
    error       TEXT,
    metadata    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    tags        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    -- Fields the client sent explicitly, never overwritten by values derived
    -- from spans: 1 session_id, 2 user_id, 4 name, 8 start_time, 16 end_time,
    -- 32 input, 64 output, 128 status and error, 256 project.
    sent_fields INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- SQLite reads an index in either direction, so these match the
-- PostgreSQL (…, start_time DESC) indexes for newest-first listings.
CREATE INDEX IF NOT EXISTS agent.traces_session_start_idx ON traces (session_id, start_time DESC);
CREATE INDEX IF NOT EXISTS agent.traces_user_start_idx ON traces (user_id, start_time DESC) WHERE user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS agent.traces_status_start_idx ON traces (status, start_time DESC);
CREATE INDEX IF NOT EXISTS agent.traces_start_idx ON traces (start_time DESC);
CREATE INDEX IF NOT EXISTS agent.traces_project_start_idx ON traces (project, start_time DESC);
