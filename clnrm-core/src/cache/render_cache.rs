//! LRU cache of rendered templates keyed by (template hash, context hash).
//!
//! The environment variables a rendering read through `env()` are stored with
//! the entry and compared on lookup, so a changed variable is a miss. Renders
//! that used the real clock or randomness are never stored.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::render::{Dependency, RenderContext, Rendered};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey {
    template: [u8; 32],
    context: [u8; 32],
}

impl CacheKey {
    /// Hashes the template with every template it imports, and the context.
    pub fn new(template: &str, dependencies: &[Dependency], context: &RenderContext) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(template.as_bytes());
        for dependency in dependencies {
            hasher.update([0u8]);
            hasher.update(dependency.name.as_bytes());
            hasher.update([0u8]);
            hasher.update(dependency.text.as_bytes());
        }
        Self {
            template: hasher.finalize().into(),
            context: context.hash(),
        }
    }
}

#[derive(Debug)]
struct Entry {
    text: Arc<str>,
    env_reads: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
}

impl CacheStats {
    /// Hits over lookups, 0 when there were none.
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

#[derive(Debug)]
pub struct RenderCache {
    entries: Mutex<LruCache<CacheKey, Entry>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Default for RenderCache {
    fn default() -> Self {
        Self::new(NonZeroUsize::new(4096).expect("non-zero"))
    }
}

impl RenderCache {
    pub fn new(capacity: NonZeroUsize) -> Self {
        Self {
            entries: Mutex::new(LruCache::new(capacity)),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn get(&self, key: &CacheKey) -> Option<Arc<str>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = entries.get(key).and_then(|entry| {
            let unchanged = entry
                .env_reads
                .iter()
                .all(|(name, seen)| std::env::var(name).ok().as_ref() == seen.as_ref());
            unchanged.then(|| Arc::clone(&entry.text))
        });
        let counter = if fresh.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        fresh
    }

    /// Stores a rendering unless it depended on the clock or randomness.
    pub fn insert(&self, key: CacheKey, rendered: &Rendered) -> Arc<str> {
        let text: Arc<str> = Arc::from(rendered.text.as_str());
        if rendered.deterministic {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.put(
                key,
                Entry {
                    text: Arc::clone(&text),
                    env_reads: rendered.env_reads.clone(),
                },
            );
        }
        text
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.entries.lock().map(|e| e.len()).unwrap_or(0),
        }
    }
}
