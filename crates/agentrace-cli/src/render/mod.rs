//! Terminal rendering of the read API's answers: pure functions from the
//! response types to text, shared by both ways the CLI reads (a server, or
//! a database directly), so the two print the same for the same data.
//!
//! Times are printed in UTC, so output does not depend on the machine's
//! time zone. Colour is decided once by the caller ([`Palette`]).

mod session;
mod stats;
mod table;
mod traces;
mod tree;

use agentrace_core::time::Timestamp;
use anstyle::{AnsiColor, Style};

pub use session::{render_session, render_sessions};
pub use stats::render_stats;
pub use traces::render_traces;
pub use tree::render_trace;

/// Which styles to emit: all of them on a terminal, none otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    pub color: bool,
}

impl Palette {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty
    /// (https://no-color.org).
    pub fn for_stdout() -> Palette {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Palette { color: std::io::stdout().is_terminal() && !no_color }
    }

    fn paint(self, style: Style, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    pub fn error(self, text: &str) -> String {
        self.paint(Style::new().fg_color(Some(AnsiColor::Red.into())), text)
    }

    pub fn header(self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    pub fn dim(self, text: &str) -> String {
        self.paint(Style::new().dimmed(), text)
    }

    /// A status word, red when it is an error.
    pub fn status(self, status: agentrace_core::Status) -> String {
        match status {
            agentrace_core::Status::Error => self.error(status.as_str()),
            other => other.as_str().to_owned(),
        }
    }
}

/// `2026-03-01 10:00:00` (UTC), or `-`.
pub fn time(timestamp: Option<Timestamp>) -> String {
    timestamp.map_or_else(|| "-".to_owned(), |timestamp| timestamp.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// `850 ms`, `1.50 s`, `2m 05s`, `1h 02m`, or `-`.
pub fn duration(millis: Option<i64>) -> String {
    let Some(millis) = millis else { return "-".to_owned() };
    match millis {
        ..1_000 => format!("{millis} ms"),
        1_000..60_000 => format!("{:.2} s", millis as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m {:02}s", millis / 60_000, millis % 60_000 / 1000),
        _ => format!("{}h {:02}m", millis / 3_600_000, millis % 3_600_000 / 60_000),
    }
}

/// Milliseconds with up to one decimal: `12.5 ms`, `1,500 ms`, or `-`.
pub fn millis(value: Option<f64>) -> String {
    let Some(value) = value else { return "-".to_owned() };
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{} ms", count(rounded as i64))
    } else {
        format!("{}.{} ms", count(rounded.trunc() as i64), ((rounded.fract() * 10.0).round() as i64).abs())
    }
}

/// `12,345`.
pub fn count(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut groups: Vec<&str> =
        digits.as_bytes().rchunks(3).map(|group| std::str::from_utf8(group).expect("ASCII digits")).collect();
    groups.reverse();
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{}", groups.join(","))
}

/// `1 span`, `2 spans` (the count grouped like [`count`]).
pub fn counted(value: i64, one: &str, many: &str) -> String {
    format!("{} {}", count(value), if value == 1 { one } else { many })
}

/// `$12.34`, `$0.0012`, `<$0.0001` for a cost too small to show (a short
/// call to a cheap model: printed as `$0.0000` it would read as free), or
/// `-` when unknown (never a made-up zero).
pub fn cost(value: Option<f64>) -> String {
    match value {
        None => "-".to_owned(),
        Some(value) if value.abs() >= 1.0 => format!("${value:.2}"),
        Some(value) if value > 0.0 && value < 0.00005 => "<$0.0001".to_owned(),
        Some(value) => format!("${value:.4}"),
    }
}

/// Text shortened to `max` characters, whitespace runs collapsed to one space.
pub fn abbreviate(text: &str, max: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        return collapsed;
    }
    let mut shortened: String = collapsed.chars().take(max.saturating_sub(1)).collect();
    shortened.truncate(shortened.trim_end().len());
    shortened.push('…');
    shortened
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_at_a_glance() {
        assert_eq!(duration(Some(850)), "850 ms");
        assert_eq!(duration(Some(1500)), "1.50 s");
        assert_eq!(duration(Some(125_000)), "2m 05s");
        assert_eq!(duration(Some(3_720_000)), "1h 02m");
        assert_eq!(duration(None), "-");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(999), "999");
        assert_eq!(count(-1000), "-1,000");
        assert_eq!(counted(1, "span", "spans"), "1 span");
        assert_eq!(counted(1200, "span", "spans"), "1,200 spans");
        assert_eq!(cost(Some(12.345)), "$12.35");
        assert_eq!(cost(Some(0.00123)), "$0.0012");
        assert_eq!(cost(Some(0.0000105)), "<$0.0001");
        assert_eq!(cost(Some(0.00005)), "$0.0001");
        assert_eq!(cost(Some(0.0)), "$0.0000");
        assert_eq!(cost(None), "-");
        assert_eq!(millis(Some(1500.0)), "1,500 ms");
        assert_eq!(millis(Some(12.46)), "12.5 ms");
        assert_eq!(millis(None), "-");
        assert_eq!(abbreviate("a  b\n\nc", 10), "a b c");
        assert_eq!(abbreviate("the weather in Paris", 12), "the weather…");
    }

    #[test]
    fn colour_only_when_asked() {
        assert_eq!(Palette { color: false }.error("boom"), "boom");
        assert_eq!(Palette { color: true }.error("boom"), "\u{1b}[31mboom\u{1b}[0m");
    }
}
