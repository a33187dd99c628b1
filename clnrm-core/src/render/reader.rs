//! Where the templates a scenario imports, includes or extends are read
//! from: the file system, unless a driver gives the pipeline another reader
//! (`cargo clnrm diff --rev` reads them at the revision).

use std::io;
use std::path::Path;

use crate::source::{ReadError, decode_source, read_source};

/// Reads the templates found beside a scenario file (`dir.join(name)` for
/// each import tag; nested imports beside the template that names them).
/// Set with [`Pipeline::with_template_reader`](crate::pipeline::Pipeline::with_template_reader).
pub trait TemplateReader: std::fmt::Debug + Send + Sync {
    /// The template at `path`, or `None` when there is no file there (the
    /// shipped macro library is used then, or the import is not found).
    fn read(&self, path: &Path) -> io::Result<Option<String>>;

    /// How messages name `path` when it is not read from the file system
    /// there (`REV:path`); `None` names it as it is.
    fn named(&self, _path: &Path) -> Option<String> {
        None
    }
}

/// The default: the files on disk.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileSystem;

impl TemplateReader for FileSystem {
    fn read(&self, path: &Path) -> io::Result<Option<String>> {
        // Read as scenario files are: bounded, never a FIFO, text only.
        match read_source(path) {
            Err(ReadError::Gone | ReadError::Folder) => Ok(None),
            Err(e) => Err(io::Error::other(e)),
            Ok(bytes) => decode_source(bytes)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        }
    }
}
