//! `agent.span_rollups` on SQLite: reading statistics through a
//! [`rollup::plan`] and recomputing changed minutes (see
//! `agentrace_store::rollup` for the design, and
//! `agentrace-store-postgres`'s `rollup` module for its PostgreSQL twin).
//!
//! SQLite has one writer: a refresh runs on the writer thread like every
//! other write, so it never races another refresh or an ingest, and the
//! minutes it picks are exactly the notes it deletes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use agentrace_core::time::{parse_fixed_text, to_fixed_text, Timestamp};
use agentrace_store::query::{StatsGroup, StatsQuery};
use agentrace_store::rollup::{self, FactRows, Grain, LatencySketch, RollupKey, RollupValues, SpanFact};
use agentrace_store::StoreError;
use rusqlite::types::Type;
use rusqlite::{params, Connection, Row, TransactionBehavior};

use crate::query::{token, Sql, BILLED};
use crate::store::store_error;

const ROLLUP_COLUMNS: &str = "r.bucket_start, r.project, r.span_type, r.model, r.span_count, r.error_count, \
     r.prompt_tokens, r.completion_tokens, r.total_tokens, r.cost_usd, r.unpriced_count, r.latency_sketch";

/// The columns of a [`SpanFact`] of the spans `s` of the traces `t`, with
/// the token expressions of the exact statistics (`usage_aggregates`).
fn fact_columns() -> String {
    let (prompt, completion, total) = (token("prompt"), token("completion"), token("total"));
    format!(
        "s.start_time, t.project, s.span_type, s.model, s.status = 'error', s.duration_ms, \
         CASE WHEN {BILLED} THEN CAST(coalesce({prompt}, 0) AS REAL) ELSE 0.0 END, \
         CASE WHEN {BILLED} THEN CAST(coalesce({completion}, 0) AS REAL) ELSE 0.0 END, \
         CASE WHEN {BILLED} THEN CAST(coalesce({total}, coalesce({prompt}, 0) + coalesce({completion}, 0)) AS REAL) \
         ELSE 0.0 END, \
         CASE WHEN {BILLED} THEN s.cost_usd END, \
         ({BILLED} AND s.model IS NOT NULL AND s.tokens_used IS NOT NULL AND s.cost_usd IS NULL)"
    )
}

/// A stored time, refused rather than dropped when it is not in the fixed
/// form: a span or bucket read as "no time" would be counted elsewhere.
fn time_column(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<Timestamp>> {
    let Some(text) = row.get::<_, Option<String>>(index)? else {
        return Ok(None);
    };
    parse_fixed_text(&text).map(Some).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(index, Type::Text, format!("not a stored timestamp: {text}").into())
    })
}

fn required_time(row: &Row<'_>, index: usize) -> rusqlite::Result<Timestamp> {
    time_column(row, index)?.ok_or(rusqlite::Error::InvalidColumnType(index, "timestamp".into(), Type::Null))
}

fn fact_from_row(row: &Row<'_>) -> rusqlite::Result<SpanFact> {
    Ok(SpanFact {
        start_time: time_column(row, 0)?,
        project: row.get(1)?,
        span_type: row.get(2)?,
        model: row.get(3)?,
        is_error: row.get(4)?,
        duration_ms: row.get(5)?,
        prompt_tokens: row.get(6)?,
        completion_tokens: row.get(7)?,
        total_tokens: row.get(8)?,
        cost_usd: row.get(9)?,
        unpriced: row.get(10)?,
    })
}

fn rollup_from_row(row: &Row<'_>) -> rusqlite::Result<(RollupKey, RollupValues)> {
    let key = RollupKey {
        bucket_start: required_time(row, 0)?,
        project: row.get(1)?,
        span_type: row.get(2)?,
        model: row.get(3)?,
    };
    let sketch: Vec<u8> = row.get(11)?;
    let values = RollupValues {
        span_count: row.get(4)?,
        error_count: row.get(5)?,
        prompt_tokens: row.get(6)?,
        completion_tokens: row.get(7)?,
        total_tokens: row.get(8)?,
        cost_usd: row.get(9)?,
        unpriced_count: row.get(10)?,
        latency: LatencySketch::decode(&sketch)
            .map_err(|error| rusqlite::Error::FromSqlConversionFailure(11, Type::Blob, error.into()))?,
    };
    Ok((key, values))
}

