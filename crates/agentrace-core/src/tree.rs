//! A trace's spans as a tree, flattened in pre-order: what readers (the
//! query API, the CLI, the web UI) draw. Spans arrive from any client in any
//! shape, so the ordering must hold for broken trees too: parents that never
//! arrived, and parent links that loop.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::StoredSpan;

/// A span at its place in the tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeSpan {
    #[serde(flatten)]
    pub span: StoredSpan,
    /// 0 for a root, its parent's depth + 1 otherwise.
    pub depth: usize,
    /// The span names a parent that is not among the trace's spans; it is
    /// shown as a root.
    pub is_orphan: bool,
}

/// Orders spans in tree pre-order: every span directly after its parent's
/// earlier children and their descendants, siblings by start time (spans
/// without one last) then span id in byte order.
///
/// - Roots are the spans without a parent, and orphans (whose parent is
///   missing), interleaved in sibling order.
/// - Spans whose parent links form a cycle (and whatever hangs below it)
///   come after all roots, one cycle at a time in order of its smallest
///   span id; each cycle is entered at that span, shown at depth 0.
/// - Every span appears exactly once.
///
/// Iterative, so a 25,000-span chain does not exhaust the stack.
pub fn tree_order(spans: Vec<StoredSpan>) -> Vec<TreeSpan> {
    let mut spans = spans;
    spans.sort_by(sibling_order);
    let index_of: HashMap<&str, usize> =
        spans.iter().enumerate().map(|(index, span)| (span.span.span_id.as_str(), index)).collect();
    let parent_of: Vec<Option<usize>> = spans
        .iter()
        .map(|span| span.span.parent_span_id.as_ref().and_then(|parent| index_of.get(parent.as_str()).copied()))
        .collect();
    // Spans are sorted, so pushing in order leaves every child list sorted.
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (index, parent) in parent_of.iter().enumerate() {
        match parent {
            Some(parent) => children[*parent].push(index),
            None => roots.push(index),
        }
    }
    drop(index_of);

    let mut placed: Vec<Option<usize>> = vec![None; spans.len()];
    let mut order: Vec<usize> = Vec::with_capacity(spans.len());
    for &root in &roots {
        visit(root, &children, &mut placed, &mut order);
    }
    if order.len() < spans.len() {
        for entry in cycle_entries(&spans, &parent_of, &placed) {
            visit(entry, &children, &mut placed, &mut order);
        }
    }

    let mut slots: Vec<Option<StoredSpan>> = spans.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|index| {
            let span = slots[index].take().expect("each span is placed once");
            let is_orphan = span.span.parent_span_id.is_some() && parent_of[index].is_none();
            TreeSpan { span, depth: placed[index].expect("placed"), is_orphan }
        })
        .collect()
}

fn sibling_order(a: &StoredSpan, b: &StoredSpan) -> Ordering {
    let by_start = match (a.span.start_time, b.span.start_time) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_start.then_with(|| a.span.span_id.as_str().as_bytes().cmp(b.span.span_id.as_str().as_bytes()))
}

/// Appends `root` and its unplaced descendants in pre-order, recording each one's depth.
fn visit(root: usize, children: &[Vec<usize>], placed: &mut [Option<usize>], order: &mut Vec<usize>) {
    let mut stack = vec![(root, 0usize)];
    while let Some((index, depth)) = stack.pop() {
        if placed[index].is_some() {
            continue;
        }
        placed[index] = Some(depth);
        order.push(index);
        stack.extend(
            children[index].iter().rev().filter(|child| placed[**child].is_none()).map(|&child| (child, depth + 1)),
        );
    }
}

