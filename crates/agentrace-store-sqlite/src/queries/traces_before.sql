-- Oldest first: by start time, or for traces without one by when they were stored.
SELECT trace_id
FROM (SELECT * FROM (SELECT trace_id, start_time AS stamp FROM agent.traces
                     WHERE start_time < ?1
                     ORDER BY start_time, trace_id
                     LIMIT ?2)
      UNION ALL
      SELECT * FROM (SELECT trace_id, created_at FROM agent.traces
                     WHERE start_time IS NULL AND created_at < ?1
                     ORDER BY created_at, trace_id
                     LIMIT ?2))
ORDER BY stamp, trace_id
LIMIT ?2
