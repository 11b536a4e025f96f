-- Feedback naming one of the traces, and feedback naming only a span id of
-- theirs that no other trace holds.
DELETE FROM agent.feedback
WHERE trace_id IN (SELECT value FROM json_each(?1))
   OR (trace_id IS NULL
       AND span_id IN (SELECT s.span_id FROM agent.spans s WHERE s.trace_id IN (SELECT value FROM json_each(?1)))
       AND NOT EXISTS (SELECT 1 FROM agent.spans other
                       WHERE other.span_id = feedback.span_id
                         AND other.trace_id NOT IN (SELECT value FROM json_each(?1))))
