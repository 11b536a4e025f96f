INSERT INTO agent.spans (trace_id, span_id, parent_span_id, span_type, name, start_time, end_time, duration_ms,
                         input, output, model, provider, tokens_used, cost_usd, status, error, metadata, events,
                         created_at, updated_at)
SELECT trace_id, span_id, parent_span_id, span_type, name, start_time, end_time, duration_ms,
       input::jsonb, output::jsonb, model, provider, tokens_used::jsonb, cost_usd::numeric, status, error,
       metadata::jsonb, events::jsonb, now(), now()
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
            $8::int8[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::float8[],
            $15::text[], $16::text[], $17::text[], $18::text[])
     AS incoming(trace_id, span_id, parent_span_id, span_type, name, start_time, end_time, duration_ms,
                 input, output, model, provider, tokens_used, cost_usd, status, error, metadata, events)
ON CONFLICT (trace_id, span_id) DO UPDATE SET
    parent_span_id = EXCLUDED.parent_span_id,
    span_type = EXCLUDED.span_type,
    name = EXCLUDED.name,
    start_time = EXCLUDED.start_time,
    end_time = EXCLUDED.end_time,
    duration_ms = EXCLUDED.duration_ms,
    input = EXCLUDED.input,
    output = EXCLUDED.output,
    model = EXCLUDED.model,
    provider = EXCLUDED.provider,
    tokens_used = EXCLUDED.tokens_used,
    cost_usd = EXCLUDED.cost_usd,
    status = EXCLUDED.status,
    error = EXCLUDED.error,
    metadata = EXCLUDED.metadata,
    events = EXCLUDED.events,
    updated_at = now()
