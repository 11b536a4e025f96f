//! Columns aligned by display width (so names in any script line up), two
//! spaces apart, without borders: output that reads well and greps well.

use unicode_width::UnicodeWidthStr;

/// One cell: the text that is measured, and the text that is printed (the
/// same, or with colour codes around it).
pub struct Cell {
    plain: String,
    printed: String,
}

impl Cell {
    pub fn new(text: impl Into<String>) -> Cell {
        let plain = text.into();
        Cell { printed: plain.clone(), plain }
    }

    /// A cell printed as `printed`, which is `plain` with styles around it.
    pub fn styled(plain: impl Into<String>, printed: String) -> Cell {
        Cell { plain: plain.into(), printed }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

pub struct Table {
    headers: Vec<(&'static str, Align)>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(headers: &[(&'static str, Align)]) -> Table {
        Table { headers: headers.to_vec(), rows: Vec::new() }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.headers.len());
        self.rows.push(row);
    }

    /// The table, the header line styled by `header`; no trailing spaces.
    pub fn render(&self, header: impl Fn(&str) -> String) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|(title, _)| title.width()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.plain.width());
            }
        }
        let mut out = String::new();
        let titles: Vec<Cell> = self.headers.iter().map(|(title, _)| Cell::new(*title)).collect();
        let title_line = self.line(&titles, &widths);
        out.push_str(&header(&title_line));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&self.line(row, &widths));
            out.push('\n');
        }
        out
    }

    fn line(&self, cells: &[Cell], widths: &[usize]) -> String {
        let mut line = String::new();
        for (index, ((cell, width), (_, align))) in cells.iter().zip(widths).zip(&self.headers).enumerate() {
            if index > 0 {
                line.push_str("  ");
            }
            let padding = " ".repeat(width - cell.plain.width());
            match align {
                Align::Left => {
                    line.push_str(&cell.printed);
                    line.push_str(&padding);
                }
                Align::Right => {
                    line.push_str(&padding);
                    line.push_str(&cell.printed);
                }
            }
        }
        line.truncate(line.trim_end().len());
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_by_display_width() {
        let mut table = Table::new(&[("NAME", Align::Left), ("TOKENS", Align::Right), ("NOTE", Align::Left)]);
        table.push(vec![Cell::new("天気"), Cell::new("12"), Cell::new("")]);
        table.push(vec![Cell::styled("agent", "<agent>".into()), Cell::new("1,500"), Cell::new("x")]);
        assert_eq!(table.render(str::to_owned), "NAME   TOKENS  NOTE\n天気       12\n<agent>   1,500  x\n");
    }
}