/// Statistics from rollups, or `None` when the exact query should answer
/// (see [`rollup::groups`]).
pub(crate) fn rollup_stats(connection: &Connection, query: &StatsQuery) -> Result<Option<Vec<StatsGroup>>, StoreError> {
    if !rollup::serves(query) {
        return Ok(None);
    }
    // One snapshot for the change notes, the rollups and the spans: a
    // refresh committing in between would otherwise count a minute twice
    // or not at all. Under WAL a deferred transaction reads the database
    // as of its first read until it ends. Unchecked because readers are
    // shared (`&Connection`); none is ever inside another transaction.
    let transaction = connection.unchecked_transaction().map_err(store_error)?;
    let mut sql = Sql::default();
    let mut bounds = Vec::new();
    if let Some(since) = query.since {
        bounds.push(format!("minute >= {}", sql.bind(to_fixed_text(Grain::Minute.floor(since)))));
    }
    if let Some(until) = query.until {
        bounds.push(format!("minute < {}", sql.bind(to_fixed_text(until))));
    }
    let condition = if bounds.is_empty() { String::new() } else { format!("WHERE {}", bounds.join(" AND ")) };
    sql.text = format!("SELECT minute FROM agent.span_rollup_changes {condition}");
    let changed: BTreeSet<Timestamp> = sql.query(&transaction, |row| required_time(row, 0))?.into_iter().collect();
    let plan = rollup::plan(query.since, query.until, &changed);
    if plan.facts.len() > rollup::MAX_FACT_RANGES {
        return Ok(None);
    }

    let rows = if plan.hours.is_empty() && plan.minutes.is_empty() {
        Vec::new()
    } else {
        let mut sql = Sql::default();
        let mut conditions = rollup::filter_conditions(&mut sql, query, "r", "r");
        let hours = rollup::in_ranges(&mut sql, "r.bucket_start", &plan.hours);
        let minutes = rollup::in_ranges(&mut sql, "r.bucket_start", &plan.minutes);
        conditions.push(format!("((r.grain = 'hour' AND {hours}) OR (r.grain = 'minute' AND {minutes}))"));
        sql.text = format!("SELECT {ROLLUP_COLUMNS} FROM agent.span_rollups r WHERE {}", conditions.join(" AND "));
        sql.query(&transaction, rollup_from_row)?
    };

    let mut facts = FactRows::default();
    if !plan.facts.is_empty() || plan.unstarted {
        let mut sql = Sql::default();
        let mut conditions = rollup::filter_conditions(&mut sql, query, "t", "s");
        let mut times = rollup::in_ranges(&mut sql, "s.start_time", &plan.facts);
        if plan.unstarted {
            times = format!("({times} OR s.start_time IS NULL)");
        }
        conditions.push(times);
        sql.text = format!(
            "SELECT {} FROM agent.spans s JOIN agent.traces t ON t.trace_id = s.trace_id WHERE {}",
            fact_columns(),
            conditions.join(" AND ")
        );
        // Folded as read: a busy range can hold hundreds of thousands of spans.
        sql.for_each(&transaction, |row| {
            facts.add(&fact_from_row(row)?);
            Ok(())
        })?;
    }
    transaction.commit().map_err(store_error)?;
    Ok(rollup::groups(query, &rows, &facts))
}

