-- Trace Service Migration: Tune free-text search
-- Version: 010
-- Date: 2026-11-29

-- agent.traces_search (006) kept the position of every trigram, which only
-- phrase queries need, and was the embedded store's largest write cost:
-- about 290 µs of each trace's write in ingest-bench, 40% of the writer's
-- time. detail=none keeps only which traces hold a trigram: about half the
-- indexing time and a third of the index's size. agentrace now finds the
-- traces holding all the trigrams of the search text and checks the text
-- itself, as pg_trgm does on PostgreSQL. By hand:
--
--   SELECT t.* FROM agent.traces t WHERE t.rowid IN (
--       SELECT rowid FROM agent.traces_search WHERE input LIKE '%weather in paris%'
--       UNION SELECT rowid FROM agent.traces_search WHERE output LIKE '%weather in paris%'
--       UNION SELECT rowid FROM agent.traces_search WHERE error LIKE '%weather in paris%');
--
-- (FTS5 answers LIKE from the trigrams and checks each candidate's text;
-- SQLite's LIKE folds the case of ASCII letters only.) Phrase queries
-- (MATCH '"weather in paris"') need positions and are refused now.
--
-- automerge 8 instead of 4: each commit adds a segment to the index, and
-- merging them less eagerly costs searches little.
DROP TRIGGER IF EXISTS agent.traces_search_insert;
DROP TRIGGER IF EXISTS agent.traces_search_delete;
DROP TRIGGER IF EXISTS agent.traces_search_update;
DROP TABLE IF EXISTS agent.traces_search;

CREATE VIRTUAL TABLE agent.traces_search USING fts5 (
    input, output, error,
    content = 'traces', content_rowid = 'rowid', tokenize = 'trigram', columnsize = 0, detail = none
);
INSERT INTO agent.traces_search (traces_search, rank) VALUES ('automerge', 8);

CREATE TRIGGER agent.traces_search_insert AFTER INSERT ON traces
BEGIN
    INSERT INTO traces_search (rowid, input, output, error) VALUES (new.rowid, new.input, new.output, new.error);
END;

CREATE TRIGGER agent.traces_search_delete AFTER DELETE ON traces
BEGIN
    INSERT INTO traces_search (traces_search, rowid, input, output, error)
    VALUES ('delete', old.rowid, old.input, old.output, old.error);
END;

CREATE TRIGGER agent.traces_search_update AFTER UPDATE OF input, output, error ON traces
WHEN old.input IS NOT new.input OR old.output IS NOT new.output OR old.error IS NOT new.error
BEGIN
    INSERT INTO traces_search (traces_search, rowid, input, output, error)
    VALUES ('delete', old.rowid, old.input, old.output, old.error);
    INSERT INTO traces_search (rowid, input, output, error) VALUES (new.rowid, new.input, new.output, new.error);
END;

INSERT INTO agent.traces_search (traces_search) VALUES ('rebuild');
