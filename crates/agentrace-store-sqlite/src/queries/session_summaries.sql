SELECT t.session_id,
       count(*),
       min(t.start_time),
       max(t.start_time),
       count(*) FILTER (WHERE t.status = 'error'),
       (SELECT latest.project FROM agent.traces latest
        WHERE latest.session_id = t.session_id
        ORDER BY latest.start_time IS NULL, latest.start_time DESC, latest.trace_id DESC
        LIMIT 1),
       (SELECT latest.user_id FROM agent.traces latest
        WHERE latest.session_id = t.session_id AND latest.user_id IS NOT NULL
        ORDER BY latest.start_time IS NULL, latest.start_time DESC, latest.trace_id DESC
        LIMIT 1)
FROM agent.traces t
WHERE t.session_id IN (SELECT value FROM json_each(?1))
GROUP BY t.session_id
