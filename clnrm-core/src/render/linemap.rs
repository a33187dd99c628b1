//! Maps places in rendered text back to the template the user wrote.
//!
//! Lines without template syntax come through rendering unchanged, so they are
//! matched exactly (in order); a line produced by an expression maps to the
//! template line that produced it, best effort: the closest unmatched line
//! before the next exact match.

use std::ops::Range;

use crate::source::{Location, SourceFile};

/// How far ahead to look for the template line a rendered line came from.
const WINDOW: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct LineMap {
    /// For each rendered line (0-based): the template line (1-based), and
    /// whether the text is identical (so columns carry over).
    lines: Vec<(usize, bool)>,
}

impl LineMap {
    pub fn identity() -> Self {
        Self::default()
    }

    pub fn new(template: &str, rendered: &str) -> Self {
        let template_lines: Vec<&str> = template.lines().collect();
        let last = template_lines.len().max(1);
        // Pass 1: anchors, rendered lines found verbatim (in order) in the template.
        let mut cursor = 0usize;
        let mut anchors: Vec<Option<usize>> = Vec::new();
        for line in rendered.lines() {
            let exact = (cursor..template_lines.len().min(cursor + WINDOW))
                .find(|&t| template_lines[t] == line && (!line.trim().is_empty() || t == cursor));
            if let Some(t) = exact {
                cursor = t + 1;
            }
            anchors.push(exact);
        }
        // Pass 2: lines between two anchors walk the template lines between them,
        // one for one, staying on the last when the rendering produced more.
        let mut next_anchors = vec![last; anchors.len()];
        let mut next = last;
        for (r, anchor) in anchors.iter().enumerate().rev() {
            if let Some(t) = anchor {
                next = *t;
            }
            next_anchors[r] = next;
        }
        let mut lines = Vec::with_capacity(anchors.len());
        let mut gap_start = 0usize;
        let mut in_gap = 0usize;
        for (r, anchor) in anchors.iter().enumerate() {
            match anchor {
                Some(t) => {
                    lines.push((t + 1, true));
                    gap_start = t + 1;
                    in_gap = 0;
                }
                None => {
                    let next_anchor = next_anchors[r];
                    let gap_end = next_anchor.max(gap_start + 1);
                    let t = (gap_start + in_gap).min(gap_end - 1).min(last - 1);
                    lines.push((t + 1, false));
                    in_gap += 1;
                }
            }
        }
        Self { lines }
    }

    /// The span in the template for a span in the rendered text.
    pub fn map_span(
        &self,
        rendered: &SourceFile,
        template: &SourceFile,
        span: Range<usize>,
    ) -> Range<usize> {
        if self.lines.is_empty() {
            return span;
        }
        let start = self.map_offset(rendered, template, span.start);
        let same_line = rendered.location(span.start).line == rendered.location(span.end).line;
        let end = if same_line {
            start + (span.end - span.start)
        } else {
            start
        };
        let line_end = template.line_range(template.location(start).line).end;
        start..end.min(line_end.max(start))
    }

    fn map_offset(&self, rendered: &SourceFile, template: &SourceFile, offset: usize) -> usize {
        let loc = rendered.location(offset);
        match self.lines.get(loc.line - 1) {
            Some(&(line, true)) => template.offset_of(Location {
                line,
                column: loc.column,
            }),
            Some(&(line, false)) => template.line_range(line).start,
            None => template.text().len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_lines_keep_columns_and_expressions_map_to_their_line() {
        let template = "[meta]\nname = \"{{ n }}\"\n{{ m::x() }}\n[[steps]]\nbad = 1\n";
        let rendered = "[meta]\nname = \"a\"\n[svc]\nimage = \"i\"\n[[steps]]\nbad = 1\n";
        let map = LineMap::new(template, rendered);
        let (r, t) = (
            SourceFile::new("r", rendered),
            SourceFile::new("t", template),
        );
        let bad = rendered.find("bad").unwrap();
        let mapped = map.map_span(&r, &t, bad..bad + 3);
        assert_eq!(&template[mapped], "bad");
        let image = rendered.find("image").unwrap();
        let mapped = map.map_span(&r, &t, image..image + 5);
        assert_eq!(t.location(mapped.start).line, 3);
    }
}
