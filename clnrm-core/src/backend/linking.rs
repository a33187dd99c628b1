//! Why a host binary does not start in a container: it is dynamically
//! linked and the image lacks its loader, or the image's C library is older
//! than the one it was linked against. Read from the binary's ELF header on
//! the host (the crate's binaries are mounted at the same path).

use std::io::Read;
use std::path::Path;

use super::error::BackendError;

/// What the user can do about either problem.
const FIX: &str = "run it in an image with a C library at least as new as the host's (the default runner image `debian:trixie-slim` has glibc), or build it statically for the container: `RUSTFLAGS=\"-C target-feature=+crt-static\" cargo build` (see docs/containers.md#the-crates-binaries-in-containers)";

/// The program interpreter (`PT_INTERP`) of the ELF file at `path`, if it
/// is a dynamically linked 64-bit little-endian ELF executable.
pub(crate) fn loader_of(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    // Headers only: the interpreter's path sits near the start of the file.
    let mut head = Vec::with_capacity(64 * 1024);
    file.by_ref().take(64 * 1024).read_to_end(&mut head).ok()?;
    if head.get(..4)? != b"\x7fELF" || head.get(4)? != &2 || head.get(5)? != &1 {
        return None;
    }
    let u16_at = |at: usize| Some(u16::from_le_bytes(head.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(head.get(at..at + 4)?.try_into().ok()?));
    let u64_at =
        |at: usize| Some(u64::from_le_bytes(head.get(at..at + 8)?.try_into().ok()?) as usize);
    let table = u64_at(0x20)?;
    let entry_size = usize::from(u16_at(0x36)?);
    let entries = usize::from(u16_at(0x38)?);
    const PT_INTERP: u32 = 3;
    (0..entries).find_map(|i| {
        let entry = table + i * entry_size;
        if u32_at(entry)? != PT_INTERP {
            return None;
        }
        let (offset, size) = (u64_at(entry + 0x08)?, u64_at(entry + 0x20)?);
        let text = head.get(offset..offset + size)?;
        let text = text.strip_suffix(&[0]).unwrap_or(text);
        Some(String::from_utf8_lossy(text).into_owned())
    })
}

/// The explanation for a program the engine could not start in `image`
/// ("no such file or directory" although the file is there), when the
/// program is a dynamically linked binary on the host.
pub(crate) fn missing_loader(program: &str, image: &str) -> Option<BackendError> {
    let loader = loader_of(Path::new(program))?;
    Some(BackendError::Linking(format!(
        "`{program}` is dynamically linked: it needs the loader `{loader}`, which the image `{image}` does not have; {FIX}"
    )))
}

/// Why one of the crate's binaries exited 1 before it ran, when it did:
/// the engine could not start it (`exec X: no such file or directory`,
/// although the file is mounted), or the image's glibc is too old.
pub(crate) fn explain_exit(program: &str, image: &str, stderr: &str) -> Option<BackendError> {
    let could_not_start = stderr.trim() == format!("exec {program}: no such file or directory");
    if could_not_start {
        missing_loader(program, image)
    } else {
        glibc_too_old(program, image, stderr)
    }
}

/// The explanation for a binary whose loader refused it in `image` because
/// the image's glibc is older than the one it was linked against.
fn glibc_too_old(program: &str, image: &str, stderr: &str) -> Option<BackendError> {
    if !Path::new(program).is_absolute() || !stderr.contains(program) {
        return None;
    }
    let at = stderr.find("version `GLIBC_")?;
    let version: String = stderr[at + "version `".len()..]
        .chars()
        .take_while(|c| *c != '\'' && *c != '`')
        .collect();
    stderr[at..].contains("not found").then(|| {
        BackendError::Linking(format!(
            "`{program}` needs {version}, which the C library of the image `{image}` is older than (the loader said: {}); {FIX}",
            stderr.trim()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamically_linked_executable_names_its_loader() {
        // This test binary is itself dynamically linked on the gnu targets.
        let me = std::env::current_exe().expect("current exe");
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            let loader = loader_of(&me).expect("a loader");
            assert!(loader.contains("ld-linux"), "{loader}");
        }
        assert_eq!(loader_of(Path::new("/nonexistent/clnrm")), None);
        let text = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(text.path(), "#!/bin/sh\necho hi\n").expect("write");
        assert_eq!(loader_of(text.path()), None, "a script has no ELF loader");
    }

    #[test]
    fn an_older_glibc_is_explained() {
        let said = "/work/target/debug/app: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.39' not found (required by /work/target/debug/app)\n";
        let error = glibc_too_old("/work/target/debug/app", "debian:bookworm-slim", said)
            .expect("explained")
            .to_string();
        assert!(error.contains("needs GLIBC_2.39"), "{error}");
        assert!(error.contains("`debian:bookworm-slim`"), "{error}");
        assert!(error.contains("+crt-static"), "{error}");
        assert!(glibc_too_old("app", "x", said).is_none(), "not a host path");
        assert!(
            glibc_too_old("/work/other", "x", said).is_none(),
            "another program"
        );
    }
}
