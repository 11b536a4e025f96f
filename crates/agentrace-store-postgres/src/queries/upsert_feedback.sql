WITH incoming AS (
    SELECT *
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[], $7::text[], $8::text[],
                $9::text[], $10::text[], $11::timestamptz[])
         AS incoming(feedback_id, trace_id, span_id, key, score, value, comment, correction, source, metadata,
                     created_at)
)
INSERT INTO agent.feedback (feedback_id, trace_id, span_id, key, score, value, comment, correction, source, metadata,
                            created_at, updated_at)
SELECT feedback_id, trace_id, span_id, key, score, value::jsonb, comment, correction::jsonb, source::jsonb,
       metadata::jsonb, coalesce(created_at, now()), now()
FROM incoming
ON CONFLICT (feedback_id) DO UPDATE SET
    trace_id = EXCLUDED.trace_id,
    span_id = EXCLUDED.span_id,
    key = EXCLUDED.key,
    score = EXCLUDED.score,
    value = EXCLUDED.value,
    comment = EXCLUDED.comment,
    correction = EXCLUDED.correction,
    source = EXCLUDED.source,
    metadata = EXCLUDED.metadata,
    -- A retry that carries no client time keeps the time of first storage.
    created_at = coalesce((SELECT incoming.created_at FROM incoming WHERE incoming.feedback_id = EXCLUDED.feedback_id),
                          agent.feedback.created_at),
    updated_at = now()