fn insert_rollups(
    connection: &Connection,
    grain: Grain,
    rows: &BTreeMap<RollupKey, RollupValues>,
) -> Result<(), StoreError> {
    let mut insert = connection
        .prepare_cached(
            "INSERT INTO agent.span_rollups (grain, bucket_start, project, span_type, model, span_count, error_count, \
             prompt_tokens, completion_tokens, total_tokens, cost_usd, unpriced_count, latency_sketch) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )
        .map_err(store_error)?;
    for (key, values) in rows {
        insert
            .execute(params![
                grain.as_str(),
                to_fixed_text(key.bucket_start),
                key.project,
                key.span_type,
                key.model,
                values.span_count,
                values.error_count,
                values.prompt_tokens,
                values.completion_tokens,
                values.total_tokens,
                values.cost_usd,
                values.unpriced_count,
                values.latency.encode(),
            ])
            .map_err(store_error)?;
    }
    Ok(())
}

/// Recomputes the oldest `max_minutes` noted minutes that have been quiet
/// for `quiet_for`, and their hours, and clears their notes, in one
/// transaction on the writer connection; how many minutes it recomputed.
pub(crate) fn refresh_rollups(
    connection: &mut Connection,
    max_minutes: usize,
    quiet_for: Duration,
) -> Result<usize, StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(store_error)?;
    let limit = i64::try_from(max_minutes).unwrap_or(i64::MAX);
    // The cutoff is worked out by SQLite, in the form its default wrote
    // noted_at in, so that the two compare as text. A wait of millennia
    // makes it NULL or a date before any note: nothing is quiet enough.
    let quiet = format!("-{:.3} seconds", quiet_for.as_secs_f64());
    // Each note with its text as stored, which is what it is deleted by.
    let notes: Vec<(String, Timestamp)> = transaction
        .prepare_cached(
            "SELECT minute, minute FROM agent.span_rollup_changes \
             WHERE noted_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2) ORDER BY minute LIMIT ?1",
        )
        .and_then(|mut select| {
            select
                .query_map(params![limit, quiet], |row| Ok((row.get(0)?, required_time(row, 1)?)))
                .and_then(Iterator::collect::<rusqlite::Result<_>>)
        })
        .map_err(store_error)?;
    if notes.is_empty() {
        return Ok(0);
    }
    let minutes: Vec<Timestamp> = notes.iter().map(|(_, minute)| *minute).collect();

    // One indexed range per minute rather than one statement over all of
    // them: SQLite runs statements in-process, so the loop costs no round
    // trips, and each range reads only its minute's spans.
    let mut facts = FactRows::default();
    {
        let mut select = transaction
            .prepare_cached(&format!(
                "SELECT {} FROM agent.spans s JOIN agent.traces t ON t.trace_id = s.trace_id \
                 WHERE s.start_time >= ?1 AND s.start_time < ?2",
                fact_columns()
            ))
            .map_err(store_error)?;
        let mut delete = transaction
            .prepare_cached("DELETE FROM agent.span_rollups WHERE grain = 'minute' AND bucket_start = ?1")
            .map_err(store_error)?;
        for minute in &minutes {
            let (start, end) = (to_fixed_text(*minute), to_fixed_text(*minute + Grain::Minute.width()));
            let mut spans = select.query(params![start, end]).map_err(store_error)?;
            while let Some(row) = spans.next().map_err(store_error)? {
                facts.add(&fact_from_row(row).map_err(store_error)?);
            }
            delete.execute([start]).map_err(store_error)?;
        }
    }
    insert_rollups(&transaction, Grain::Minute, &facts.minutes)?;

    let hours: BTreeSet<Timestamp> = minutes.iter().map(|minute| Grain::Hour.floor(*minute)).collect();
    for hour in hours {
        let (start, end) = (to_fixed_text(hour), to_fixed_text(hour + Grain::Hour.width()));
        let minute_rows = transaction
            .prepare_cached(&format!(
                "SELECT {ROLLUP_COLUMNS} FROM agent.span_rollups r \
                 WHERE r.grain = 'minute' AND r.bucket_start >= ?1 AND r.bucket_start < ?2"
            ))
            .and_then(|mut select| {
                select
                    .query_map(params![start, end], rollup_from_row)
                    .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            })
            .map_err(store_error)?;
        transaction
            .prepare_cached("DELETE FROM agent.span_rollups WHERE grain = 'hour' AND bucket_start = ?1")
            .and_then(|mut delete| delete.execute([&start]))
            .map_err(store_error)?;
        insert_rollups(&transaction, Grain::Hour, &rollup::coarsen(minute_rows, Grain::Hour))?;
    }

    {
        let mut delete = transaction
            .prepare_cached("DELETE FROM agent.span_rollup_changes WHERE minute = ?1")
            .map_err(store_error)?;
        for (note, _) in &notes {
            delete.execute([note]).map_err(store_error)?;
        }
    }
    transaction.commit().map_err(store_error)?;
    Ok(notes.len())
}

