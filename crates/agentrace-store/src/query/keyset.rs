//! Keyset pagination shared by the backends: the cursor's encoding and the
//! order in which a listing's rows are read.
//!
//! Every listing sorts by one value (a time or a number) with rows lacking
//! it last, then by one or more ids in the same direction. A database reads
//! such an order well in two parts: the rows that have the value, through an
//! index on it, then those that do not. [`segments`] says which parts a page
//! reads and from where; the backends only turn each part into SQL.
//!
//! A cursor is URL-safe base64 (no padding) of a small JSON object: the
//! listing and order it belongs to (`l`), the last row's sort value (`v`,
//! absent when the row had none) and its ids (`i`). Clients must treat it as
//! opaque; it is decoded only to resume the same listing.

use agentrace_core::time::{parse_fixed_text, to_fixed_text, Timestamp};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{Page, PageRequest, TraceSort, MAX_PAGE_LIMIT};
use crate::StoreError;

/// A listing and the order it is read in; a cursor resumes only its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Traces(TraceSort),
    Spans,
    Sessions,
}

impl Listing {
    fn tag(self) -> &'static str {
        match self {
            Listing::Traces(TraceSort::StartTimeDesc) => "traces/start_time_desc",
            Listing::Traces(TraceSort::StartTimeAsc) => "traces/start_time_asc",
            Listing::Traces(TraceSort::DurationDesc) => "traces/duration_desc",
            Listing::Traces(TraceSort::DurationAsc) => "traces/duration_asc",
            Listing::Spans => "spans/start_time_desc",
            Listing::Sessions => "sessions/last_time_desc",
        }
    }

    /// Whether the value and the ids run in ascending order.
    pub fn ascending(self) -> bool {
        matches!(self, Listing::Traces(TraceSort::StartTimeAsc | TraceSort::DurationAsc))
    }

    /// How many ids break ties: spans are keyed by trace and span id.
    fn id_count(self) -> usize {
        match self {
            Listing::Spans => 2,
            Listing::Traces(_) | Listing::Sessions => 1,
        }
    }

    fn sorts_by_time(self) -> bool {
        !matches!(self, Listing::Traces(TraceSort::DurationDesc | TraceSort::DurationAsc))
    }
}

/// A row's sort value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SortValue {
    Time(Timestamp),
    Number(i64),
}

/// Where a row sits in its listing: its sort value (`None` when it has
/// none) and its ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub value: Option<SortValue>,
    pub ids: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct CursorText {
    #[serde(rename = "l")]
    listing: String,
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    value: Option<serde_json::Value>,
    #[serde(rename = "i")]
    ids: Vec<String>,
}

/// The cursor naming `position` in `listing`.
pub fn encode_cursor(listing: Listing, position: &Position) -> String {
    let value = position.value.map(|value| match value {
        SortValue::Time(time) => serde_json::Value::from(to_fixed_text(time)),
        SortValue::Number(number) => serde_json::Value::from(number),
    });
    let text = CursorText { listing: listing.tag().to_owned(), value, ids: position.ids.clone() };
    // Serialising strings and integers cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&text).unwrap_or_default())
}

/// The position a cursor names, or [`StoreError::InvalidQuery`] naming
/// `cursor` when it is not one this listing issued.
pub fn decode_cursor(listing: Listing, cursor: &str) -> Result<Position, StoreError> {
    let invalid = |why: &str| StoreError::InvalidQuery(format!("cursor: {why}"));
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| invalid("not a cursor this server issued"))?;
    let text: CursorText = serde_json::from_slice(&bytes).map_err(|_| invalid("not a cursor this server issued"))?;
    if text.listing != listing.tag() {
        return Err(invalid(&format!(
            "it continues the listing {:?}, not {:?}; start again without a cursor after changing the sort",
            text.listing,
            listing.tag()
        )));
    }
    if text.ids.len() != listing.id_count() {
        return Err(invalid("not a cursor this server issued"));
    }
    let value = match text.value {
        None => None,
        Some(serde_json::Value::String(time)) if listing.sorts_by_time() => {
            Some(SortValue::Time(parse_fixed_text(&time).ok_or_else(|| invalid("not a cursor this server issued"))?))
        }
        Some(serde_json::Value::Number(number)) if !listing.sorts_by_time() => {
            Some(SortValue::Number(number.as_i64().ok_or_else(|| invalid("not a cursor this server issued"))?))
        }
        Some(_) => return Err(invalid("not a cursor this server issued")),
    };
    Ok(Position { value, ids: text.ids })
}

