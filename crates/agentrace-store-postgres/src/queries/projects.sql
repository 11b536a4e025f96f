SELECT project, count(*)::int8, max(coalesce(start_time, created_at))
FROM agent.traces
GROUP BY project
