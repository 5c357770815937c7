//! Compile errors and how they are shown to a person: `file:line:col`, the source
//! line and a caret under the offending text.

use crate::ast::Span;
use std::fmt;

/// An error found before anything runs: lexing, parsing or compiling.
#[derive(Clone, Debug, PartialEq)]
pub struct CompileError {
    pub message: String,
    pub span: Span,
}

impl CompileError {
    pub fn new(message: impl Into<String>, span: Span) -> CompileError {
        CompileError {
            message: message.into(),
            span,
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CompileError {}

/// Maps byte offsets to 1-based line and column numbers (columns count characters).
pub struct LineIndex<'a> {
    source: &'a str,
    /// Byte offset at which each line starts.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(source: &'a str) -> LineIndex<'a> {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { source, starts }
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> u32 {
        let idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        (idx + 1) as u32
    }

    /// 1-based (line, column) of a byte offset; the column counts characters.
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.source.len());
        let line = self.line(offset);
        let start = self.starts[line as usize - 1];
        let col = self
            .source
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, col as u32 + 1)
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: u32) -> &'a str {
        let i = line as usize - 1;
        let start = self.starts[i];
        let end = self.starts.get(i + 1).copied().unwrap_or(self.source.len());
        let text = self.source.get(start..end).unwrap_or("");
        text.trim_end_matches(['\n', '\r'])
    }
}

/// Whether diagnostics may use colour: only on a terminal and when NO_COLOR is unset.
pub fn use_color(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Renders a compile error as
/// ```text
/// error: unknown escape sequence '\q'
///  --> script.vela:3:12
///   |
/// 3 | print("a\q")
///   |         ^^
/// ```
pub fn render_compile_error(err: &CompileError, file: &str, source: &str, color: bool) -> String {
    let index = LineIndex::new(source);
    let (line, col) = index.line_col(err.span.start);
    let text = index.line_text(line);
    let gutter = line.to_string().len();
    // Caret width: the span's characters on its first line, at least one.
    let span_text = source.get(err.span.start..err.span.end).unwrap_or("");
    let width = span_text
        .split('\n')
        .next()
        .map_or(1, |s| s.chars().count())
        .max(1);
    // A very long line is shown as a window around the caret.
    const WINDOW: usize = 60;
    let chars: Vec<char> = text.chars().collect();
    let col0 = col as usize - 1;
    let (from, lead) = if chars.len() > 2 * WINDOW && col0 > WINDOW {
        (col0 - WINDOW, "...")
    } else {
        (0, "")
    };
    let to = if chars.len() > from + 2 * WINDOW {
        from + 2 * WINDOW
    } else {
        chars.len()
    };
    let tail = if to < chars.len() { "..." } else { "" };
    let text: String = lead
        .chars()
        .chain(chars[from..to].iter().copied())
        .chain(tail.chars())
        .collect();
    let width = width.min(to.saturating_sub(col0).max(1));
    let prefix: String = lead
        .chars()
        .chain(chars[from..col0.min(chars.len())].iter().copied())
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let (red, blue, bold, reset) = if color {
        ("\x1b[1;31m", "\x1b[1;34m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    let pad = " ".repeat(gutter);
    format!(
        "{red}error{reset}{bold}: {msg}{reset}\n{pad}{blue}-->{reset} {file}:{line}:{col}\n{pad} {blue}|{reset}\n{blue}{line}{reset} {blue}|{reset} {text}\n{pad} {blue}|{reset} {prefix}{red}{carets}{reset}\n",
        msg = err.message,
        carets = "^".repeat(width),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let src = "let x = 1\nlet é = \"a\"\nprint(é)";
        let idx = LineIndex::new(src);
        assert_eq!(idx.line_col(0), (1, 1));
        assert_eq!(idx.line_col(10), (2, 1));
        let e = src.find("= \"").unwrap();
        assert_eq!(idx.line_col(e), (2, 7));
        assert_eq!(idx.line_text(3), "print(é)");
    }

    #[test]
    fn renders_caret_under_span() {
        let src = "let a = 1\nprint(a +)\n";
        let start = src.find(')').unwrap();
        let err = CompileError::new("unexpected ')'", Span::new(start, start + 1));
        let out = render_compile_error(&err, "t.vela", src, false);
        assert!(out.contains("t.vela:2:10"), "{out}");
        assert!(out.contains("2 | print(a +)"), "{out}");
        assert!(out.contains("  |          ^"), "{out}");
    }
}
