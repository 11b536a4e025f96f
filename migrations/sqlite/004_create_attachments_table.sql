-- Trace Service Migration: Create attachments table
-- Version: 004
-- Date: 2026-11-28

-- Mirrors agent.attachments of migrations/postgres/004: content is a BLOB,
-- timestamps are TEXT in the fixed-width UTC form. A plain rowid table:
-- attachments can be megabytes, which WITHOUT ROWID tables store poorly.

CREATE TABLE IF NOT EXISTS agent.attachments (
    trace_id     TEXT NOT NULL REFERENCES traces (trace_id) ON DELETE CASCADE,
    -- Not a foreign key: the span may arrive after its attachment.
    span_id      TEXT NOT NULL,
    name         TEXT NOT NULL CHECK (name <> ''),
    content_type TEXT NOT NULL DEFAULT 'application/octet-stream',
    size_bytes   INTEGER NOT NULL CHECK (size_bytes >= 0),
    content      BLOB NOT NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (trace_id, span_id, name)
) STRICT;
