//! `agent.span_rollups` on PostgreSQL: reading statistics through a
//! [`rollup::plan`] and recomputing changed minutes (see
//! `agentrace_store::rollup` for the design).

use std::collections::{BTreeMap, BTreeSet};

use agentrace_core::time::Timestamp;
use agentrace_store::query::{StatsGroup, StatsQuery};
use agentrace_store::rollup::{self, FactRows, Grain, RollupKey, RollupValues, SpanFact};
use agentrace_store::StoreError;
use futures::{pin_mut, TryStreamExt};
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, IsolationLevel, Row};

use crate::query::{token, Sql, BILLED};
use crate::store::store_error;
use crate::PostgresStore;

/// Key of the transaction advisory lock a refresh holds, so that one
/// agentrace at a time recomputes rollups: "rollups!" in ASCII.
const REFRESH_LOCK_KEY: i64 = 0x726f_6c6c_7570_7321;

const ROLLUP_COLUMNS: &str = "r.grain, r.bucket_start, r.project, r.span_type, r.model, r.span_count, r.error_count, \
     r.prompt_tokens::float8, r.completion_tokens::float8, r.total_tokens::float8, r.cost_usd::float8, \
     r.unpriced_count, r.latency_sketch";

/// The columns of a [`SpanFact`] of the spans `s`, with the token
/// expressions of the exact statistics; `project` is the expression that
/// gives the project of a span's trace.
fn fact_columns(project: &str) -> String {
    let (prompt, completion, total) = (token("prompt"), token("completion"), token("total"));
    format!(
        "s.start_time, {project}, s.span_type, s.model, s.status = 'error', s.duration_ms, \
         CASE WHEN {BILLED} THEN coalesce({prompt}, 0)::float8 ELSE 0 END, \
         CASE WHEN {BILLED} THEN coalesce({completion}, 0)::float8 ELSE 0 END, \
         CASE WHEN {BILLED} THEN coalesce({total}, coalesce({prompt}, 0) + coalesce({completion}, 0))::float8 ELSE 0 END, \
         CASE WHEN {BILLED} THEN s.cost_usd::float8 END, \
         ({BILLED} AND s.model IS NOT NULL AND s.tokens_used IS NOT NULL AND s.cost_usd IS NULL)"
    )
}

fn fact_from_row(row: &Row) -> SpanFact {
    SpanFact {
        start_time: row.get(0),
        project: row.get(1),
        span_type: row.get(2),
        model: row.get(3),
        is_error: row.get(4),
        duration_ms: row.get(5),
        prompt_tokens: row.get(6),
        completion_tokens: row.get(7),
        total_tokens: row.get(8),
        cost_usd: row.get(9),
        unpriced: row.get(10),
    }
}

/// Folds the spans `sql` selects (with [`fact_columns`]) into rows as they
/// arrive: a busy minute can hold hundreds of thousands of spans.
async fn fold_facts(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    facts: &mut FactRows,
) -> Result<(), StoreError> {
    let rows = client.query_raw(sql, params.iter().copied()).await.map_err(store_error)?;
    pin_mut!(rows);
    while let Some(row) = rows.try_next().await.map_err(store_error)? {
        facts.add(&fact_from_row(&row));
    }
    Ok(())
}

/// The first and last bucket of each run of consecutive buckets in
/// `buckets` (sorted, without repeats).
fn consecutive_runs(buckets: &[Timestamp], grain: Grain) -> Vec<(Timestamp, Timestamp)> {
    let mut runs: Vec<(Timestamp, Timestamp)> = Vec::new();
    for &bucket in buckets {
        match runs.last_mut() {
            Some((_, last)) if *last + grain.width() == bucket => *last = bucket,
            _ => runs.push((bucket, bucket)),
        }
    }
    runs
}

fn rollup_from_row(row: &Row) -> Result<(Grain, RollupKey, RollupValues), StoreError> {
    let grain: &str = row.get(0);
    let grain =
        Grain::parse(grain).ok_or_else(|| StoreError::Internal(format!("span_rollups: unknown grain {grain}")))?;
    let key = RollupKey { bucket_start: row.get(1), project: row.get(2), span_type: row.get(3), model: row.get(4) };
    let values = RollupValues {
        span_count: row.get(5),
        error_count: row.get(6),
        prompt_tokens: row.get(7),
        completion_tokens: row.get(8),
        total_tokens: row.get(9),
        cost_usd: row.get(10),
        unpriced_count: row.get(11),
        latency: rollup::LatencySketch::decode(row.get(12)).map_err(StoreError::Internal)?,
    };
    Ok((grain, key, values))
}

