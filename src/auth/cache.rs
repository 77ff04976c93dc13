//! Remembers who a token or session is, so most requests authenticate with a
//! hash-map lookup instead of store reads, JSON decoding and a JWT check.
//!
//! Every write through `Service::write` bumps the generation and empties the
//! cache, so revoking a token, deactivating a user or changing a role acts on
//! the very next request. A lookup that started before such a write never
//! stores its (possibly stale) answer: insertion checks the generation it saw.
//!
//! Entries are keyed by the credential as presented (as session IDs always
//! were), so a lookup neither hashes a token nor builds a key: both showed
//! in per-request profiles.

use super::permission::Actor;
use super::Presented;
use crate::domain::time::Timestamp;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Past this many credentials the cache starts over; a bound, not a tuning knob.
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    actor: Actor,
    expires_at: Option<Timestamp>,
}

#[derive(Default)]
struct State {
    generation: u64,
    tokens: HashMap<String, Entry>,
    sessions: HashMap<String, Entry>,
}

impl State {
    fn entries<'p>(&mut self, p: &'p Presented) -> (&mut HashMap<String, Entry>, &'p str) {
        match p {
            Presented::Token(t) => (&mut self.tokens, t),
            Presented::Session(s) => (&mut self.sessions, s),
        }
    }
}

#[derive(Default)]
pub struct AuthCache {
    state: Mutex<State>,
}

impl AuthCache {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    pub fn get(&self, presented: &Presented) -> Option<Actor> {
        let mut st = self.lock();
        let (entries, key) = st.entries(presented);
        let e = entries.get(key)?;
        if e.expires_at.is_some_and(|t| t <= Timestamp::now()) {
            return None;
        }
        Some(e.actor.clone())
    }

    /// Stores an answer computed from the store as it was at `seen`.
    pub fn insert(
        &self,
        presented: &Presented,
        actor: Actor,
        expires_at: Option<Timestamp>,
        seen: u64,
    ) {
        let mut st = self.lock();
        if st.generation != seen {
            return;
        }
        if st.tokens.len() + st.sessions.len() >= MAX_ENTRIES {
            st.tokens.clear();
            st.sessions.clear();
        }
        let (entries, key) = st.entries(presented);
        entries.insert(key.to_owned(), Entry { actor, expires_at });
    }

    pub fn invalidate(&self) {
        let mut st = self.lock();
        st.generation += 1;
        st.tokens.clear();
        st.sessions.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::permission::Credential;
    use crate::id::Id;
    use std::sync::Arc;

    fn actor() -> Actor {
        let id = Id::from_u64(1).expect("id");
        Actor {
            user_id: id,
            credential: Credential::Token { authorization: id },
            permissions: Arc::new(Vec::new()),
        }
    }

    #[test]
    fn a_lookup_that_raced_a_write_is_not_kept() {
        let c = AuthCache::default();
        let seen = c.generation();
        c.invalidate(); // a write lands while the lookup reads the store
        let k = Presented::Token("k".into());
        c.insert(&k, actor(), None, seen);
        assert!(c.get(&k).is_none());
        let seen = c.generation();
        c.insert(&k, actor(), None, seen);
        assert!(c.get(&k).is_some());
        assert!(
            c.get(&Presented::Session("k".into())).is_none(),
            "a session ID never matches a token"
        );
        c.invalidate();
        assert!(c.get(&k).is_none());
    }

    #[test]
    fn expired_entries_are_misses() {
        let c = AuthCache::default();
        let past = Timestamp::from_nanos(1);
        let s = Presented::Session("s".into());
        c.insert(&s, actor(), Some(past), c.generation());
        assert!(c.get(&s).is_none());
    }
}