/// How many minutes wait for [`refresh_rollups`].
pub(crate) fn rollup_backlog(connection: &Connection) -> Result<u64, StoreError> {
    connection
        .query_row("SELECT count(*) FROM agent.span_rollup_changes", [], |row| row.get::<_, i64>(0))
        .map(|count| u64::try_from(count).unwrap_or(0))
        .map_err(store_error)
}

#[cfg(test)]
mod tests {
    use agentrace_core::time::parse_rfc3339;
    use agentrace_testkit::sqlite::TempSqlite;

    use super::*;
    use crate::{connection, migrations};

    fn migrated() -> (TempSqlite, Connection) {
        let file = TempSqlite::new();
        let mut connection = connection::open(file.path()).unwrap();
        migrations::apply(&mut connection).unwrap();
        (file, connection)
    }

    fn notes(connection: &Connection) -> Vec<String> {
        let mut select = connection.prepare("SELECT minute FROM agent.span_rollup_changes ORDER BY minute").unwrap();
        select.query_map([], |row| row.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn the_triggers_note_minutes_in_the_form_of_bucket_start() {
        let (_file, connection) = migrated();
        let start = parse_rfc3339("2026-03-01T10:17:59.999999Z").unwrap();
        connection
            .execute_batch(&format!(
                "INSERT INTO agent.traces (trace_id, session_id) VALUES ('t', 't');
                 INSERT INTO agent.spans (trace_id, span_id, start_time) VALUES ('t', 'a', '{}');
                 INSERT INTO agent.spans (trace_id, span_id) VALUES ('t', 'unstarted');",
                to_fixed_text(start)
            ))
            .unwrap();
        assert_eq!(notes(&connection), [to_fixed_text(Grain::Minute.floor(start))]);

        // The store's span upsert fires the update trigger on a minute
        // already noted: the note must not make it fail.
        connection
            .execute_batch(
                "INSERT INTO agent.spans (trace_id, span_id, start_time) VALUES ('t', 'a', '2026-03-01T11:00:00.000000Z')
                 ON CONFLICT (trace_id, span_id) DO UPDATE SET start_time = excluded.start_time;
                 UPDATE agent.traces SET project = 'elsewhere' WHERE trace_id = 't';",
            )
            .unwrap();
        assert_eq!(notes(&connection), ["2026-03-01T10:17:00.000000Z", "2026-03-01T11:00:00.000000Z"]);
    }

    #[test]
    fn a_refresh_leaves_minutes_changed_within_quiet_for() {
        let (_file, mut connection) = migrated();
        connection
            .execute_batch(
                "INSERT INTO agent.traces (trace_id, session_id) VALUES ('t', 't');
                 INSERT INTO agent.spans (trace_id, span_id, span_type, start_time, duration_ms)
                 VALUES ('t', 'a', 'tool_call', '2026-03-01T10:17:30.000000Z', 40),
                        ('t', 'b', 'tool_call', '2026-03-01T10:18:30.000000Z', 50);",
            )
            .unwrap();

        assert_eq!(refresh_rollups(&mut connection, 10, Duration::from_secs(3600)).unwrap(), 0);
        assert_eq!(rollup_backlog(&connection).unwrap(), 2);
        assert_eq!(refresh_rollups(&mut connection, 1, Duration::ZERO).unwrap(), 1);
        assert_eq!(notes(&connection), ["2026-03-01T10:18:00.000000Z"]);
        assert_eq!(refresh_rollups(&mut connection, 10, Duration::ZERO).unwrap(), 1);
        assert_eq!(rollup_backlog(&connection).unwrap(), 0);

        let rows: Vec<(String, String, i64)> = connection
            .prepare("SELECT grain, bucket_start, span_count FROM agent.span_rollups ORDER BY grain, bucket_start")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let row = |grain: &str, bucket: &str, count| (grain.to_owned(), bucket.to_owned(), count);
        assert_eq!(
            rows,
            [
                row("hour", "2026-03-01T10:00:00.000000Z", 2),
                row("minute", "2026-03-01T10:17:00.000000Z", 1),
                row("minute", "2026-03-01T10:18:00.000000Z", 1),
            ]
        );
    }
}
