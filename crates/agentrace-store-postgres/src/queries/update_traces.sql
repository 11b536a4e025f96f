UPDATE agent.traces AS t SET
    session_id = incoming.session_id,
    user_id = incoming.user_id,
    project = incoming.project,
    name = incoming.name,
    start_time = incoming.start_time,
    end_time = incoming.end_time,
    duration_ms = incoming.duration_ms,
    input = incoming.input,
    output = incoming.output,
    status = incoming.status,
    error = incoming.error,
    metadata = incoming.metadata,
    tags = incoming.tags,
    sent_fields = incoming.sent_fields,
    updated_at = now()
FROM (
    SELECT trace_id, session_id, user_id, project, name, start_time, end_time, duration_ms,
           input::jsonb AS input, output::jsonb AS output, status, error, metadata::jsonb AS metadata,
           ARRAY(SELECT jsonb_array_elements_text(tags::jsonb)) AS tags, sent_fields
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
                $8::int8[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::int4[])
         AS sent(trace_id, session_id, user_id, project, name, start_time, end_time, duration_ms,
                 input, output, status, error, metadata, tags, sent_fields)
) AS incoming
WHERE t.trace_id = incoming.trace_id
  -- A row that would not change is left alone: rewriting it costs a new
  -- version in every index of the table, the free-text trigrams included,
  -- and most spans of a trace (children ending within their root) change
  -- nothing in it.
  AND (t.session_id, t.user_id, t.project, t.name, t.start_time, t.end_time, t.duration_ms, t.input, t.output,
       t.status, t.error, t.metadata, t.tags, t.sent_fields)
      IS DISTINCT FROM
      (incoming.session_id, incoming.user_id, incoming.project, incoming.name, incoming.start_time,
       incoming.end_time, incoming.duration_ms, incoming.input, incoming.output, incoming.status, incoming.error,
       incoming.metadata, incoming.tags, incoming.sent_fields)
