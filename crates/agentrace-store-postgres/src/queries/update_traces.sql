UPDATE agent.traces AS t SET
    session_id = incoming.session_id,
    user_id = incoming.user_id,
    project = incoming.project,
    name = incoming.name,
    start_time = incoming.start_time,
    end_time = incoming.end_time,
    duration_ms = incoming.duration_ms,
    input = incoming.input::jsonb,
    output = incoming.output::jsonb,
    status = incoming.status,
    error = incoming.error,
    metadata = incoming.metadata::jsonb,
    tags = ARRAY(SELECT jsonb_array_elements_text(incoming.tags::jsonb)),
    sent_fields = incoming.sent_fields,
    updated_at = now()
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
            $8::int8[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::int4[])
     AS incoming(trace_id, session_id, user_id, project, name, start_time, end_time, duration_ms,
                 input, output, status, error, metadata, tags, sent_fields)
WHERE t.trace_id = incoming.trace_id
