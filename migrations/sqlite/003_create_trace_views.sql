-- Trace Service Migration: Create trace views
-- Version: 003
-- Date: 2026-11-28

-- The same two views as migrations/postgres/003, with the same columns,
-- rows and order. Inside a view body SQLite resolves unqualified names in
-- the view's own database, so the bodies say `spans` and `traces`: the views
-- work whatever name the file is attached under (agent, or main when the
-- file is opened directly).

-- agent.trace_tree
--
-- SQLite neither pushes an outer filter into a recursive CTE nor has
-- LATERAL. So the recursion runs in a subquery correlated with each
-- agent.traces row, passed as the argument of json_each (which SQLite
-- evaluates again for each outer row), with the trace id inside. Its joins
-- are CROSS JOINs, which SQLite never reorders: the working row stays the
-- outer loop and each step is an index probe (spans_trace_parent_idx, or the
-- primary key), whatever the planner would estimate otherwise. The subquery
-- returns the rows of one trace as a JSON array in tree order: [rowid,
-- level, path, sort_key, is_orphan]; the span's columns are then read by
-- rowid. `SELECT * FROM agent.trace_tree WHERE trace_id = ?` therefore costs
-- O(spans of that trace).
--
-- Roots, cycles and sort_key follow the PostgreSQL view exactly (see the
-- comments there): spans whose parent is not in the trace are roots
-- (is_orphan 1); what the walk from the roots leaves out lies in or below a
-- parent cycle and is shown from the cycle's smallest span id (byte order),
-- as a level-1 row, and no span is visited twice. Timestamps are stored in
-- the fixed-width form YYYY-MM-DDTHH:MM:SS.ffffffZ, so they enter sort_key
-- as they are; hex() gives the span id's UTF-8 bytes in upper case.
DROP VIEW IF EXISTS agent.trace_tree;
CREATE VIEW agent.trace_tree AS
SELECT t.trace_id,
       s.span_id,
       s.parent_span_id,
       s.span_type,
       s.name,
       s.start_time,
       s.end_time,
       s.duration_ms,
       s.status,
       s.model,
       s.provider,
       s.tokens_used,
       json_extract(node.value, '$[1]') AS level,
       json_extract(node.value, '$[2]') AS path,
       json_extract(node.value, '$[3]') AS sort_key,
       json_extract(node.value, '$[4]') AS is_orphan
FROM traces t
CROSS JOIN json_each((
    WITH RECURSIVE
    roots (span_id, is_orphan) AS (
        SELECT s.span_id, 0
        FROM spans s
        WHERE s.trace_id = t.trace_id AND s.parent_span_id IS NULL
        UNION ALL
        SELECT s.span_id, 1
        FROM spans s
        WHERE s.trace_id = t.trace_id
          AND s.parent_span_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM spans p WHERE p.trace_id = t.trace_id AND p.span_id = s.parent_span_id)
    ),
    -- Spans on a parent cycle are reached from no root. Each cycle is
    -- entered at its smallest member, found as in the PostgreSQL view: a
    -- span whose parent and some child are both not smaller climbs the
    -- parent links through larger ids only; it is a cycle's smallest member
    -- when it comes back to itself.
    size (n) AS (
        SELECT count(*) FROM spans a WHERE a.trace_id = t.trace_id
    ),
    climb (origin, span_id, steps) AS (
        SELECT l.span_id, l.parent_span_id, 1
        FROM spans l
        WHERE l.trace_id = t.trace_id
          AND l.parent_span_id >= l.span_id
          AND EXISTS (SELECT 1 FROM spans k
                      WHERE k.trace_id = t.trace_id AND k.parent_span_id = l.span_id AND k.span_id >= l.span_id)
        UNION ALL
        SELECT climb.origin, l.parent_span_id, climb.steps + 1
        FROM climb
        CROSS JOIN size
        CROSS JOIN spans l
        WHERE l.trace_id = t.trace_id
          AND l.span_id = climb.span_id
          AND l.span_id > climb.origin
          AND climb.steps < size.n
    ),
    tops (span_id, is_orphan) AS (
        SELECT roots.span_id, roots.is_orphan FROM roots
        UNION ALL
        SELECT climb.origin, 0 FROM climb WHERE climb.span_id = climb.origin
    ),
    tree (rid, span_id, level, path, sort_key, is_orphan, top) AS (
        SELECT s.rowid,
               s.span_id,
               1,
               json_array(s.span_id),
               coalesce(s.start_time, '9999-12-31T23:59:59.999999Z') || hex(s.span_id),
               tops.is_orphan,
               s.span_id
        FROM tops
        CROSS JOIN spans s
        WHERE s.trace_id = t.trace_id AND s.span_id = tops.span_id
        UNION ALL
        SELECT c.rowid,
               c.span_id,
               tree.level + 1,
               json_insert(tree.path, '$[#]', c.span_id),
               tree.sort_key || '/' || coalesce(c.start_time, '9999-12-31T23:59:59.999999Z') || hex(c.span_id),
               0,
               tree.top
        FROM tree
        CROSS JOIN spans c
        WHERE c.trace_id = t.trace_id AND c.parent_span_id = tree.span_id AND c.span_id <> tree.top
    )
    SELECT json_group_array(json_array(ordered.rid, ordered.level, json(ordered.path), ordered.sort_key, ordered.is_orphan))
    FROM (SELECT * FROM tree ORDER BY tree.sort_key) AS ordered
)) AS node
CROSS JOIN spans s ON s.rowid = json_extract(node.value, '$[0]')
ORDER BY t.trace_id, node.key;