/// Statistics from rollups, or `None` when the exact query should answer
/// (see [`rollup::groups`]).
pub(crate) async fn rollup_stats(
    client: &mut deadpool_postgres::Object,
    query: &StatsQuery,
) -> Result<Option<Vec<StatsGroup>>, StoreError> {
    if !rollup::serves(query) {
        return Ok(None);
    }
    // One snapshot for the change notes, the rollups and the spans: a
    // refresh committing in between would otherwise count a minute twice
    // or not at all.
    let transaction = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(store_error)?;
    let mut sql = Sql::default();
    let mut bounds = Vec::new();
    if let Some(since) = query.since {
        bounds.push(format!("minute >= {}", sql.bind(Grain::Minute.floor(since))));
    }
    if let Some(until) = query.until {
        bounds.push(format!("minute < {}", sql.bind(until)));
    }
    let condition = if bounds.is_empty() { String::new() } else { format!("WHERE {}", bounds.join(" AND ")) };
    sql.text = format!("SELECT DISTINCT minute FROM agent.span_rollup_changes {condition}");
    let changed: BTreeSet<Timestamp> = sql.query(&*transaction).await?.iter().map(|row| row.get(0)).collect();
    let plan = rollup::plan(query.since, query.until, &changed);
    if plan.facts.len() > rollup::MAX_FACT_RANGES {
        return Ok(None);
    }

    let mut sql = Sql::default();
    let mut conditions = rollup::filter_conditions(&mut sql, query, "r", "r");
    let hours = rollup::in_ranges(&mut sql, "r.bucket_start", &plan.hours);
    let minutes = rollup::in_ranges(&mut sql, "r.bucket_start", &plan.minutes);
    conditions.push(format!("((r.grain = 'hour' AND {hours}) OR (r.grain = 'minute' AND {minutes}))"));
    sql.text = format!("SELECT {ROLLUP_COLUMNS} FROM agent.span_rollups r WHERE {}", conditions.join(" AND "));
    let rows = if plan.hours.is_empty() && plan.minutes.is_empty() {
        Vec::new()
    } else {
        sql.query(&*transaction)
            .await?
            .iter()
            .map(|row| rollup_from_row(row).map(|(_, key, values)| (key, values)))
            .collect::<Result<Vec<_>, _>>()?
    };

    let mut sql = Sql::default();
    let mut conditions = rollup::filter_conditions(&mut sql, query, "t", "s");
    let mut times = rollup::in_ranges(&mut sql, "s.start_time", &plan.facts);
    if plan.unstarted {
        times = format!("({times} OR s.start_time IS NULL)");
    }
    conditions.push(times);
    sql.text = format!(
        "SELECT {} FROM agent.spans s JOIN agent.traces t ON t.trace_id = s.trace_id WHERE {}",
        fact_columns("t.project"),
        conditions.join(" AND ")
    );
    let mut facts = FactRows::default();
    if !plan.facts.is_empty() || plan.unstarted {
        let params: Vec<&(dyn ToSql + Sync)> = sql.params.iter().map(|param| param.as_ref() as _).collect();
        fold_facts(&*transaction, &sql.text, &params, &mut facts).await?;
    }
    transaction.commit().await.map_err(store_error)?;
    Ok(rollup::groups(query, &rows, &facts))
}

/// Column arrays of rollup rows, for one `INSERT … SELECT FROM unnest(…)`.
async fn insert_rollups(
    client: &impl GenericClient,
    grain: Grain,
    rows: &BTreeMap<RollupKey, RollupValues>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut buckets = Vec::with_capacity(rows.len());
    let mut projects = Vec::with_capacity(rows.len());
    let mut span_types = Vec::with_capacity(rows.len());
    let mut models = Vec::with_capacity(rows.len());
    let mut counts = Vec::with_capacity(rows.len());
    let mut errors = Vec::with_capacity(rows.len());
    let mut prompt = Vec::with_capacity(rows.len());
    let mut completion = Vec::with_capacity(rows.len());
    let mut total = Vec::with_capacity(rows.len());
    let mut cost = Vec::with_capacity(rows.len());
    let mut unpriced = Vec::with_capacity(rows.len());
    let mut sketches = Vec::with_capacity(rows.len());
    for (key, values) in rows {
        buckets.push(key.bucket_start);
        projects.push(key.project.clone());
        span_types.push(key.span_type.clone());
        models.push(key.model.clone());
        counts.push(values.span_count);
        errors.push(values.error_count);
        prompt.push(values.prompt_tokens);
        completion.push(values.completion_tokens);
        total.push(values.total_tokens);
        cost.push(values.cost_usd);
        unpriced.push(values.unpriced_count);
        sketches.push(values.latency.encode());
    }
    client
        .execute(
            "INSERT INTO agent.span_rollups (grain, bucket_start, project, span_type, model, span_count, error_count, \
             prompt_tokens, completion_tokens, total_tokens, cost_usd, unpriced_count, latency_sketch) \
             SELECT $1, * FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[], \
             $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::int8[], $13::bytea[])",
            &[
                &grain.as_str(),
                &buckets,
                &projects,
                &span_types,
                &models,
                &counts,
                &errors,
                &prompt,
                &completion,
                &total,
                &cost,
                &unpriced,
                &sketches,
            ],
        )
        .await
        .map_err(store_error)?;
    Ok(())
}

