//! Content-keyed caches. The render cache is always safe to use: its key is the
//! SHA-256 of everything a rendering reads.

mod render_cache;

pub use render_cache::{CacheKey, CacheStats, RenderCache};
