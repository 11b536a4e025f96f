-- Trace Service Migration: Create attachments table
-- Version: 004
-- Date: 2026-11-28

CREATE TABLE IF NOT EXISTS agent.attachments (
    trace_id     TEXT NOT NULL REFERENCES agent.traces (trace_id) ON DELETE CASCADE,
    span_id      TEXT NOT NULL,
    name         TEXT NOT NULL CHECK (name <> ''),
    content_type TEXT NOT NULL DEFAULT 'application/octet-stream',
    size_bytes   BIGINT NOT NULL CHECK (size_bytes >= 0),
    content      BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (trace_id, span_id, name)
);

COMMENT ON TABLE agent.attachments IS
    'Files attached to a span (LangSmith attachment.<run>.<name> parts: images, audio, documents), kept as bytes beside the span.';
COMMENT ON COLUMN agent.attachments.span_id IS
    'The span the file belongs to (the LangSmith run id). Not a foreign key: the span may arrive after its attachment.';
COMMENT ON COLUMN agent.attachments.name IS
    'The client''s name for the file, unique within its span; sending the same name again replaces the file.';
COMMENT ON COLUMN agent.attachments.content_type IS
    'The MIME type the client gave, e.g. image/png.';
COMMENT ON COLUMN agent.attachments.size_bytes IS
    'octet_length(content), kept so that listings need not read the bytes.';
COMMENT ON COLUMN agent.attachments.content IS
    'The file''s bytes, exactly as received.';

-- Listing a trace's attachments reads the primary key's (trace_id, ...)
-- prefix; no other index is needed.
