-- Trace Service Migration: Create feedback table
-- Version: 005
-- Date: 2026-11-28

CREATE TABLE IF NOT EXISTS agent.feedback (
    feedback_id TEXT PRIMARY KEY CHECK (feedback_id <> ''),
    trace_id    TEXT,
    span_id     TEXT,
    key         TEXT NOT NULL,
    score       DOUBLE PRECISION,
    value       JSONB,
    comment     TEXT,
    correction  JSONB,
    source      JSONB,
    metadata    JSONB NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

COMMENT ON TABLE agent.feedback IS
    'Feedback on a trace or a span: a named score, value or comment from a user, reviewer or evaluator (LangSmith feedback).';
COMMENT ON COLUMN agent.feedback.feedback_id IS
    'The client''s id for the feedback; sending the same id again replaces it.';
COMMENT ON COLUMN agent.feedback.trace_id IS
    'The trace rated, when the client named it. Not a foreign key: feedback is often sent before its trace arrives.';
COMMENT ON COLUMN agent.feedback.span_id IS
    'The span rated (the LangSmith run id); NULL for feedback on a whole trace. '
    'Feedback naming only a span belongs to the trace that holds that span.';
COMMENT ON COLUMN agent.feedback.key IS
    'What is rated: correctness, helpfulness, user_score, ...';
COMMENT ON COLUMN agent.feedback.score IS
    'A numeric score (booleans are stored as 1 and 0).';
COMMENT ON COLUMN agent.feedback.value IS
    'A non-numeric value or label, as JSON.';
COMMENT ON COLUMN agent.feedback.correction IS
    'The output the rater says would have been right, as JSON.';
COMMENT ON COLUMN agent.feedback.source IS
    'Who gave the feedback: {"type": "api" | "model" | "app", "metadata": {...}}.';
COMMENT ON COLUMN agent.feedback.metadata IS
    'Everything else the client sent with the feedback, as a JSON object.';
COMMENT ON COLUMN agent.feedback.created_at IS
    'When the feedback was given by the client''s clock; the server''s clock at first storage when the client sent none.';

-- A trace's feedback: by trace id, and through its spans' ids for feedback
-- that names only a span; a key's scores over time.
CREATE INDEX IF NOT EXISTS feedback_trace_idx ON agent.feedback (trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS feedback_span_idx ON agent.feedback (span_id) WHERE span_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS feedback_key_created_idx ON agent.feedback (key, created_at DESC);
