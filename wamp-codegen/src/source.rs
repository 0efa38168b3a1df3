//! Where things come from: the contract files read, byte spans into them, and the
//! diagnostics that point at those spans.
//!
//! Every node of the model remembers its [`Span`], so validation can say
//! `FILE:LINE:COL: error: MESSAGE` about any name or value, however deep.

use std::fmt;
use std::path::{Path, PathBuf};

/// Index of a file in a [`Sources`] set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FileId(pub(crate) usize);

/// A byte range in one source file. The default span points nowhere (start of the first
/// file); front ends without text (the trait macro) carry their own locations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// The file.
    pub file: FileId,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    pub(crate) fn new(file: FileId, range: std::ops::Range<usize>) -> Self {
        Span {
            file,
            start: range.start,
            end: range.end,
        }
    }
}

/// One contract file as read.
#[derive(Debug)]
pub struct SourceFile {
    /// The path it was read from.
    pub path: PathBuf,
    /// The path as shown in diagnostics (as given, relative where possible).
    pub name: String,
    /// The text.
    pub text: String,
}

impl SourceFile {
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Every file read while compiling a set of contracts (imports included).
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// Adds a file's text; returns its ID.
    pub fn add(&mut self, path: &Path, name: String, text: String) -> FileId {
        self.files.push(SourceFile {
            path: path.to_path_buf(),
            name,
            text,
        });
        FileId(self.files.len() - 1)
    }

    /// A file by ID.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0]
    }

    /// The file read from `path`, if it was read.
    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.files.iter().position(|f| f.path == path).map(FileId)
    }

    /// Every file read, in the order they were read.
    pub fn files(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter()
    }
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The contract is invalid; nothing is generated.
    Error,
    /// Worth knowing; generation goes on.
    Warning,
}

/// One problem found in a contract, located at a span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where (None: about a file as a whole that could not be read).
    pub span: Option<Span>,
    /// What is wrong, naming the key path and the offending name.
    pub message: String,
}

/// Diagnostics collected over a whole run, with the files they point into.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub(crate) list: Vec<Diagnostic>,
}

impl Diagnostics {
    pub(crate) fn error(&mut self, span: Span, message: impl Into<String>) {
        self.list.push(Diagnostic {
            severity: Severity::Error,
            span: Some(span),
            message: message.into(),
        });
    }

    pub(crate) fn error_nowhere(&mut self, message: impl Into<String>) {
        self.list.push(Diagnostic {
            severity: Severity::Error,
            span: None,
            message: message.into(),
        });
    }

    /// Whether any error was reported.
    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|d| d.severity == Severity::Error)
    }

    /// Every diagnostic, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.list.iter()
    }
}

/// A diagnostic with its file, ready to print as `FILE:LINE:COL: error: MESSAGE`.
pub struct Located<'a> {
    pub(crate) sources: &'a Sources,
    pub(crate) diagnostic: &'a Diagnostic,
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.diagnostic.span {
            Some(span) => {
                let file = self.sources.get(span.file);
                let (line, col) = file.line_col(span.start);
                write!(
                    f,
                    "{}:{line}:{col}: {level}: {}",
                    file.name, self.diagnostic.message
                )
            }
            None => write!(f, "{level}: {}", self.diagnostic.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let mut s = Sources::default();
        let id = s.add(Path::new("a"), "a".into(), "ab\nçd\n".into());
        let f = s.get(id);
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(1), (1, 2));
        assert_eq!(f.line_col(3), (2, 1));
        // 'ç' is two bytes: the byte after it is column 2.
        assert_eq!(f.line_col(5), (2, 2));
        assert_eq!(f.line_col(100), (3, 1));
    }
}