impl PostgresStore {
    pub(crate) async fn refresh_rollups_now(
        &self,
        max_minutes: usize,
        quiet_for: std::time::Duration,
    ) -> Result<usize, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(store_error)?;
        let locked: bool = transaction
            .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&REFRESH_LOCK_KEY])
            .await
            .map_err(store_error)?
            .get(0);
        if !locked {
            return Ok(0);
        }
        // The per-span project lookup prices the refresh over JIT's
        // threshold at a few hundred thousand spans; compiling its
        // expressions costs more than the few thousand rows it reads.
        transaction.batch_execute("SET LOCAL jit = off").await.map_err(store_error)?;
        let limit = i64::try_from(max_minutes).unwrap_or(i64::MAX);
        // Writers only append notes, so claiming them locks nothing a writer
        // waits for; the notes read here are deleted by id at the end, and a
        // note committed meanwhile stays for the next refresh.
        let notes = transaction
            .query(
                "WITH picked AS (SELECT minute FROM agent.span_rollup_changes GROUP BY minute \
                                 HAVING max(noted_at) <= now() - make_interval(secs => $2) \
                                 ORDER BY minute LIMIT $1) \
                 SELECT c.change_id, c.minute FROM agent.span_rollup_changes c JOIN picked USING (minute)",
                &[&limit, &quiet_for.as_secs_f64()],
            )
            .await
            .map_err(store_error)?;
        if notes.is_empty() {
            return Ok(0);
        }
        let note_ids: Vec<i64> = notes.iter().map(|row| row.get(0)).collect();
        let minutes: Vec<Timestamp> =
            notes.iter().map(|row| row.get::<_, Timestamp>(1)).collect::<BTreeSet<_>>().into_iter().collect();
        // One range scan per run of consecutive minutes, with its bounds as
        // parameters: joined to an array of minutes instead, the planner
        // could not tell how many spans a minute holds (it guessed 1.9
        // million where there were 2,000) and scanned the whole spans
        // table, 0.2–0.6 s per refresh at 500,000 spans. The project comes
        // from a lookup by primary key for the same reason: joined, the
        // traces table was hashed whole.
        let sql = format!(
            "SELECT {} FROM agent.spans s WHERE s.start_time >= $1 AND s.start_time < $2",
            fact_columns("(SELECT t.project FROM agent.traces t WHERE t.trace_id = s.trace_id)")
        );
        let mut facts = FactRows::default();
        for (first, last) in consecutive_runs(&minutes, Grain::Minute) {
            let end = last + Grain::Minute.width();
            fold_facts(&*transaction, &sql, &[&first, &end], &mut facts).await?;
        }
        transaction
            .execute("DELETE FROM agent.span_rollups WHERE grain = 'minute' AND bucket_start = ANY($1)", &[&minutes])
            .await
            .map_err(store_error)?;
        insert_rollups(&*transaction, Grain::Minute, &facts.minutes).await?;

        let hours: Vec<Timestamp> =
            minutes.iter().map(|minute| Grain::Hour.floor(*minute)).collect::<BTreeSet<_>>().into_iter().collect();
        let minute_rows = transaction
            .query(
                &format!(
                    "SELECT {ROLLUP_COLUMNS} FROM unnest($1::timestamptz[]) AS h(hour) \
                     JOIN agent.span_rollups r ON r.grain = 'minute' AND r.bucket_start >= h.hour \
                     AND r.bucket_start < h.hour + interval '1 hour'"
                ),
                &[&hours],
            )
            .await
            .map_err(store_error)?
            .iter()
            .map(|row| rollup_from_row(row).map(|(_, key, values)| (key, values)))
            .collect::<Result<Vec<_>, _>>()?;
        transaction
            .execute("DELETE FROM agent.span_rollups WHERE grain = 'hour' AND bucket_start = ANY($1)", &[&hours])
            .await
            .map_err(store_error)?;
        insert_rollups(&*transaction, Grain::Hour, &rollup::coarsen(minute_rows, Grain::Hour)).await?;
        transaction
            .execute("DELETE FROM agent.span_rollup_changes WHERE change_id = ANY($1)", &[&note_ids])
            .await
            .map_err(store_error)?;
        transaction.commit().await.map_err(store_error)?;
        Ok(minutes.len())
    }

    pub(crate) async fn rollup_backlog_now(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT count(DISTINCT minute) FROM agent.span_rollup_changes", &[])
            .await
            .map_err(store_error)?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn minute(index: i64) -> Timestamp {
        chrono::Utc.timestamp_opt(1_800_000_000 + index * 60, 0).unwrap()
    }

    #[test]
    fn consecutive_minutes_are_read_in_one_range() {
        let minutes = [minute(0), minute(1), minute(2), minute(5), minute(7), minute(8)];
        assert_eq!(
            consecutive_runs(&minutes, Grain::Minute),
            vec![(minute(0), minute(2)), (minute(5), minute(5)), (minute(7), minute(8))]
        );
        assert!(consecutive_runs(&[], Grain::Minute).is_empty());
    }
}
