SELECT project, count(*), max(coalesce(start_time, created_at))
FROM agent.traces
GROUP BY project
