-- Trace Service Migration: Create query indexes
-- Version: 006
-- Date: 2026-11-28

-- The indexes of migrations/postgres/006 that SQLite needs for the query
-- API, and its free-text search.
--
-- The slowest traces first (duration sort); traces without a start time,
-- listed after all others and deleted by age of storage; the failed spans
-- of a trace (the has_error filter), few among many.
CREATE INDEX IF NOT EXISTS agent.traces_duration_idx ON traces (duration_ms DESC);
CREATE INDEX IF NOT EXISTS agent.traces_unstarted_idx ON traces (trace_id) WHERE start_time IS NULL;
CREATE INDEX IF NOT EXISTS agent.spans_error_trace_idx ON spans (trace_id) WHERE status = 'error';

-- agent.traces_search: free text over each trace's input, output and
-- error. The trigram tokenizer indexes every three-character substring
-- (case-folded), so a quoted phrase query is a case-insensitive substring
-- match, like ILIKE '%…%' on PostgreSQL:
--
--   SELECT t.* FROM agent.traces t
--   WHERE t.rowid IN (SELECT rowid FROM agent.traces_search WHERE traces_search MATCH '"sunny in paris"');
--
-- An external-content table: it keeps only the index and reads the text
-- from agent.traces by rowid (VACUUM keeps the rowids of agent.traces; a
-- test checks it). The triggers keep it in step, and re-index a trace only
-- when its input, output or error changes, not on every update of its row.
-- columnsize=0: no per-row token counts, which only ranking would use.
CREATE VIRTUAL TABLE IF NOT EXISTS agent.traces_search USING fts5 (
    input, output, error,
    content = 'traces', content_rowid = 'rowid', tokenize = 'trigram', columnsize = 0
);

CREATE TRIGGER IF NOT EXISTS agent.traces_search_insert AFTER INSERT ON traces
BEGIN
    INSERT INTO traces_search (rowid, input, output, error) VALUES (new.rowid, new.input, new.output, new.error);
END;

CREATE TRIGGER IF NOT EXISTS agent.traces_search_delete AFTER DELETE ON traces
BEGIN
    INSERT INTO traces_search (traces_search, rowid, input, output, error)
    VALUES ('delete', old.rowid, old.input, old.output, old.error);
END;

CREATE TRIGGER IF NOT EXISTS agent.traces_search_update AFTER UPDATE OF input, output, error ON traces
WHEN old.input IS NOT new.input OR old.output IS NOT new.output OR old.error IS NOT new.error
BEGIN
    INSERT INTO traces_search (traces_search, rowid, input, output, error)
    VALUES ('delete', old.rowid, old.input, old.output, old.error);
    INSERT INTO traces_search (rowid, input, output, error) VALUES (new.rowid, new.input, new.output, new.error);
END;

-- Index the traces stored before this migration (and, when the file runs
-- again, index them afresh: the result is the same).
INSERT INTO agent.traces_search (traces_search) VALUES ('rebuild');
