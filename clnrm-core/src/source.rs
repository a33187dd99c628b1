//! Source text with byte-offset to line/column translation.

use std::ops::Range;
use std::path::{Path, PathBuf};

/// A 1-based line and column (columns count characters, as rustc does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// The text of one file together with the path it is reported under.
#[derive(Debug, Clone)]
pub struct SourceFile {
    path: PathBuf,
    text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            path: path.into(),
            text,
            line_starts,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The location of a byte offset; offsets past the end clamp to the end
    /// of the last line (see [`SourceFile::within`]).
    pub fn location(&self, offset: usize) -> Location {
        let offset = self.within(offset);
        let line_index = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let line_start = self.line_starts[line_index];
        let column = self.text[line_start..offset].chars().count() + 1;
        Location {
            line: line_index + 1,
            column,
        }
    }

    /// Byte range of a 1-based line, without its line terminator.
    pub fn line_range(&self, line: usize) -> Range<usize> {
        let index = line.clamp(1, self.line_starts.len()) - 1;
        let start = self.line_starts[index];
        let end = self
            .line_starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next - 1);
        let end = if self.text[start..end].ends_with('\r') {
            end - 1
        } else {
            end
        };
        start..end
    }

    pub fn line_text(&self, line: usize) -> &str {
        &self.text[self.line_range(line)]
    }

    /// Byte offset of a 1-based line and column.
    pub fn offset_of(&self, location: Location) -> usize {
        let range = self.line_range(location.line);
        let line = &self.text[range.clone()];
        let within = line
            .char_indices()
            .nth(location.column.saturating_sub(1))
            .map_or(line.len(), |(i, _)| i);
        range.start + within
    }

    /// `offset` as a place that exists in the file: at most the end of the
    /// text, and the end of a file's final newline is the end of its last
    /// line (an 11-line file has no line 12 to point at).
    pub fn within(&self, offset: usize) -> usize {
        let offset = self.clamp(offset);
        if offset < self.text.len() || !self.text.ends_with('\n') {
            return offset;
        }
        let before = &self.text[..self.text.len() - 1];
        before.strip_suffix('\r').unwrap_or(before).len()
    }

    fn clamp(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based_and_count_chars() {
        let file = SourceFile::new("a.toml", "ab\n✓x\n\nlast");
        assert_eq!(file.location(0), Location { line: 1, column: 1 });
        assert_eq!(file.location(3), Location { line: 2, column: 1 });
        let x = file.text().find('x').unwrap();
        assert_eq!(file.location(x), Location { line: 2, column: 2 });
        assert_eq!(file.location(999), Location { line: 4, column: 5 });
        assert_eq!(file.line_text(2), "✓x");
        assert_eq!(file.line_text(3), "");
        assert_eq!(file.offset_of(Location { line: 2, column: 2 }), x);
    }

    #[test]
    fn the_end_of_a_file_is_on_its_last_line() {
        let file = SourceFile::new("a.toml", "ab\ncd\n");
        assert_eq!(file.location(6), Location { line: 2, column: 3 });
        assert_eq!(file.location(99), Location { line: 2, column: 3 });
        assert_eq!(file.within(6), 5);
        let crlf = SourceFile::new("a.toml", "ab\r\ncd\r\n");
        assert_eq!(crlf.location(8), Location { line: 2, column: 3 });
        let empty = SourceFile::new("a.toml", "");
        assert_eq!(empty.location(3), Location { line: 1, column: 1 });
        let blank_last = SourceFile::new("a.toml", "ab\n\n");
        assert_eq!(blank_last.location(4), Location { line: 2, column: 1 });
    }
}
