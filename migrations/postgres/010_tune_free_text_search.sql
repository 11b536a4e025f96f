-- Trace Service Migration: Tune free-text search
-- Version: 010
-- Date: 2026-11-29

-- agent.trace_search_text (006) was an SQL function, which the planner
-- inlines and then prices as a few casts: next to nothing. Turning each
-- trace's input and output back into JSON text takes microseconds, though,
-- and a search for a rare word whose share the statistics overestimated
-- (a word in 0.5% of traces guessed at 2%) then read traces newest first,
-- converting and matching every one, until a page was full: 10,000 traces
-- and 50 ms at a million spans, where the trigram index answers in 1 ms.
-- Declared as what it costs, the function leads the planner to the index
-- for rare words and to the newest-first scan only for words common enough
-- to fill a page within a few hundred traces.
--
-- PL/pgSQL is not inlined, so the declared cost holds. The text is the
-- same as before, character for character, so traces_search_idx stays
-- valid without a rebuild.
CREATE OR REPLACE FUNCTION agent.trace_search_text(input JSONB, output JSONB, error TEXT)
RETURNS TEXT
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
COST 200
AS $$
BEGIN
    RETURN coalesce(input::text, '') || E'\n' || coalesce(output::text, '') || E'\n' || coalesce(error, '');
END
$$;

COMMENT ON FUNCTION agent.trace_search_text(JSONB, JSONB, TEXT) IS
    'The text free-text search matches: input and output as JSON text, then error, one per line. '
    'Indexed by traces_search_idx: WHERE agent.trace_search_text(input, output, error) ILIKE ''%paris%'' uses it.';
