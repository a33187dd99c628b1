//! The digest of a test's inputs. Files are read once per process while
//! they keep their size, time and inode (a scenario suite names the same
//! few binaries again and again); image ids are asked of the engine once
//! per name, and a name the engine does not have makes the digest unknown.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::executor::TestInputs;

/// SHA-256 of everything a test's run depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InputDigest(pub [u8; 32]);

impl InputDigest {
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl Serialize for InputDigest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.hex())
    }
}

impl<'de> Deserialize<'de> for InputDigest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut bytes = [0; 32];
        hex::decode_to_slice(&text, &mut bytes)
            .map(|()| InputDigest(bytes))
            .map_err(|_| serde::de::Error::custom("not a 64-digit hex digest"))
    }
}

/// What a file was when it was read: while it stays so, its digest holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified_ns: i128,
    inode: u64,
}

fn stamp(meta: &std::fs::Metadata) -> Stamp {
    Stamp {
        len: meta.len(),
        modified_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        inode: meta.ino(),
    }
}

/// Looks image names up on the engine: their ids, `None` for a name it does
/// not have. An engine that does not answer is an error.
pub type ImageLookup = dyn Fn(&[String]) -> Result<Vec<Option<String>>, String> + Send + Sync;

/// Digests inputs, remembering files and image ids for the process.
pub struct InputHasher {
    files: Mutex<HashMap<PathBuf, (Stamp, [u8; 32])>>,
    images: Mutex<HashMap<String, Option<String>>>,
    lookup: Box<ImageLookup>,
}

impl std::fmt::Debug for InputHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputHasher").finish_non_exhaustive()
    }
}

impl Default for InputHasher {
    /// Image ids from the engine `DOCKER_HOST` names.
    fn default() -> Self {
        Self::with_image_lookup(Box::new(|names: &[String]| {
            crate::backend::image_ids(names).map_err(|e| e.to_string())
        }))
    }
}

impl InputHasher {
    pub fn with_image_lookup(lookup: Box<ImageLookup>) -> Self {
        Self {
            files: Mutex::default(),
            images: Mutex::default(),
            lookup,
        }
    }

    /// Asks the engine for every name not asked yet, at once.
    pub fn look_up_images(&self, names: &[String]) -> Result<(), String> {
        let mut known = self.images.lock().unwrap_or_else(|e| e.into_inner());
        let mut missing: Vec<String> = (names.iter())
            .filter(|n| !known.contains_key(*n))
            .cloned()
            .collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let ids = (self.lookup)(&missing)?;
        known.extend(missing.into_iter().zip(ids));
        Ok(())
    }

    /// The digest of `inputs`; an error says why it cannot be known (an
    /// image the engine does not have, an engine that does not answer).
    pub fn digest(&self, inputs: &TestInputs) -> Result<InputDigest, String> {
        let mut hasher = Sha256::new();
        for (label, value) in &inputs.texts {
            field(&mut hasher, label, value.as_bytes());
        }
        self.look_up_images(&inputs.images)?;
        let known = self.images.lock().unwrap_or_else(|e| e.into_inner());
        for name in &inputs.images {
            match known.get(name) {
                Some(Some(id)) => field(&mut hasher, &format!("image:{name}"), id.as_bytes()),
                _ => return Err(format!("the engine has no image `{name}`")),
            }
        }
        drop(known);
        for path in &inputs.paths {
            let content = self.path_digest(path);
            field(&mut hasher, &format!("path:{}", path.display()), &content);
        }
        Ok(InputDigest(hasher.finalize().into()))
    }

    /// A file's content digest, a folder's (names and contents, in name
    /// order), or a marker for a path that is not there.
    fn path_digest(&self, path: &Path) -> Vec<u8> {
        let Ok(meta) = std::fs::metadata(path) else {
            return b"\0missing".to_vec();
        };
        if meta.is_file() {
            return self.file_digest(path, &meta).to_vec();
        }
        let mut hasher = Sha256::new();
        let walk = walkdir::WalkDir::new(path)
            .sort_by_file_name()
            .follow_links(false);
        for entry in walk.into_iter().filter_map(Result::ok) {
            let relative = entry.path().strip_prefix(path).unwrap_or(entry.path());
            let name = relative.to_string_lossy();
            if entry.file_type().is_symlink() {
                let target = std::fs::read_link(entry.path()).unwrap_or_default();
                field(
                    &mut hasher,
                    &format!("link:{name}"),
                    target.as_os_str().as_encoded_bytes(),
                );
            } else if entry.file_type().is_file()
                && let Ok(meta) = entry.metadata()
            {
                field(
                    &mut hasher,
                    &format!("file:{name}"),
                    &self.file_digest(entry.path(), &meta),
                );
            } else {
                field(&mut hasher, &format!("dir:{name}"), b"");
            }
        }
        hasher.finalize().to_vec()
    }

