-- Trace Service Migration: Index spans by model and trace
-- Version: 007
-- Date: 2026-11-28

-- The trace list's model filter asks, for each trace in list order, whether
-- one of its spans used the model (see migrations/postgres/007): with
-- (model, trace_id) that is one covering index lookup per trace instead of
-- a read of every span of the trace. Only spans with a model have an entry.
CREATE INDEX IF NOT EXISTS agent.spans_model_trace_idx ON spans (model, trace_id) WHERE model IS NOT NULL;
