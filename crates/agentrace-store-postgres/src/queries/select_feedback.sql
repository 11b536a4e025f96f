-- Two branches rather than one OR: PostgreSQL cannot read an OR whose arm
-- is an IN (subquery) through indexes, and scanned all of agent.feedback
-- for every trace read. The branches are disjoint (trace_id = $1 excludes
-- trace_id IS NULL), so UNION ALL returns each row once. `span_id IS NOT
-- NULL` is what lets the partial index feedback_span_idx serve the probe.
SELECT feedback_id, trace_id, span_id, key, score, value, comment, correction, source, metadata, created_at
FROM (
    SELECT * FROM agent.feedback WHERE trace_id = $1
    UNION ALL
    SELECT * FROM agent.feedback
    WHERE trace_id IS NULL AND span_id IS NOT NULL
      AND span_id IN (SELECT span_id FROM agent.spans WHERE trace_id = $1)
) AS feedback
ORDER BY created_at, feedback_id COLLATE "C"