    fn file_digest(&self, path: &Path, meta: &std::fs::Metadata) -> [u8; 32] {
        let now = stamp(meta);
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((seen, digest)) = files.get(path)
            && *seen == now
        {
            return *digest;
        }
        drop(files);
        let digest: [u8; 32] = match std::fs::File::open(path) {
            Ok(mut file) => {
                let mut hasher = Sha256::new();
                match std::io::copy(&mut file, &mut hasher) {
                    Ok(_) => hasher.finalize().into(),
                    Err(_) => Sha256::digest(b"\0unreadable").into(),
                }
            }
            Err(_) => Sha256::digest(b"\0unreadable").into(),
        };
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.insert(path.to_path_buf(), (now, digest));
        digest
    }
}

/// One labelled field, length-prefixed so no two lists of fields collide.
fn field(hasher: &mut Sha256, label: &str, value: &[u8]) {
    hasher.update((label.len() as u64).to_le_bytes());
    hasher.update(label.as_bytes());
    hasher.update((value.len() as u64).to_le_bytes());
    hasher.update(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher_with(images: &'static [(&'static str, &'static str)]) -> InputHasher {
        InputHasher::with_image_lookup(Box::new(move |names: &[String]| {
            Ok(names
                .iter()
                .map(|n| {
                    images
                        .iter()
                        .find(|(name, _)| name == n)
                        .map(|(_, id)| id.to_string())
                })
                .collect())
        }))
    }

    fn inputs(texts: &[(&str, &str)], paths: &[&Path], images: &[&str]) -> TestInputs {
        TestInputs {
            texts: texts
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            paths: paths.iter().map(|p| p.to_path_buf()).collect(),
            images: images.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn every_kind_of_input_changes_the_digest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("app");
        std::fs::write(&file, "v1").expect("write");
        let folder = dir.path().join("data");
        std::fs::create_dir(&folder).expect("mkdir");
        std::fs::write(folder.join("a"), "1").expect("write");
        let hasher = hasher_with(&[("img:1", "sha256:aaa"), ("img:2", "sha256:bbb")]);
        let base = inputs(&[("scenario", "x")], &[&file, &folder], &["img:1"]);
        let first = hasher.digest(&base).expect("digest");
        assert_eq!(
            hasher.digest(&base).expect("digest"),
            first,
            "deterministic"
        );

        let other_text = inputs(&[("scenario", "y")], &[&file, &folder], &["img:1"]);
        assert_ne!(hasher.digest(&other_text).expect("digest"), first);
        let other_image = inputs(&[("scenario", "x")], &[&file, &folder], &["img:2"]);
        assert_ne!(hasher.digest(&other_image).expect("digest"), first);

        std::fs::write(&file, "v2").expect("write");
        let after_file = hasher.digest(&base).expect("digest");
        assert_ne!(after_file, first, "the file's content changed");
        std::fs::write(folder.join("b"), "2").expect("write");
        let after_folder = hasher.digest(&base).expect("digest");
        assert_ne!(after_folder, after_file, "a file was added to the folder");
        std::fs::remove_file(&file).expect("remove");
        assert_ne!(
            hasher.digest(&base).expect("digest"),
            after_folder,
            "the file went"
        );
    }

    #[test]
    fn a_missing_image_leaves_the_digest_unknown() {
        let hasher = hasher_with(&[]);
        let error = hasher
            .digest(&inputs(&[], &[], &["nowhere:1"]))
            .expect_err("no such image");
        assert!(error.contains("nowhere:1"), "{error}");
        let down =
            InputHasher::with_image_lookup(Box::new(|_: &[String]| Err("engine down".into())));
        assert_eq!(
            down.digest(&inputs(&[], &[], &["a:1"])),
            Err("engine down".into())
        );
        // No images, no engine needed.
        assert!(down.digest(&inputs(&[("a", "b")], &[], &[])).is_ok());
    }

    #[test]
    fn a_digest_reads_back_from_its_hex() {
        let digest = InputDigest([0xab; 32]);
        let json = serde_json::to_string(&digest).expect("json");
        assert_eq!(
            serde_json::from_str::<InputDigest>(&json).expect("back"),
            digest
        );
        assert!(serde_json::from_str::<InputDigest>("\"abc\"").is_err());
    }
}
