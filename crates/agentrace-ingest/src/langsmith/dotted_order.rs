//! LangSmith's `dotted_order`: one `<time>Z<run id>` segment per ancestor,
//! from the root down to the run itself, e.g.
//! `20261127T235222493958Z<root>.20261127T235222513918Z<run>`.
//!
//! It names the trace (first segment), the parent (second to last) and the
//! depth, so it both fills in what a run leaves out and exposes a run whose
//! `trace_id` or `parent_run_id` contradicts it.

/// The ids a dotted order names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DottedOrder<'a> {
    pub trace_id: &'a str,
    pub parent_id: Option<&'a str>,
    pub run_id: &'a str,
    /// 0 for a root.
    pub depth: usize,
}

/// Length of `YYYYMMDDTHHMMSSffffffZ`.
const STAMP_LEN: usize = 22;

pub fn parse(text: &str) -> Result<DottedOrder<'_>, String> {
    let mut ids = Vec::new();
    for (index, segment) in text.split('.').enumerate() {
        let id = segment_id(segment)
            .ok_or_else(|| format!("segment {index} ({segment:?}) is not <YYYYMMDDTHHMMSSffffff>Z<run id>"))?;
        ids.push(id);
    }
    let (&run_id, ancestors) = ids.split_last().ok_or("is empty")?;
    Ok(DottedOrder { trace_id: ids[0], parent_id: ancestors.last().copied(), run_id, depth: ancestors.len() })
}

fn segment_id(segment: &str) -> Option<&str> {
    let stamp = segment.as_bytes().get(..STAMP_LEN)?;
    let well_formed = stamp.iter().enumerate().all(|(index, byte)| match index {
        8 => *byte == b'T',
        21 => *byte == b'Z',
        _ => byte.is_ascii_digit(),
    });
    let id = &segment[STAMP_LEN..];
    (well_formed && !id.is_empty()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_trace_parent_run_and_depth() {
        let root = "20261128T000010442098Z01a21f73-c4ca-7586-bb77-9b4e373bc4d4";
        let child = format!("{root}.20261128T000010446786Z01a21f73-c4ce-7445-b74e-7c472a1518e3");
        let grandchild = format!("{child}.20261128T000010447187Z01a21f73-c4cf-71ab-bdcb-912012c3ef7b");
        assert_eq!(
            parse(root).unwrap(),
            DottedOrder {
                trace_id: "01a21f73-c4ca-7586-bb77-9b4e373bc4d4",
                parent_id: None,
                run_id: "01a21f73-c4ca-7586-bb77-9b4e373bc4d4",
                depth: 0
            }
        );
        assert_eq!(
            parse(&grandchild).unwrap(),
            DottedOrder {
                trace_id: "01a21f73-c4ca-7586-bb77-9b4e373bc4d4",
                parent_id: Some("01a21f73-c4ce-7445-b74e-7c472a1518e3"),
                run_id: "01a21f73-c4cf-71ab-bdcb-912012c3ef7b",
                depth: 2
            }
        );
    }

    #[test]
    fn rejects_malformed_segments() {
        assert!(parse("").is_err());
        assert!(parse("20261128T000010442098Z").is_err());
        assert!(parse("2026-11-28T00:00:10Zabc").is_err());
        assert!(parse("20261128T000010442098Zabc..20261128T000010442098Zdef").is_err());
    }
}
