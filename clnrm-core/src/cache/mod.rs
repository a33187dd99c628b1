//! Content-keyed caches, and the fingerprints that say what changed. The render cache is always safe to use: its key is the
//! SHA-256 of everything a rendering reads.

mod fingerprint;
mod render_cache;

pub use fingerprint::{Fingerprint, fingerprints};
pub use render_cache::{CacheKey, CacheStats, RenderCache};