/// The smallest span of every cycle among the unplaced spans, in span id
/// order. Every unplaced span has a parent (roots were placed), so
/// following parents from it ends in a cycle.
fn cycle_entries(spans: &[StoredSpan], parent_of: &[Option<usize>], placed: &[Option<usize>]) -> Vec<usize> {
    const UNSEEN: usize = usize::MAX;
    // Which walk first reached each span; a walk that meets its own trail has found a new cycle.
    let mut walk_of = vec![UNSEEN; spans.len()];
    let mut entries = Vec::new();
    for start in 0..spans.len() {
        if placed[start].is_some() || walk_of[start] != UNSEEN {
            continue;
        }
        let mut current = start;
        while walk_of[current] == UNSEEN {
            walk_of[current] = start;
            current = parent_of[current].expect("an unplaced span has a parent");
        }
        if walk_of[current] != start {
            continue; // reached a cycle an earlier walk found
        }
        let mut smallest = current;
        let mut member = parent_of[current].expect("cycle");
        while member != current {
            if spans[member].span.span_id.as_str().as_bytes() < spans[smallest].span.span_id.as_str().as_bytes() {
                smallest = member;
            }
            member = parent_of[member].expect("cycle");
        }
        entries.push(smallest);
    }
    entries.sort_by(|a, b| spans[*a].span.span_id.as_str().as_bytes().cmp(spans[*b].span.span_id.as_str().as_bytes()));
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{SpanId, TraceId};
    use crate::model::SpanPiece;
    use crate::time::from_epoch_millis;

    fn span(id: &str, parent: Option<&str>, start_millis: Option<i64>) -> StoredSpan {
        let mut piece = SpanPiece::new(TraceId::parse("t").unwrap(), SpanId::parse(id).unwrap());
        piece.parent_span_id = parent.map(|parent| SpanId::parse(parent).unwrap());
        piece.start_time = start_millis.map(|millis| from_epoch_millis(millis as f64).unwrap());
        StoredSpan { span: piece, duration_ms: None }
    }

    fn shape(spans: Vec<StoredSpan>) -> Vec<(String, usize, bool)> {
        tree_order(spans)
            .into_iter()
            .map(|item| (item.span.span.span_id.into_string(), item.depth, item.is_orphan))
            .collect()
    }

    fn expected(rows: &[(&str, usize, bool)]) -> Vec<(String, usize, bool)> {
        rows.iter().map(|(id, depth, orphan)| (id.to_string(), *depth, *orphan)).collect()
    }

    #[test]
    fn children_follow_their_parent_siblings_by_start_then_id() {
        let spans = vec![
            span("late-root", None, Some(50)),
            span("b", Some("root"), Some(20)),
            span("a", Some("root"), Some(20)),
            span("first", Some("root"), Some(10)),
            span("grandchild", Some("first"), Some(30)),
            span("no-start", Some("root"), None),
            span("root", None, Some(0)),
        ];
        assert_eq!(
            shape(spans),
            expected(&[
                ("root", 0, false),
                ("first", 1, false),
                ("grandchild", 2, false),
                ("a", 1, false),
                ("b", 1, false),
                ("no-start", 1, false),
                ("late-root", 0, false),
            ])
        );
    }

    #[test]
    fn orphans_are_roots_in_start_order() {
        let spans = vec![
            span("root", None, Some(10)),
            span("orphan", Some("never-arrived"), Some(5)),
            span("orphan-child", Some("orphan"), Some(6)),
            span("late-orphan", Some("gone"), Some(20)),
        ];
        assert_eq!(
            shape(spans),
            expected(&[("orphan", 0, true), ("orphan-child", 1, false), ("root", 0, false), ("late-orphan", 0, true)])
        );
    }

    #[test]
    fn cycles_are_entered_at_their_smallest_span_id_after_the_roots() {
        let spans = vec![
            // A cycle c -> d -> e -> c, with "a" hanging below d: "a" is the
            // smallest unplaced id but not on the cycle.
            span("c", Some("e"), Some(3)),
            span("d", Some("c"), Some(1)),
            span("e", Some("d"), Some(2)),
            span("a", Some("d"), Some(9)),
            span("self", Some("self"), Some(0)),
            span("root", None, Some(100)),
        ];
        assert_eq!(
            shape(spans),
            expected(&[
                ("root", 0, false),
                ("c", 0, false),
                ("d", 1, false),
                ("e", 2, false),
                ("a", 2, false),
                ("self", 0, false),
            ])
        );
    }

    #[test]
    fn a_deep_chain_is_ordered_without_recursion() {
        let count = 25_000;
        let spans: Vec<StoredSpan> = (0..count)
            .map(|index| {
                let parent = (index > 0).then(|| format!("s{:05}", index - 1));
                span(&format!("s{index:05}"), parent.as_deref(), Some(index))
            })
            .collect();
        let ordered = tree_order(spans);
        assert_eq!(ordered.len(), count as usize);
        assert!(ordered.iter().enumerate().all(|(index, item)| item.depth == index));
    }
}
