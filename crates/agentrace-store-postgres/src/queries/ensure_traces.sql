INSERT INTO agent.traces (trace_id, session_id)
SELECT trace_id, trace_id FROM unnest($1::text[]) AS wanted(trace_id)
ON CONFLICT (trace_id) DO NOTHING
