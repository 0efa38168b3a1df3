//! WAMP IDs: integers in `1..=2^53`, so that every peer (JavaScript included) can hold
//! them exactly.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The largest valid ID, 2^53.
pub const MAX_ID: u64 = 1 << 53;

/// A session, request, publication, subscription or registration ID.
///
/// Always in `1..=2^53` once decoded. The one exception the spec makes is the request ID
/// `0` of a router-initiated UNSUBSCRIBED/UNREGISTERED (revocation); those messages carry
/// the ID as a plain `u64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Id(u64);

impl Id {
    /// The smallest ID.
    pub const MIN: Id = Id(1);
    /// The largest ID.
    pub const MAX: Id = Id(MAX_ID);

    /// Checks the range.
    pub const fn new(value: u64) -> Option<Id> {
        if value >= 1 && value <= MAX_ID {
            Some(Id(value))
        } else {
            None
        }
    }

    /// The ID as an integer.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The next ID in a session scope: incremented by one, wrapping from 2^53 back to 1.
    pub const fn next(self) -> Id {
        if self.0 >= MAX_ID {
            Id(1)
        } else {
            Id(self.0 + 1)
        }
    }

    /// A random ID from the global scope, uniform over `1..=2^53`.
    pub fn random() -> Id {
        Id(rand::random_range(1..=MAX_ID))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Id> for u64 {
    fn from(id: Id) -> u64 {
        id.0
    }
}

impl TryFrom<u64> for Id {
    type Error = u64;
    fn try_from(v: u64) -> Result<Id, u64> {
        Id::new(v).ok_or(v)
    }
}

/// Hands out session-scope IDs: 1, 2, 3, ... wrapping after 2^53. Shared by reference
/// (`&self`), so the tasks of one session can draw from it concurrently.
#[derive(Debug, Default)]
pub struct IdSequence {
    issued: std::sync::atomic::AtomicU64,
}

impl IdSequence {
    /// A sequence whose first ID is 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next ID.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&self) -> Id {
        let n = self
            .issued
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Id(n % MAX_ID + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_enforced() {
        assert_eq!(Id::new(0), None);
        assert_eq!(Id::new(1).map(Id::get), Some(1));
        assert_eq!(Id::new(MAX_ID).map(Id::get), Some(MAX_ID));
        assert_eq!(Id::new(MAX_ID + 1), None);
    }

    #[test]
    fn sequence_wraps_to_one() {
        let seq = IdSequence {
            issued: std::sync::atomic::AtomicU64::new(MAX_ID - 1),
        };
        assert_eq!(seq.next().get(), MAX_ID);
        assert_eq!(seq.next().get(), 1);
        assert_eq!(seq.next().get(), 2);
    }

    #[test]
    fn random_ids_are_in_range() {
        for _ in 0..1000 {
            let id = Id::random().get();
            assert!((1..=MAX_ID).contains(&id));
        }
    }
}

/// A map keyed by IDs this side chose itself (its own request IDs), hashed with one
/// multiplication instead of SipHash. Only for such maps: with keys a peer picks, a peer
/// could choose colliding ones.
pub(crate) type OwnIdMap<V> =
    std::collections::HashMap<Id, V, std::hash::BuildHasherDefault<OwnIdHasher>>;

/// See [`OwnIdMap`]. Request IDs are sequential; a multiplication by an odd constant
/// (Fibonacci hashing) spreads them over both the low bits (bucket) and the high bits
/// (the table's tag byte).
#[derive(Default, Clone, Copy)]
pub(crate) struct OwnIdHasher(u64);

impl std::hash::Hasher for OwnIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
