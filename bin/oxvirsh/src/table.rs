//! A small equivalent of virsh's `vshTable`: every cell is preceded by one space,
//! columns are padded to their widest cell plus two spaces (so three spaces separate
//! them), the last column is not padded, and the rule under the header is as wide as
//! all columns plus three per column.

/// A table with a header row.
#[derive(Debug, Clone, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(header: &[&str]) -> Table {
        Table { rows: vec![header.iter().map(|s| s.to_string()).collect()] }
    }

    /// Append a row (missing cells are empty, extra cells are ignored).
    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        let n = self.rows[0].len();
        let mut r: Vec<String> = cells.iter().take(n).map(|c| c.as_ref().to_string()).collect();
        r.resize(n, String::new());
        self.rows.push(r);
    }

    /// Render with the header and rule.
    pub fn render(&self) -> String {
        self.render_with(true)
    }

    /// Render with or without the header and rule (`vshTablePrintToString`); without
    /// them, as under `-q`, the header does not count for the column widths either.
    pub fn render_with(&self, header: bool) -> String {
        let ncol = self.rows[0].len();
        let mut widths = vec![0usize; ncol];
        let skip = usize::from(!header);
        for r in self.rows.iter().skip(skip) {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        for (ri, r) in self.rows.iter().enumerate().skip(skip) {
            for (i, c) in r.iter().enumerate() {
                out.push(' ');
                out.push_str(c);
                if i + 1 < ncol {
                    out.extend(std::iter::repeat_n(' ', widths[i] - c.chars().count() + 2));
                }
            }
            out.push('\n');
            if ri == 0 {
                let w: usize = widths.iter().map(|w| w + 3).sum();
                out.extend(std::iter::repeat_n('-', w));
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_virsh() {
        let mut t = Table::new(&["Id", "Name", "State"]);
        t.row(&["1", "web", "running"]);
        t.row(&["-", "db", "shut off"]);
        assert_eq!(t.render(), " Id   Name   State\n-----------------------\n 1    web    running\n -    db     shut off\n");
        let t = Table::new(&["Id", "Name", "State"]);
        assert_eq!(t.render(), " Id   Name   State\n--------------------\n");
        let mut t = Table::new(&["Id", "Name", "State", "Title"]);
        t.row(&["2", "batch", "paused", ""]);
        assert!(t.render().contains(" 2    batch   paused   \n"));
        assert_eq!(t.render_with(false), " 2   batch   paused   \n");
        assert_eq!(Table::new(&["Name"]).render_with(false), "");
    }
}