-- agent.trace_stats
--
-- One aggregate per trace, computed in a subquery correlated with the
-- agent.traces row (json_each's argument, as above), so that a filter on a
-- trace column (session_id, trace_id, ...) picks traces by their index and
-- only their spans are read, through an index on trace_id. Tokens and cost
-- count model_call and embedding spans only (an agent span may carry the
-- whole run's usage again); only JSON numbers count, and sums are 0 when
-- there is nothing to sum. Rows come oldest first, as on PostgreSQL.
DROP VIEW IF EXISTS agent.trace_stats;
CREATE VIEW agent.trace_stats AS
SELECT t.trace_id,
       t.session_id,
       t.user_id,
       t.project,
       t.name,
       t.start_time,
       t.end_time,
       t.duration_ms AS total_duration_ms,
       t.status,
       json_extract(totals.value, '$[0]') AS total_spans,
       json_extract(totals.value, '$[1]') AS model_calls,
       json_extract(totals.value, '$[2]') AS tool_calls,
       json_extract(totals.value, '$[3]') AS mcp_calls,
       json_extract(totals.value, '$[4]') AS error_spans,
       json_extract(totals.value, '$[5]') AS prompt_tokens,
       json_extract(totals.value, '$[6]') AS completion_tokens,
       json_extract(totals.value, '$[7]') AS total_tokens,
       json_extract(totals.value, '$[8]') AS cost_usd,
       t.created_at
FROM traces t
CROSS JOIN json_each((
    SELECT json_array(json_array(
               count(*),
               count(*) FILTER (WHERE usage.span_type = 'model_call'),
               count(*) FILTER (WHERE usage.span_type = 'tool_call'),
               count(*) FILTER (WHERE usage.span_type = 'mcp_call'),
               count(*) FILTER (WHERE usage.status = 'error'),
               CAST(coalesce(sum(usage.prompt) FILTER (WHERE usage.billed), 0) AS INTEGER),
               CAST(coalesce(sum(usage.completion) FILTER (WHERE usage.billed), 0) AS INTEGER),
               CAST(coalesce(sum(coalesce(usage.total, coalesce(usage.prompt, 0) + coalesce(usage.completion, 0)))
                                 FILTER (WHERE usage.billed), 0) AS INTEGER),
               coalesce(sum(usage.cost_usd) FILTER (WHERE usage.billed), 0.0)))
    FROM (
        SELECT s.span_type,
               s.status,
               s.cost_usd,
               s.span_type IN ('model_call', 'embedding') AS billed,
               CASE WHEN json_type(s.tokens_used, '$.prompt') IN ('integer', 'real')
                    THEN json_extract(s.tokens_used, '$.prompt') END AS prompt,
               CASE WHEN json_type(s.tokens_used, '$.completion') IN ('integer', 'real')
                    THEN json_extract(s.tokens_used, '$.completion') END AS completion,
               CASE WHEN json_type(s.tokens_used, '$.total') IN ('integer', 'real')
                    THEN json_extract(s.tokens_used, '$.total') END AS total
        FROM spans s
        WHERE s.trace_id = t.trace_id
    ) AS usage
)) AS totals
ORDER BY t.start_time NULLS LAST, t.trace_id;
