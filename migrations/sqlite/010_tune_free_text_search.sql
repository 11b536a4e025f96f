-- Trace Service Migration: Tune free-text search
-- Version: 010
-- Date: 2026-11-29

-- Free-text search moves out of this file. agent.traces_search (006), kept
-- by triggers inside each write, was the embedded store's largest write
-- cost: about 290 µs of each trace's write in ingest-bench, 40% of the one
-- writer's time. The trigram index now lives in a database file of its
-- own beside this one (`<this file>-search`), which agentrace keeps on a
-- thread of its own, a moment behind ingest, on another core. This file
-- keeps only the queue of traces whose searched text changed since:
-- agentrace searches the index for the traces indexed already and reads
-- the text of those still queued, so a search finds a trace as soon as its
-- write is acknowledged. The index file is derived data: deleted, it is
-- rebuilt from agent.traces.
DROP TRIGGER IF EXISTS agent.traces_search_insert;
DROP TRIGGER IF EXISTS agent.traces_search_delete;
DROP TRIGGER IF EXISTS agent.traces_search_update;
DROP TABLE IF EXISTS agent.traces_search;

-- One row per change of a trace's input, output or error, or deletion of
-- the trace; by rowid, which the index is keyed by. AUTOINCREMENT: a seq is
-- never reused once the indexed rows are pruned, so the index's position
-- in the queue (the last seq it indexed) stays meaningful.
CREATE TABLE IF NOT EXISTS agent.trace_search_queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_rowid INTEGER NOT NULL
) STRICT;

CREATE TRIGGER IF NOT EXISTS agent.trace_search_queue_insert AFTER INSERT ON traces
WHEN new.input IS NOT NULL OR new.output IS NOT NULL OR new.error IS NOT NULL
BEGIN
    INSERT INTO trace_search_queue (trace_rowid) VALUES (new.rowid);
END;

CREATE TRIGGER IF NOT EXISTS agent.trace_search_queue_update AFTER UPDATE OF input, output, error ON traces
WHEN old.input IS NOT new.input OR old.output IS NOT new.output OR old.error IS NOT new.error
BEGIN
    INSERT INTO trace_search_queue (trace_rowid) VALUES (new.rowid);
END;

CREATE TRIGGER IF NOT EXISTS agent.trace_search_queue_delete AFTER DELETE ON traces
BEGIN
    INSERT INTO trace_search_queue (trace_rowid) VALUES (old.rowid);
END;
