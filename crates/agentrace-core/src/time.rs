//! Timestamps: accepted as RFC 3339 strings or epoch milliseconds, held at
//! microsecond precision because that is what PostgreSQL stores; truncating
//! once, at the edge, keeps both stores returning identical values.

use chrono::{DateTime, SubsecRound, TimeZone, Utc};

pub type Timestamp = DateTime<Utc>;

/// Truncates to whole microseconds.
pub fn to_micros_precision(timestamp: Timestamp) -> Timestamp {
    timestamp.trunc_subsecs(6)
}

pub fn from_epoch_millis(millis: f64) -> Option<Timestamp> {
    if !millis.is_finite() {
        return None;
    }
    let micros = (millis * 1000.0).round();
    if micros.abs() > 9.0e15 {
        return None;
    }
    Utc.timestamp_micros(micros as i64).single()
}

pub fn from_epoch_nanos(nanos: u64) -> Option<Timestamp> {
    let micros = i64::try_from(nanos / 1000).ok()?;
    Utc.timestamp_micros(micros).single()
}

pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(text).ok().map(|parsed| to_micros_precision(parsed.with_timezone(&Utc)))
}

/// The fixed-width UTC text form both stores use in sort keys, and the
/// SQLite store uses as its column format: text order equals time order.
pub fn to_fixed_text(timestamp: Timestamp) -> String {
    timestamp.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub fn parse_fixed_text(text: &str) -> Option<Timestamp> {
    parse_rfc3339(text)
}

/// Milliseconds between two instants, truncated toward zero.
pub fn duration_ms(start: Timestamp, end: Timestamp) -> i64 {
    (end - start).num_microseconds().map_or_else(|| (end - start).num_milliseconds(), |micros| micros / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_millis_and_rfc3339_agree() {
        let from_text = parse_rfc3339("2026-01-02T03:04:05.123456789Z").unwrap();
        assert_eq!(to_fixed_text(from_text), "2026-01-02T03:04:05.123456Z");
        let from_millis = from_epoch_millis(1_767_323_045_123.456).unwrap();
        assert_eq!(to_fixed_text(from_millis), "2026-01-02T03:04:05.123456Z");
        assert_eq!(parse_fixed_text(&to_fixed_text(from_text)), Some(from_text));
        assert!(from_epoch_millis(f64::NAN).is_none());
    }
}
