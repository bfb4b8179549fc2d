//! Symmetric-key chains, Signal's `KDF_CK` (Double Ratchet spec, §5.2, "recommended
//! cryptographic algorithms"):
//!
//! ```text
//! message_key = HMAC-SHA256(chain_key, 0x01)
//! chain_key'  = HMAC-SHA256(chain_key, 0x02)
//! ```
//!
//! The old chain key is overwritten at every step, so state captured later cannot recompute
//! earlier message keys (forward secrecy within a session).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::cipher::{self, Secret32};

/// One step of the chain: returns the message key and advances the chain key in place.
pub(crate) fn step(chain_key: &mut Secret32) -> Secret32 {
    // Both HMACs share the key, so its padded states are computed once.
    let (mk, next) = cipher::hmac_sha256_pair(&chain_key.0, &[0x01], &[0x02]);
    chain_key.0 = next;
    Secret32(mk)
}

/// The keys of skipped messages, by counter.
///
/// Keys are only ever added in ascending counter order (a chain only moves forward), so they
/// sit in a deque sorted by counter: lookup is a binary search, the oldest key is evicted from
/// the front, and a used key is wiped at once and leaves a hole that is dropped when it
/// reaches the front, or when holes outnumber keys (then all at once). Every operation is
/// O(log n) or amortised O(1) for any delivery order, with less code than a B-tree (which
/// matters for the wasm build).
#[derive(Default)]
pub(crate) struct SkippedKeys {
    entries: VecDeque<(u32, Option<Secret32>)>,
    live: usize,
}

impl SkippedKeys {
    /// Number of stored keys.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    fn position(&self, counter: u32) -> Option<usize> {
        self.entries.binary_search_by_key(&counter, |e| e.0).ok()
    }

    /// The key for `counter`, if stored.
    pub(crate) fn get(&self, counter: u32) -> Option<&Secret32> {
        self.position(counter).and_then(|i| self.entries[i].1.as_ref())
    }

    /// Erase the key for `counter` (wiping it); whether it was stored.
    pub(crate) fn remove(&mut self, counter: u32) -> bool {
        let Some(slot) = self.position(counter).map(|i| &mut self.entries[i].1) else {
            return false;
        };
        if slot.take().is_none() {
            return false;
        }
        self.live -= 1;
        self.drop_front_holes();
        if self.entries.len() > 2 * self.live + 32 {
            self.entries.retain(|e| e.1.is_some());
        }
        true
    }

    /// Add the key for `counter`, which must exceed every stored counter (else refused).
    pub(crate) fn push(&mut self, counter: u32, key: Secret32) -> bool {
        if self.entries.back().is_some_and(|e| e.0 >= counter) {
            return false;
        }
        self.entries.push_back((counter, Some(key)));
        self.live += 1;
        true
    }

    /// Erase the oldest stored key.
    pub(crate) fn pop_oldest(&mut self) {
        self.drop_front_holes();
        if self.entries.pop_front().is_some() {
            self.live -= 1;
        }
        self.drop_front_holes();
    }

    fn drop_front_holes(&mut self) {
        while self.entries.front().is_some_and(|e| e.1.is_none()) {
            self.entries.pop_front();
        }
    }

    /// Stored keys in ascending counter order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Secret32)> {
        self.entries
            .iter()
            .filter_map(|(n, k)| k.as_ref().map(|k| (*n, k)))
    }
}

/// A sending chain.
pub(crate) struct SendChain {
    pub(crate) chain_key: Secret32,
    /// Counter of the next message to send.
    pub(crate) next: u32,
}

/// A receiving chain with the keys of skipped (not yet received) messages.
pub(crate) struct RecvChain {
    pub(crate) chain_key: Secret32,
    /// Counter of the next message expected in order.
    pub(crate) next: u32,
    /// Keys for counters below `next` that have not arrived yet. Each is erased on use.
    pub(crate) skipped: SkippedKeys,
}

/// Keys computed for an incoming message ahead of `next`, not yet committed: the state only
/// changes once the message authenticates, so forgeries cannot fill the skipped-key store or
/// move the chain.
pub(crate) struct Advance {
    pub(crate) message_key: Secret32,
    chain_key: Secret32,
    new_skipped: Vec<(u32, Secret32)>,
    next: u32,
}

impl RecvChain {
    /// Compute the key for `counter >= self.next` without changing state.
    pub(crate) fn advance_to(&self, counter: u32) -> Advance {
        let mut chain_key = self.chain_key.clone();
        let mut new_skipped = Vec::with_capacity((counter - self.next) as usize);
        for n in self.next..counter {
            new_skipped.push((n, step(&mut chain_key)));
        }
        let message_key = step(&mut chain_key);
        Advance {
            message_key,
            chain_key,
            new_skipped,
            next: counter + 1,
        }
    }

    /// Commit an authenticated advance; evicts the oldest skipped keys beyond `max_stored`.
    pub(crate) fn commit(&mut self, advance: Advance, max_stored: usize) {
        self.chain_key = advance.chain_key;
        self.next = advance.next;
        for (n, key) in advance.new_skipped {
            // Counters of an advance lie above every stored one, so this always succeeds.
            self.skipped.push(n, key);
        }
        while self.skipped.len() > max_stored {
            // The oldest message is the least likely still to arrive.
            self.skipped.pop_oldest();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::vec::Vec;

    fn key(n: u32) -> Secret32 {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&n.to_be_bytes());
        Secret32(k)
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(u32),
        Remove(u32),
        Get(u32),
        PopOldest,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1u32..5).prop_map(Op::Push),
            (0u32..300).prop_map(Op::Remove),
            (0u32..300).prop_map(Op::Get),
            Just(Op::PopOldest),
        ]
    }

    proptest! {
        // The deque behaves exactly like an ordered map under any mix of operations.
        #[test]
        fn skipped_keys_match_an_ordered_map(ops in proptest::collection::vec(op(), 0..400)) {
            let mut store = SkippedKeys::default();
            let mut model = BTreeMap::new();
            let mut next = 0u32;
            for op in ops {
                match op {
                    Op::Push(gap) => {
                        next += gap;
                        prop_assert!(store.push(next, key(next)));
                        model.insert(next, ());
                        // Not above the newest counter: refused.
                        prop_assert!(!store.push(next, key(next)));
                    }
                    Op::Remove(n) => prop_assert_eq!(store.remove(n), model.remove(&n).is_some()),
                    Op::Get(n) => {
                        prop_assert_eq!(store.get(n).map(|k| k.0), model.get(&n).map(|_| key(n).0));
                    }
                    Op::PopOldest => {
                        store.pop_oldest();
                        model.pop_first();
                    }
                }
                prop_assert_eq!(store.len(), model.len());
                let listed: Vec<u32> = store.iter().map(|(n, _)| n).collect();
                prop_assert_eq!(listed, model.keys().copied().collect::<Vec<_>>());
                // Holes never outgrow the keys by much.
                prop_assert!(store.entries.len() <= 2 * store.live + 33);
            }
        }
    }
}
