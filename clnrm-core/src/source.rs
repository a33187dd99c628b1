//! Source text with byte-offset to line/column translation, and reading it
//! from disk without trusting what is there.

use std::io::{self, Read};
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

/// The largest scenario or template file clnrm reads. A rendered scenario
/// may be this large (the render budget's output limit); a larger file is no
/// hand-written scenario, and reading it whole would cost time and memory.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// Why a file's bytes could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// It was there when it was found, and is not now.
    #[error("the file is gone: it was removed or renamed after it was found")]
    Gone,
    /// A FIFO, socket or device: never opened (opening a FIFO blocks until
    /// something writes to it).
    #[error("{0}, not a regular file")]
    NotAFile(&'static str),
    #[error("a folder, not a file")]
    Folder,
    #[error("the file is {size} bytes; clnrm reads files of up to {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("permission denied")]
    Denied,
    #[error("{0}")]
    Io(io::Error),
}

impl ReadError {
    fn from_io(error: io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::NotFound => ReadError::Gone,
            io::ErrorKind::PermissionDenied => ReadError::Denied,
            _ => ReadError::Io(error),
        }
    }

    /// What the user can do about it.
    pub fn next_step(&self) -> Option<&'static str> {
        match self {
            ReadError::Gone => Some("run again once the file is back in place"),
            ReadError::NotAFile(_) | ReadError::Folder => Some(
                "scenario files must be regular files: remove it, or rename it so that its name does not end in `.clnrm.toml` or `.clnrm.toml.tera`",
            ),
            ReadError::TooLarge { .. } => Some("split it into several scenario files"),
            ReadError::Denied => {
                Some("make it readable for the user running clnrm (for example `chmod a+r`)")
            }
            ReadError::Io(_) => None,
        }
    }
}

/// What a file type is, in words, when it is not a regular file or a folder.
pub fn special_file_kind(file_type: std::fs::FileType) -> Option<&'static str> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a FIFO");
        }
        if file_type.is_socket() {
            return Some("a Unix socket");
        }
        if file_type.is_block_device() {
            return Some("a block device");
        }
        if file_type.is_char_device() {
            return Some("a character device");
        }
    }
    (!file_type.is_file() && !file_type.is_dir()).then_some("not a regular file or folder")
}

fn regular_file(metadata: &std::fs::Metadata) -> Result<(), ReadError> {
    if metadata.is_dir() {
        return Err(ReadError::Folder);
    }
    match special_file_kind(metadata.file_type()) {
        Some(kind) => Err(ReadError::NotAFile(kind)),
        None => Ok(()),
    }
}

/// The bytes of the file at `path` (symbolic links followed), at most
/// [`MAX_FILE_BYTES`] of them. Anything but a regular file is refused
/// before it is opened.
pub fn read_source(path: &Path) -> Result<Vec<u8>, ReadError> {
    read_bounded(path, MAX_FILE_BYTES)
}

/// The bytes of the file at `path`, at most `limit` of them, as
/// [`read_source`] reads them (for files that are not scenarios: saved
/// traces run larger).
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let metadata = std::fs::metadata(path).map_err(ReadError::from_io)?;
    regular_file(&metadata)?;
    let too_large = |size| ReadError::TooLarge { size, limit };
    if metadata.len() > limit {
        return Err(too_large(metadata.len()));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Swapped for a FIFO since it was looked at, the open must not block.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        nix::fcntl::OFlag::O_NONBLOCK.bits() | nix::fcntl::OFlag::O_NOCTTY.bits(),
    );
    let file = options.open(path).map_err(ReadError::from_io)?;
    let metadata = file.metadata().map_err(ReadError::from_io)?;
    regular_file(&metadata)?;
    let mut bytes = Vec::with_capacity(metadata.len().min(limit) as usize);
    // A file that grows while it is read stops at the limit.
    (file.take(limit + 1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::from_io)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Bytes that are not text: invalid UTF-8, or a NUL byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem} at line {}, column {}", location.line, location.column)]
pub struct NotText {
    /// What is wrong, without its place: "invalid UTF-8 (byte 0xff)", "a NUL byte".
    pub problem: String,
    /// Byte offset of the first bad byte, in the file and in `text`.
    pub offset: usize,
    pub location: Location,
    /// The bytes with every invalid sequence replaced by U+FFFD, for snippets.
    pub text: String,
}

impl NotText {
    /// The bad character in `text`: where a diagnostic points.
    pub fn span(&self) -> Range<usize> {
        let width = self.text[self.offset..]
            .chars()
            .next()
            .map_or(0, char::len_utf8);
        self.offset..self.offset + width
    }
}

/// The bytes as text, or where the first byte that is not text is.
pub fn decode_source(bytes: Vec<u8>) -> Result<String, NotText> {
    let nul = bytes.iter().position(|b| *b == 0);
    let (text, offset, problem) = match String::from_utf8(bytes) {
        Ok(text) => match nul {
            None => return Ok(text),
            Some(at) => (text, at, "a NUL byte".to_string()),
        },
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let (offset, problem) = match nul.filter(|n| *n < at) {
                Some(n) => (n, "a NUL byte".to_string()),
                None => (at, format!("invalid UTF-8 (byte 0x{:02x})", bytes[at])),
            };
            // The valid prefix is the same in the replaced text, so
            // `offset` is the place of the bad byte there too.
            (
                String::from_utf8_lossy(&bytes).into_owned(),
                offset,
                problem,
            )
        }
    };
    let before = &text[..offset];
    let location = Location {
        line: before.matches('\n').count() + 1,
        column: before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
    };
    Err(NotText {
        problem,
        offset,
        location,
        text,
    })
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

    #[test]
    fn text_that_is_not_utf8_or_has_a_nul_is_located_at_its_first_bad_byte() {
        let bad = decode_source(b"ab\nc\xffd\n".to_vec()).unwrap_err();
        assert_eq!(bad.location, Location { line: 2, column: 2 });
        assert_eq!(bad.problem, "invalid UTF-8 (byte 0xff)");
        assert_eq!(&bad.text[bad.span()], "\u{fffd}");
        let after_newline = decode_source(b"ab\n\xff".to_vec()).unwrap_err();
        assert_eq!(after_newline.location, Location { line: 2, column: 1 });
        let nul = decode_source("✓\n\0x".as_bytes().to_vec()).unwrap_err();
        assert_eq!(
            (nul.problem.as_str(), nul.location),
            ("a NUL byte", Location { line: 2, column: 1 })
        );
        let nul_first = decode_source(b"\0\xff".to_vec()).unwrap_err();
        assert_eq!(nul_first.offset, 0);
        assert_eq!(decode_source(b"ok".to_vec()).unwrap(), "ok");
    }

    #[test]
    fn only_regular_files_of_a_bounded_size_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(MAX_FILE_BYTES + 1).unwrap();
        assert!(matches!(
            read_source(&big),
            Err(ReadError::TooLarge { size, .. }) if size == MAX_FILE_BYTES + 1
        ));
        assert!(matches!(
            read_source(&dir.path().join("none")),
            Err(ReadError::Gone)
        ));
        assert!(matches!(read_source(dir.path()), Err(ReadError::Folder)));
        #[cfg(unix)]
        {
            let fifo = dir.path().join("fifo");
            nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
            assert!(matches!(
                read_source(&fifo),
                Err(ReadError::NotAFile("a FIFO"))
            ));
        }
        let small = dir.path().join("small");
        std::fs::write(&small, "x").unwrap();
        assert_eq!(read_source(&small).unwrap(), b"x");
    }
}
