//! Go's `text/tabwriter` as Docker uses it for tables.
//!
//! Docker's copy of the writer (`cli/command/formatter/tabwriter`) measures cells in terminal
//! columns instead of runes; it is configured `NewWriter(out, 10, 1, 3, ' ', 0)`. The algorithm:
//! text is split into cells at `\t` (and `\v`), lines at `\n` (and `\f`). A column is a run of
//! consecutive lines that have a tab-terminated cell at that position; its width is the widest
//! cell plus the padding, at least the minimum width. The last cell of a line is not part of a
//! column and is printed as it is, without padding. A line without any tab ends all columns.

use crate::format::text::display_width;

#[derive(Debug, Clone)]
struct Cell {
    text: String,
    width: usize,
}

/// Aligns tab-separated text into columns.
#[derive(Debug, Clone)]
pub struct TabWriter {
    min_width: usize,
    padding: usize,
    out: String,
    lines: Vec<Vec<Cell>>,
    cell: String,
    widths: Vec<usize>,
}

impl TabWriter {
    /// A writer that pads with spaces. (`tabwidth` only matters when padding with tabs, which
    /// Docker never does.)
    pub fn new(min_width: usize, padding: usize) -> TabWriter {
        TabWriter {
            min_width,
            padding,
            out: String::new(),
            lines: vec![Vec::new()],
            cell: String::new(),
            widths: Vec::new(),
        }
    }

    /// The writer of Docker's tables: minimum width 10, padding 3.
    pub fn docker() -> TabWriter {
        TabWriter::new(10, 3)
    }

    pub fn write_str(&mut self, s: &str) {
        for c in s.chars() {
            match c {
                '\t' | '\u{b}' | '\n' | '\u{c}' => {
                    let cells = self.terminate_cell();
                    if c == '\n' || c == '\u{c}' {
                        self.lines.push(Vec::new());
                        // A line of one cell takes part in no column: everything before it can
                        // be laid out now (Go flushes here too; the output is the same).
                        if c == '\u{c}' || cells == 1 {
                            self.flush();
                        }
                    }
                }
                c => self.cell.push(c),
            }
        }
    }

    /// Lays out what is buffered and returns all output.
    pub fn finish(mut self) -> String {
        self.flush();
        self.out
    }

    fn terminate_cell(&mut self) -> usize {
        let text = std::mem::take(&mut self.cell);
        let width = display_width(&text);
        let line = self.lines.last_mut();
        match line {
            Some(line) => {
                line.push(Cell { text, width });
                line.len()
            }
            None => 0,
        }
    }

    fn flush(&mut self) {
        if !self.cell.is_empty() {
            self.terminate_cell();
        }
        self.format(0, self.lines.len());
        self.lines = vec![Vec::new()];
        self.widths.clear();
    }

    /// Lays out lines `line0..line1` given the widths of the columns to the left.
    fn format(&mut self, mut line0: usize, line1: usize) {
        let column = self.widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            // This line has a cell in this column: it starts a block of such lines.
            self.write_lines(line0, this);
            line0 = this;
            let mut width = self.min_width;
            while this < line1 && column + 1 < self.lines[this].len() {
                width = width.max(self.lines[this][column].width + self.padding);
                this += 1;
            }
            self.widths.push(width);
            self.format(line0, this);
            self.widths.pop();
            line0 = this;
            this += 1;
        }
        self.write_lines(line0, line1);
    }

    fn write_lines(&mut self, line0: usize, line1: usize) {
        for i in line0..line1 {
            for (j, cell) in self.lines[i].iter().enumerate() {
                self.out.push_str(&cell.text);
                if let Some(&width) = self.widths.get(j) {
                    let fill = width.saturating_sub(cell.width);
                    self.out.extend(std::iter::repeat_n(' ', fill));
                }
            }
            if i + 1 < self.lines.len() {
                self.out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tab(s: &str) -> String {
        let mut w = TabWriter::docker();
        w.write_str(s);
        w.finish()
    }

    #[test]
    fn docker_images_table() {
        assert_eq!(
            tab("REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n\
                 busybox\tlatest\t0123456789ab\t3 minutes ago\t4.26MB\n"),
            "REPOSITORY   TAG       IMAGE ID       CREATED         SIZE\n\
             busybox      latest    0123456789ab   3 minutes ago   4.26MB\n"
        );
        // Alone, the header's cells are narrower than the minimum width plus padding.
        assert_eq!(
            tab("REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n"),
            "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"
        );
    }

    #[test]
    fn vertical_tab_ends_a_cell_and_form_feed_a_line() {
        assert_eq!(tab("x\u{b}y\u{c}ab\tc\n"), "x         y\nab        c\n");
    }

    #[test]
    fn columns_widen_to_the_widest_cell_plus_padding() {
        let out = tab("REPOSITORY\tTAG\tSIZE\nbusybox\tlatest\t4.26MB\nregistry.example.com/app\t1.0\t1.24GB\n");
        assert_eq!(
            out,
            "REPOSITORY                 TAG       SIZE\n\
             busybox                    latest    4.26MB\n\
             registry.example.com/app   1.0       1.24GB\n"
        );
    }

    #[test]
    fn minimum_width_is_ten_including_padding() {
        // "1234567" + 3 padding = 10: exactly the minimum. One more character widens it.
        assert_eq!(tab("1234567\tx\n"), "1234567   x\n");
        assert_eq!(tab("12345678\tx\n"), "12345678   x\n");
        assert_eq!(tab("a\tx\n"), "a         x\n");
    }

    #[test]
    fn last_cell_is_not_padded_and_empty_cells_are() {
        assert_eq!(tab("a\t\tb\n"), "a                   b\n");
        assert_eq!(tab("a\tb\t\n"), "a         b         \n");
    }

    #[test]
    fn shorter_lines_end_the_columns_they_lack() {
        // Line 2 has no second column, so column 1 is sized by line 1 alone, and the text
        // after line 2's last tab is its unpadded last cell.
        let out = tab("aaaaaaaaaaaaaa\tbbbbbbbbbbbbbbbb\tc\nd\te\nf\tg\th\n");
        assert_eq!(
            out,
            "aaaaaaaaaaaaaa   bbbbbbbbbbbbbbbb   c\n\
             d                e\n\
             f                g         h\n"
        );
    }

    #[test]
    fn a_line_without_tabs_breaks_the_block() {
        let out = tab("a\tb\nlonger line without tabs\nccccccccccccc\td\n");
        assert_eq!(
            out,
            "a         b\nlonger line without tabs\nccccccccccccc   d\n"
        );
    }

    #[test]
    fn wide_characters_count_two_columns() {
        assert_eq!(
            tab("日本語日本\tx\nab\ty\n"),
            "日本語日本   x\nab           y\n"
        );
    }

    #[test]
    fn unterminated_last_line_is_written_as_is() {
        assert_eq!(tab("a\tb\nc\td"), "a         b\nc         d");
    }
}
