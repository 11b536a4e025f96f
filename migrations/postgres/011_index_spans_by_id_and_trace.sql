-- Trace Service Migration: Index spans by id and trace
-- Version: 011
-- Date: 2026-11-29

-- A write reads the stored spans it merges into by (trace_id, span_id):
--
--   FROM unnest($1, $2) AS wanted(trace_id, span_id)
--   JOIN agent.spans s ON s.trace_id = wanted.trace_id AND s.span_id = wanted.span_id
--
-- Span ids are unique within a trace only. OpenTelemetry's and LangSmith's
-- are random, but a native client may number each trace's spans from "s0".
-- When the statistics still described random ids, the planner took
-- spans_span_id_idx (span_id alone) for this lookup, as selective as the
-- primary key and smaller, and each lookup of "s3" read every span of that
-- name in every trace: writes of 1 to 8 s at 900,000 spans (otlp-bench, its
-- native phase after the OTLP one), until autovacuum analysed the table.
-- With (span_id, trace_id) every index able to serve the lookup matches on
-- both columns, whatever the statistics say. Lookups by span id alone
-- (LangSmith PATCH /runs/{id}) use its first column as before.
CREATE INDEX IF NOT EXISTS spans_span_id_trace_idx ON agent.spans (span_id, trace_id);
DROP INDEX IF EXISTS agent.spans_span_id_idx;

COMMENT ON INDEX agent.spans_span_id_trace_idx IS
    'Spans by id (LangSmith PATCH /runs/{id}, OTLP links), and by (span_id, trace_id) whatever the statistics say.';
