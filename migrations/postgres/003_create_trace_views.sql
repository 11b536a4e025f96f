-- Trace Service Migration: Create trace views
-- Version: 003
-- Date: 2026-11-28

-- agent.trace_tree
--
-- The recursion runs inside a LATERAL subquery, once per agent.traces row,
-- with the trace id as a parameter. PostgreSQL never pushes an outer filter
-- into a recursive CTE, so a view recursing over all of agent.spans and
-- filtered afterwards costs O(all spans) per trace; started per trace, each
-- step is an index lookup on spans_trace_parent_idx and
-- `WHERE trace_id = $1` costs O(spans of that trace).
--
-- Roots are spans without a parent or whose parent is not in the trace (it
-- may not have arrived yet). Parent links can only fail to reach a root by
-- running into a cycle: such a cycle, with the spans below it, is shown from
-- the cycle's smallest span id (byte order) as a level-1 row. Below a root
-- proper no span can be reached twice (every span has one parent); below a
-- cycle entry the only span that can come round again is the entry itself,
-- which is why `c.span_id <> tree.top` suffices to never revisit a span of
-- the path.
--
-- sort_key is the same text on both stores: per level from the root, the
-- start time as YYYY-MM-DDTHH:MM:SS.ffffffZ in UTC (9999-12-31T23:59:59.999999Z
-- when unknown) followed by the upper-case hex of the span id's UTF-8 bytes,
-- levels joined with '/'. Hex keeps span ids from colliding with '/', and
-- '/' sorts below every hex digit, so a span's subtree sorts before its next
-- sibling: byte order of sort_key is pre-order with siblings by start time,
-- then span id.
CREATE OR REPLACE VIEW agent.trace_tree AS
SELECT t.trace_id,
       tree.span_id,
       tree.parent_span_id,
       tree.span_type,
       tree.name,
       tree.start_time,
       tree.end_time,
       tree.duration_ms,
       tree.status,
       tree.model,
       tree.provider,
       tree.tokens_used,
       tree.level,
       tree.path,
       tree.sort_key,
       tree.is_orphan
