-- Trace Service Migration: Create traces table
-- Version: 001
-- Date: 2026-11-28

-- No COMMENT ON SCHEMA: it needs the schema's owner, and a database
-- administrator may have created the schema for agentrace's role beforehand.
CREATE SCHEMA IF NOT EXISTS agent;

CREATE TABLE IF NOT EXISTS agent.traces (
    trace_id    TEXT PRIMARY KEY CHECK (trace_id <> ''),
    session_id  TEXT NOT NULL,
    user_id     TEXT,
    project     TEXT NOT NULL DEFAULT 'default',
    name        TEXT,
    start_time  TIMESTAMPTZ,
    end_time    TIMESTAMPTZ,
    duration_ms BIGINT,
    input       JSONB,
    output      JSONB,
    status      TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'success', 'error')),
    error       TEXT,
    metadata    JSONB NOT NULL DEFAULT '{}',
    tags        TEXT[] NOT NULL DEFAULT '{}',
    sent_fields INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

COMMENT ON TABLE agent.traces IS
    'One row per trace: one API request or one agent run. Its operations are the rows of agent.spans with the same trace_id.';
COMMENT ON COLUMN agent.traces.trace_id IS
    'OTLP: 32 hex characters; LangSmith: the root run''s UUID; native API: any non-empty string up to 128 characters.';
COMMENT ON COLUMN agent.traces.session_id IS
    'The conversation this trace is a turn of. A trace that names none is its own session (session_id = trace_id).';
COMMENT ON COLUMN agent.traces.user_id IS
    'The end user the agent served, when the client says.';
COMMENT ON COLUMN agent.traces.project IS
    'LangSmith project or OpenTelemetry service/project name; ''default'' when none was given.';
COMMENT ON COLUMN agent.traces.name IS
    'Agent or workflow name; the root span''s name when the client gave none.';
COMMENT ON COLUMN agent.traces.end_time IS
    'NULL while the trace is running.';
COMMENT ON COLUMN agent.traces.duration_ms IS
    'end_time - start_time in milliseconds; NULL while running.';
COMMENT ON COLUMN agent.traces.input IS
    'The request that started the run (the root span''s input when the client gave none).';
COMMENT ON COLUMN agent.traces.output IS
    'The final answer (the root span''s output when the client gave none).';
COMMENT ON COLUMN agent.traces.status IS
    'running, success or error: the root span''s status; running until the root ends.';
COMMENT ON COLUMN agent.traces.metadata IS
    'Everything else the client sent about the trace, as a JSON object.';
COMMENT ON COLUMN agent.traces.sent_fields IS
    'Bitmask of the fields the client sent explicitly, which values derived from the trace''s spans never overwrite: '
    '1 session_id, 2 user_id, 4 name, 8 start_time, 16 end_time, 32 input, 64 output, 128 status and error, 256 project.';
COMMENT ON COLUMN agent.traces.created_at IS
    'When agentrace first stored a piece of this trace (server clock).';
COMMENT ON COLUMN agent.traces.updated_at IS
    'When agentrace last changed this row (server clock).';

-- The common listings: a session's turns, a user's traces, failures, recent
-- traces, a project's traces; each newest first.
CREATE INDEX IF NOT EXISTS traces_session_start_idx ON agent.traces (session_id, start_time DESC);
CREATE INDEX IF NOT EXISTS traces_user_start_idx ON agent.traces (user_id, start_time DESC) WHERE user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS traces_status_start_idx ON agent.traces (status, start_time DESC);
CREATE INDEX IF NOT EXISTS traces_start_idx ON agent.traces (start_time DESC);
CREATE INDEX IF NOT EXISTS traces_project_start_idx ON agent.traces (project, start_time DESC);
