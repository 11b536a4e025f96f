-- Trace Service Migration: Index spans by model and trace
-- Version: 007
-- Date: 2026-11-28

-- The trace list's model filter asks, for each trace in list order, whether
-- one of its spans used the model:
--
--   EXISTS (SELECT 1 FROM agent.spans m WHERE m.trace_id = t.trace_id AND m.model = $1)
--
-- spans_trace_parent_idx finds a trace's spans, but their model is only in
-- the table, so each probe read every span of the trace (50 rows for a
-- typical agent run) before answering no. Filling a page with a model that
-- 2% of the traces use read some 10,000 traces that way: 850 ms over
-- 1,000,000 spans (query-bench). With (model, trace_id) each probe is one
-- index-only lookup (30 ms in the same case). Only spans with a model have
-- an entry, and B-tree deduplication keeps the many spans of one model in
-- one trace compact.
CREATE INDEX IF NOT EXISTS spans_model_trace_idx ON agent.spans (model, trace_id) WHERE model IS NOT NULL;

COMMENT ON INDEX agent.spans_model_trace_idx IS
    'Does this trace have a span of this model? The model filter of the trace list, one index-only probe per trace.';