FROM agent.traces t
CROSS JOIN LATERAL (
    WITH RECURSIVE
    -- Two branches rather than one OR: each is estimated at a row or two,
    -- which keeps the planner's guess for the walks below small (a guess in
    -- the thousands would be costed past jit_above_cost, and compiling the
    -- query takes far longer than running it).
    roots AS (
        SELECT s.span_id, false AS is_orphan
        FROM agent.spans s
        WHERE s.trace_id = t.trace_id AND s.parent_span_id IS NULL
        UNION ALL
        SELECT s.span_id, true
        FROM agent.spans s
        WHERE s.trace_id = t.trace_id
          AND s.parent_span_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM agent.spans p
                          WHERE p.trace_id = t.trace_id AND p.span_id = s.parent_span_id)
    ),
    -- Spans on a parent cycle are reached from no root. Each cycle is
    -- entered at its smallest member m (byte order): the one span whose
    -- climb up the parent links comes back to itself through larger ids
    -- only. m's parent and its child on the cycle are both larger (or m
    -- itself), which rules out most spans before climbing, and a climb stops
    -- at the first smaller id, at a root, or after as many steps as the trace
    -- has spans (should it run into a cycle of larger ids above it). With
    -- the usual ids (random, or parents numbered before their children)
    -- climbs are a step or two, or none at all; a contrived shape (long
    -- chains of rising ids under a cycle) costs O(spans^2), never more.
    climb (origin, span_id, steps) AS (
        SELECT l.span_id, l.parent_span_id, 1
        FROM agent.spans l
        WHERE l.trace_id = t.trace_id
          AND l.parent_span_id COLLATE "C" >= l.span_id COLLATE "C"
          AND EXISTS (SELECT 1 FROM agent.spans k
                      WHERE k.trace_id = t.trace_id
                        AND k.parent_span_id = l.span_id
                        AND k.span_id COLLATE "C" >= l.span_id COLLATE "C")
        UNION ALL
        SELECT climb.origin, l.parent_span_id, climb.steps + 1
        FROM climb
        CROSS JOIN LATERAL (
            SELECT l.parent_span_id FROM agent.spans l
            WHERE l.trace_id = t.trace_id
              AND l.span_id = climb.span_id
              AND l.span_id COLLATE "C" > climb.origin COLLATE "C"
            OFFSET 0
        ) AS l
        WHERE climb.steps < (SELECT count(*) FROM agent.spans a WHERE a.trace_id = t.trace_id)
    ),
    cycle_entries AS (
        SELECT climb.origin AS span_id FROM climb WHERE climb.span_id = climb.origin
    ),
    -- MATERIALIZED, and probed from below one row at a time: without
    -- statistics (a table never analyzed) the planner may otherwise run this
    -- whole union again for every span of the trace.
    tops AS MATERIALIZED (
        SELECT roots.span_id, roots.is_orphan FROM roots
        UNION ALL
        SELECT cycle_entries.span_id, false FROM cycle_entries
    ),
    tree AS (
        SELECT s.span_id, s.parent_span_id, s.span_type, s.name, s.start_time, s.end_time, s.duration_ms,
               s.status, s.model, s.provider, s.tokens_used,
               1 AS level,
               ARRAY[s.span_id] AS path,
               COALESCE(to_char(s.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                        '9999-12-31T23:59:59.999999Z')
                   || upper(encode(convert_to(s.span_id, 'UTF8'), 'hex')) COLLATE "C" AS sort_key,
               tops.is_orphan,
               s.span_id AS top
        FROM tops
        CROSS JOIN LATERAL (
            SELECT * FROM agent.spans s WHERE s.trace_id = t.trace_id AND s.span_id = tops.span_id OFFSET 0
        ) AS s
        UNION ALL
        SELECT c.span_id, c.parent_span_id, c.span_type, c.name, c.start_time, c.end_time, c.duration_ms,
               c.status, c.model, c.provider, c.tokens_used,
               tree.level + 1,
               tree.path || c.span_id,
               tree.sort_key || '/'
                   || COALESCE(to_char(c.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                               '9999-12-31T23:59:59.999999Z')
                   || upper(encode(convert_to(c.span_id, 'UTF8'), 'hex')),
               false,
               tree.top
        FROM tree
        -- OFFSET 0 keeps this a per-row index probe (spans_trace_parent_idx):
        -- joined as a plain table, the planner hashes all of the trace's
        -- spans again at every level, O(spans x depth).
        CROSS JOIN LATERAL (
            SELECT * FROM agent.spans c
            WHERE c.trace_id = t.trace_id AND c.parent_span_id = tree.span_id AND c.span_id <> tree.top
            OFFSET 0
        ) AS c
    )
    SELECT * FROM tree
) AS tree
ORDER BY t.trace_id COLLATE "C", tree.sort_key;

COMMENT ON VIEW agent.trace_tree IS
    'One row per span in execution-tree order (pre-order, siblings by start time then span id), each span exactly once. '
    'Query it per trace: SELECT * FROM agent.trace_tree WHERE trace_id = ... costs O(spans of that trace).';
COMMENT ON COLUMN agent.trace_tree.level IS
    'Depth in the tree; roots are 1.';
COMMENT ON COLUMN agent.trace_tree.path IS
    'The span ids from the root down to this span.';
COMMENT ON COLUMN agent.trace_tree.sort_key IS
    'Orders rows in tree order (byte order, COLLATE "C"): per level, the start time as YYYY-MM-DDTHH:MM:SS.ffffffZ in UTC '
    '(9999-12-31T23:59:59.999999Z when unknown) and the upper-case hex of the span id''s UTF-8 bytes, levels joined with ''/''.';
COMMENT ON COLUMN agent.trace_tree.is_orphan IS
    'True when parent_span_id names a span that is not in the trace (yet); such a span is shown as a root.';

-- agent.trace_stats
--
-- One aggregate per trace through LATERAL, so that a filter on a trace
-- column (session_id, trace_id, user_id, ...) selects traces by their index
-- first and only their spans are read, through an index on trace_id.
-- Tokens and cost count model_call and embedding spans only: an agent span
-- may carry the whole run's usage again, and counting it would double count.
CREATE OR REPLACE VIEW agent.trace_stats AS
SELECT t.trace_id,
       t.session_id,
       t.user_id,
       t.project,
       t.name,
       t.start_time,
       t.end_time,
       t.duration_ms AS total_duration_ms,
       t.status,
       totals.total_spans,
       totals.model_calls,
       totals.tool_calls,
       totals.mcp_calls,
       totals.error_spans,
       totals.prompt_tokens,
       totals.completion_tokens,
       totals.total_tokens,
       totals.cost_usd,
       t.created_at
FROM agent.traces t
CROSS JOIN LATERAL (
    SELECT count(*) AS total_spans,
           count(*) FILTER (WHERE usage.span_type = 'model_call') AS model_calls,
           count(*) FILTER (WHERE usage.span_type = 'tool_call') AS tool_calls,
           count(*) FILTER (WHERE usage.span_type = 'mcp_call') AS mcp_calls,
           count(*) FILTER (WHERE usage.status = 'error') AS error_spans,
           COALESCE(sum(usage.prompt) FILTER (WHERE usage.billed), 0)::bigint AS prompt_tokens,
           COALESCE(sum(usage.completion) FILTER (WHERE usage.billed), 0)::bigint AS completion_tokens,
           COALESCE(sum(COALESCE(usage.total, COALESCE(usage.prompt, 0) + COALESCE(usage.completion, 0)))
                        FILTER (WHERE usage.billed), 0)::bigint AS total_tokens,
           COALESCE(sum(usage.cost_usd) FILTER (WHERE usage.billed), 0) AS cost_usd
    FROM (
        -- Hand-written rows may hold anything in tokens_used; only JSON
        -- numbers count, so one odd row cannot make the view fail.
        SELECT s.span_type,
               s.status,
               s.cost_usd,
               s.span_type IN ('model_call', 'embedding') AS billed,
               CASE WHEN jsonb_typeof(s.tokens_used -> 'prompt') = 'number'
                    THEN (s.tokens_used ->> 'prompt')::numeric END AS prompt,
               CASE WHEN jsonb_typeof(s.tokens_used -> 'completion') = 'number'
                    THEN (s.tokens_used ->> 'completion')::numeric END AS completion,
               CASE WHEN jsonb_typeof(s.tokens_used -> 'total') = 'number'
                    THEN (s.tokens_used ->> 'total')::numeric END AS total
        FROM agent.spans s
        WHERE s.trace_id = t.trace_id
    ) AS usage
) AS totals
-- A session's traces in the order they ran (same order on SQLite).
ORDER BY t.start_time NULLS LAST, t.trace_id COLLATE "C";

COMMENT ON VIEW agent.trace_stats IS
    'One row per trace with its span counts, token totals and cost, oldest first. Filter on a trace column '
    '(WHERE session_id = ... or trace_id = ...): only the selected traces'' spans are read.';
COMMENT ON COLUMN agent.trace_stats.total_duration_ms IS
    'The trace''s duration_ms: end_time - start_time.';
COMMENT ON COLUMN agent.trace_stats.error_spans IS
    'Spans with status error.';
COMMENT ON COLUMN agent.trace_stats.prompt_tokens IS
    'Sum of tokens_used.prompt over model_call and embedding spans only (agent spans may repeat the run''s usage); 0 when none.';
COMMENT ON COLUMN agent.trace_stats.completion_tokens IS
    'Sum of tokens_used.completion over model_call and embedding spans only; 0 when none.';
COMMENT ON COLUMN agent.trace_stats.total_tokens IS
    'Sum over model_call and embedding spans of tokens_used.total, else prompt + completion; 0 when none.';
COMMENT ON COLUMN agent.trace_stats.cost_usd IS
    'Sum of cost_usd over model_call and embedding spans only; 0 when none is known.';
