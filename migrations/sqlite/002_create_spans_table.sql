-- Trace Service Migration: Create spans table
-- Version: 002
-- Date: 2026-11-28

-- Mirrors agent.spans of migrations/postgres/002 with SQLite types: TEXT
-- timestamps (YYYY-MM-DDTHH:MM:SS.ffffffZ), JSON as text, cost_usd REAL.
-- A plain rowid table rather than WITHOUT ROWID: input and output can be
-- megabytes, which WITHOUT ROWID tables store poorly.

CREATE TABLE IF NOT EXISTS agent.spans (
    trace_id       TEXT NOT NULL REFERENCES traces (trace_id) ON DELETE CASCADE,
    span_id        TEXT NOT NULL,
    parent_span_id TEXT,
    span_type      TEXT NOT NULL DEFAULT 'custom' CHECK (span_type IN (
                       'agent', 'node', 'chain', 'model_call', 'embedding', 'tool_call', 'mcp_call',
                       'retriever', 'guardrail', 'evaluator', 'custom')),
    name           TEXT NOT NULL DEFAULT '',
    start_time     TEXT,
    end_time       TEXT,
    duration_ms    INTEGER,
    input          TEXT CHECK (input IS NULL OR json_valid(input)),
    output         TEXT CHECK (output IS NULL OR json_valid(output)),
    model          TEXT,
    provider       TEXT,
    -- {"prompt": n, "completion": n, "total": n} plus optional cache_read,
    -- cache_creation and reasoning.
    tokens_used    TEXT CHECK (tokens_used IS NULL OR json_valid(tokens_used)),
    cost_usd       REAL,
    status         TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'success', 'error')),
    error          TEXT,
    metadata       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    events         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(events)),
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (trace_id, span_id)
) STRICT;

CREATE INDEX IF NOT EXISTS agent.spans_span_id_idx ON spans (span_id);
-- The tree walk of agent.trace_tree follows this index, one parent at a time.
CREATE INDEX IF NOT EXISTS agent.spans_trace_parent_idx ON spans (trace_id, parent_span_id);
CREATE INDEX IF NOT EXISTS agent.spans_type_start_idx ON spans (span_type, start_time DESC);
CREATE INDEX IF NOT EXISTS agent.spans_model_start_idx ON spans (model, start_time DESC) WHERE model IS NOT NULL;
CREATE INDEX IF NOT EXISTS agent.spans_start_idx ON spans (start_time DESC);