/// One part of a page read (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// Rows that have a sort value, strictly after `after` when given.
    Valued { after: Option<(SortValue, Vec<String>)> },
    /// Rows without one, strictly after these ids when given.
    Unvalued { after: Option<Vec<String>> },
}

/// The parts to read, in order, for the page after `position` (the first
/// page when `None`).
pub fn segments(position: Option<Position>) -> Vec<Segment> {
    match position {
        None => vec![Segment::Valued { after: None }, Segment::Unvalued { after: None }],
        Some(Position { value: Some(value), ids }) => {
            vec![Segment::Valued { after: Some((value, ids)) }, Segment::Unvalued { after: None }]
        }
        Some(Position { value: None, ids }) => vec![Segment::Unvalued { after: Some(ids) }],
    }
}

/// How a backend binds the values a keyset condition compares with: each
/// call binds one value and returns the placeholder that names it.
pub trait Bind {
    fn bind_time(&mut self, time: Timestamp) -> String;
    fn bind_number(&mut self, number: i64) -> String;
    fn bind_text(&mut self, text: &str) -> String;
}

/// The SQL of one segment over the sort expression `value` and the tie-break
/// expressions `ids` (written so that `<` compares them in byte order): the
/// condition selecting the segment's rows after its position, and the
/// ORDER BY reading them in listing order. Only the placeholders differ
/// between backends.
pub fn segment_sql(
    bind: &mut impl Bind,
    segment: &Segment,
    value: &str,
    ids: &[&str],
    ascending: bool,
) -> (String, String) {
    let (direction, strictly, loosely) = if ascending { ("ASC", ">", ">=") } else { ("DESC", "<", "<=") };
    // (a, b) after (x, y): a > x OR (a = x AND b > y), in the listing's direction.
    let ids_after = |bind: &mut dyn FnMut(&str) -> String, after: &[String]| -> String {
        let mut condition = String::new();
        for (index, (column, id)) in ids.iter().zip(after).enumerate().rev() {
            let placeholder = bind(id);
            condition = if index + 1 == ids.len() {
                format!("{column} {strictly} {placeholder}")
            } else {
                format!("({column} {strictly} {placeholder} OR ({column} = {placeholder} AND {condition}))")
            };
        }
        condition
    };
    let order_ids: Vec<String> = ids.iter().map(|id| format!("{id} {direction}")).collect();
    match segment {
        Segment::Valued { after } => {
            let mut condition = format!("{value} IS NOT NULL");
            if let Some((last, last_ids)) = after {
                let placeholder = match last {
                    SortValue::Time(time) => bind.bind_time(*time),
                    SortValue::Number(number) => bind.bind_number(*number),
                };
                let ids_condition = ids_after(&mut |id| bind.bind_text(id), last_ids);
                // The loose bound alone is what an index on `value` can seek to.
                condition.push_str(&format!(
                    " AND {value} {loosely} {placeholder} AND ({value} {strictly} {placeholder} OR {ids_condition})"
                ));
            }
            (condition, format!("{value} {direction}, {}", order_ids.join(", ")))
        }
        Segment::Unvalued { after } => {
            let mut condition = format!("{value} IS NULL");
            if let Some(last_ids) = after {
                condition.push_str(&format!(" AND {}", ids_after(&mut |id| bind.bind_text(id), last_ids)));
            }
            (condition, order_ids.join(", "))
        }
    }
}

/// Reads a listing's rows in keyset order, segment by segment, until one
/// more than `limit` rows (or all there are) are read; `read` gets the
/// segment and how many rows it may return at most.
pub fn read_segments<T, E>(
    position: Option<Position>,
    limit: usize,
    mut read: impl FnMut(&Segment, usize) -> Result<Vec<T>, E>,
) -> Result<Vec<T>, E> {
    let mut rows = Vec::new();
    for segment in segments(position) {
        let wanted = limit + 1 - rows.len();
        rows.extend(read(&segment, wanted)?);
        if rows.len() > limit {
            break;
        }
    }
    Ok(rows)
}

/// The checked page size: 0 is refused, more than [`MAX_PAGE_LIMIT`] clamped.
pub fn page_limit(page: &PageRequest) -> Result<usize, StoreError> {
    if page.limit == 0 {
        return Err(StoreError::InvalidQuery(format!("limit: must be between 1 and {MAX_PAGE_LIMIT}")));
    }
    Ok(page.limit.min(MAX_PAGE_LIMIT))
}

