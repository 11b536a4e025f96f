-- Rows for the touched traces not stored yet, as the batch alone makes
-- them (FoldedBatch::provisional_rows): the final row of a trace the batch
-- brings whole, which the write then leaves out of its update. Returns
-- the traces it created.
INSERT INTO agent.traces (trace_id, session_id, user_id, project, name, start_time, end_time, duration_ms,
                          input, output, status, error, metadata, tags, sent_fields)
SELECT trace_id, session_id, user_id, project, name, start_time, end_time, duration_ms,
       input::jsonb, output::jsonb, status, error, metadata::jsonb,
       ARRAY(SELECT jsonb_array_elements_text(tags::jsonb)), sent_fields
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
            $8::int8[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::int4[])
     AS provisional(trace_id, session_id, user_id, project, name, start_time, end_time, duration_ms,
                    input, output, status, error, metadata, tags, sent_fields)
ON CONFLICT (trace_id) DO NOTHING
RETURNING trace_id
