-- Trace Service Migration: Create spans table
-- Version: 002
-- Date: 2026-11-28

CREATE TABLE IF NOT EXISTS agent.spans (
    trace_id       TEXT NOT NULL REFERENCES agent.traces (trace_id) ON DELETE CASCADE,
    span_id        TEXT NOT NULL,
    parent_span_id TEXT,
    span_type      TEXT NOT NULL DEFAULT 'custom' CHECK (span_type IN (
                       'agent', 'node', 'chain', 'model_call', 'embedding', 'tool_call', 'mcp_call',
                       'retriever', 'guardrail', 'evaluator', 'custom')),
    name           TEXT NOT NULL DEFAULT '',
    start_time     TIMESTAMPTZ,
    end_time       TIMESTAMPTZ,
    duration_ms    BIGINT,
    input          JSONB,
    output         JSONB,
    model          TEXT,
    provider       TEXT,
    tokens_used    JSONB,
    cost_usd       NUMERIC,
    status         TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'success', 'error')),
    error          TEXT,
    metadata       JSONB NOT NULL DEFAULT '{}',
    events         JSONB NOT NULL DEFAULT '[]',
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (trace_id, span_id)
);

COMMENT ON TABLE agent.spans IS
    'One row per operation of a trace: an agent, graph node, chain, model call, embedding, tool or MCP call, retrieval, guardrail or evaluation.';
COMMENT ON COLUMN agent.spans.span_id IS
    'Unique within its trace; the primary key is (trace_id, span_id).';
COMMENT ON COLUMN agent.spans.parent_span_id IS
    'The enclosing span; NULL for a root. May name a span that has not arrived (yet): agent.trace_tree shows such a span as a root.';
COMMENT ON COLUMN agent.spans.span_type IS
    'agent, node, chain, model_call, embedding, tool_call, mcp_call, retriever, guardrail, evaluator or custom. '
    'Unknown kinds are stored as custom with the original kind in metadata.';
COMMENT ON COLUMN agent.spans.name IS
    'What ran: ReasonNode, gpt-4o, search_web, ...';
COMMENT ON COLUMN agent.spans.end_time IS
    'NULL while the span is running.';
COMMENT ON COLUMN agent.spans.duration_ms IS
    'end_time - start_time in milliseconds; NULL while running.';
COMMENT ON COLUMN agent.spans.model IS
    'The model of a model_call or embedding span, as the provider names it.';
COMMENT ON COLUMN agent.spans.provider IS
    'The model provider in OpenTelemetry GenAI naming (openai, anthropic, aws.bedrock, ...); the raw value is kept in metadata.';
COMMENT ON COLUMN agent.spans.tokens_used IS
    '{"prompt": n, "completion": n, "total": n} plus optional cache_read, cache_creation and reasoning, '
    'which are subsets: prompt includes cached tokens, completion includes reasoning.';
COMMENT ON COLUMN agent.spans.cost_usd IS
    'Cost of this operation in US dollars, when known or computable.';
COMMENT ON COLUMN agent.spans.status IS
    'running, success or error; running until the span ends.';
COMMENT ON COLUMN agent.spans.metadata IS
    'Attributes not mapped to a column, OpenTelemetry resource and scope, LangSmith extra, as a JSON object.';
COMMENT ON COLUMN agent.spans.events IS
    'Span events (exceptions, streamed-token events, log records of the span), as a JSON array.';
COMMENT ON COLUMN agent.spans.created_at IS
    'When agentrace first stored a piece of this span (server clock).';
COMMENT ON COLUMN agent.spans.updated_at IS
    'When agentrace last changed this row (server clock).';

-- Lookups by span id alone (OTLP links, LangSmith PATCH /runs/{id}); a
-- trace's children of one parent, which is what the tree walk in
-- agent.trace_tree follows; spans by type, by model, recent spans.
CREATE INDEX IF NOT EXISTS spans_span_id_idx ON agent.spans (span_id);
CREATE INDEX IF NOT EXISTS spans_trace_parent_idx ON agent.spans (trace_id, parent_span_id);
CREATE INDEX IF NOT EXISTS spans_type_start_idx ON agent.spans (span_type, start_time DESC);
CREATE INDEX IF NOT EXISTS spans_model_start_idx ON agent.spans (model, start_time DESC) WHERE model IS NOT NULL;
CREATE INDEX IF NOT EXISTS spans_start_idx ON agent.spans (start_time DESC);
