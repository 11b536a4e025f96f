SELECT t.session_id,
       count(*)::int8,
       min(t.start_time),
       max(t.start_time),
       (count(*) FILTER (WHERE t.status = 'error'))::int8,
       (SELECT latest.project FROM agent.traces latest
        WHERE latest.session_id = t.session_id
        ORDER BY latest.start_time DESC NULLS LAST, latest.trace_id COLLATE "C" DESC
        LIMIT 1),
       (SELECT latest.user_id FROM agent.traces latest
        WHERE latest.session_id = t.session_id AND latest.user_id IS NOT NULL
        ORDER BY latest.start_time DESC NULLS LAST, latest.trace_id COLLATE "C" DESC
        LIMIT 1)
FROM agent.traces t
WHERE t.session_id = ANY($1::text[])
GROUP BY t.session_id