/// The position a page resumes from, decoded from its request.
pub fn start_position(listing: Listing, page: &PageRequest) -> Result<Option<Position>, StoreError> {
    page.cursor.as_deref().map(|cursor| decode_cursor(listing, cursor)).transpose()
}

/// A page from rows read in listing order, up to `limit + 1` of them: the
/// extra row only tells that another page follows.
pub fn finish_page<T>(
    mut rows: Vec<T>,
    limit: usize,
    listing: Listing,
    position_of: impl Fn(&T) -> Position,
) -> Page<T> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more { rows.last().map(|last| encode_cursor(listing, &position_of(last))) } else { None };
    Page { items: rows, next_cursor }
}

#[cfg(test)]
mod tests {
    use agentrace_core::time::parse_rfc3339;

    use super::*;

    #[test]
    fn a_cursor_resumes_its_own_listing_only() {
        let time = parse_rfc3339("2026-03-01T10:00:00.123456Z").unwrap();
        let position = Position { value: Some(SortValue::Time(time)), ids: vec!["trace-1".into()] };
        let listing = Listing::Traces(TraceSort::StartTimeDesc);
        let cursor = encode_cursor(listing, &position);
        assert!(cursor.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'));
        assert_eq!(decode_cursor(listing, &cursor).unwrap(), position);

        let other = decode_cursor(Listing::Traces(TraceSort::DurationDesc), &cursor).unwrap_err();
        assert!(matches!(&other, StoreError::InvalidQuery(message) if message.starts_with("cursor: ")), "{other}");
        for garbage in ["", "not a cursor", "eyJsIjoidHJhY2VzL3N0YXJ0X3RpbWVfZGVzYyJ9", "%%%"] {
            let error = decode_cursor(listing, garbage).unwrap_err();
            assert!(matches!(&error, StoreError::InvalidQuery(message) if message.starts_with("cursor: ")), "{error}");
        }
    }

    #[test]
    fn a_row_without_a_value_resumes_among_those_without() {
        let position = Position { value: None, ids: vec!["t".into(), "s".into()] };
        let cursor = encode_cursor(Listing::Spans, &position);
        let decoded = decode_cursor(Listing::Spans, &cursor).unwrap();
        assert_eq!(segments(Some(decoded)), vec![Segment::Unvalued { after: Some(vec!["t".into(), "s".into()]) }]);
        assert_eq!(segments(None).len(), 2);
    }

    struct Numbered(Vec<String>);

    impl Bind for Numbered {
        fn bind_time(&mut self, time: Timestamp) -> String {
            self.bind_text(&to_fixed_text(time))
        }
        fn bind_number(&mut self, number: i64) -> String {
            self.bind_text(&number.to_string())
        }
        fn bind_text(&mut self, text: &str) -> String {
            self.0.push(text.to_owned());
            format!("${}", self.0.len())
        }
    }

    #[test]
    fn segments_compare_the_value_then_each_id() {
        let mut bind = Numbered(Vec::new());
        let after = Segment::Valued { after: Some((SortValue::Number(5), vec!["t".into(), "s".into()])) };
        let (condition, order) = segment_sql(&mut bind, &after, "d", &["a", "b"], false);
        assert_eq!(condition, "d IS NOT NULL AND d <= $1 AND (d < $1 OR (a < $3 OR (a = $3 AND b < $2)))");
        assert_eq!(order, "d DESC, a DESC, b DESC");
        assert_eq!(bind.0, ["5", "s", "t"]);

        let mut bind = Numbered(Vec::new());
        let (condition, order) =
            segment_sql(&mut bind, &Segment::Unvalued { after: Some(vec!["t".into()]) }, "d", &["a"], true);
        assert_eq!((condition.as_str(), order.as_str()), ("d IS NULL AND a > $1", "a ASC"));
    }

    #[test]
    fn page_limits_are_checked() {
        let request = |limit| PageRequest { limit, cursor: None };
        assert!(
            matches!(page_limit(&request(0)), Err(StoreError::InvalidQuery(message)) if message.starts_with("limit"))
        );
        assert_eq!(page_limit(&request(7)).unwrap(), 7);
        assert_eq!(page_limit(&request(1_000_000)).unwrap(), MAX_PAGE_LIMIT);
    }
}
