-- Feedback naming one of the traces, and feedback naming only a span id of
-- theirs that no other trace holds.
DELETE FROM agent.feedback f
WHERE f.trace_id = ANY($1::text[])
   OR (f.trace_id IS NULL
       AND f.span_id IN (SELECT s.span_id FROM agent.spans s WHERE s.trace_id = ANY($1::text[]))
       AND NOT EXISTS (SELECT 1 FROM agent.spans other
                       WHERE other.span_id = f.span_id AND other.trace_id <> ALL($1::text[])))
