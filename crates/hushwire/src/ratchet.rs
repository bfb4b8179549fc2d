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

use alloc::vec::Vec;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::cipher;

/// A chain key: derives the next message key and replaces itself (wiped on drop).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct ChainKey(pub(crate) [u8; 32]);

/// The key of one message (wiped on drop).
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct MessageKey(pub(crate) [u8; 32]);

impl core::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ChainKey(<redacted>)")
    }
}

impl core::fmt::Debug for MessageKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MessageKey(<redacted>)")
    }
}

/// One step of the chain: returns the message key and advances the chain key in place.
pub(crate) fn step(chain_key: &mut ChainKey) -> MessageKey {
    // Both HMACs share the key, so its padded states are computed once.
    let (mk, mut next) = cipher::hmac_sha256_pair(&chain_key.0, &[0x01], &[0x02]);
    chain_key.0 = next;
    next.zeroize();
    MessageKey(mk)
}

/// A slot of [`SkippedKeys`]; `live == false` marks a hole whose key is already wiped.
#[derive(Zeroize)]
struct Slot {
    counter: u32,
    key: [u8; 32],
    live: bool,
}

/// The keys of skipped messages, by counter.
///
/// Keys are only ever added in ascending counter order (a chain only moves forward), so they
/// sit in one buffer sorted by counter: lookup is a binary search, the oldest key is evicted
/// at the front (`head` moves on), and a used key leaves a hole. Every operation is O(log n)
/// or amortised O(1) for any delivery order, with less code than a B-tree (which matters for
/// the wasm build).
///
/// No key is ever moved out of its slot or left behind: a key is wiped in place when used or
/// evicted, compaction moves keys by swapping them with wiped slots, and the buffer grows by
/// copying into a new allocation and wiping the old one before it is freed (a `Vec` or
/// `VecDeque` growing by itself would free an unwiped copy).
#[derive(Default)]
pub(crate) struct SkippedKeys {
    /// Slots `head..` are in use, ascending by counter; every slot before `head` is wiped.
    slots: Vec<Slot>,
    head: usize,
    live: usize,
}

impl Drop for SkippedKeys {
    fn drop(&mut self) {
        // Wipes the whole capacity, not only the slots in use.
        self.slots.zeroize();
    }
}

impl SkippedKeys {
    /// Smallest allocation, so a few skipped messages cost one allocation.
    const MIN_CAPACITY: usize = 16;

    /// Number of stored keys.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Slots in use (holes included), after `head`.
    fn in_use(&self) -> &[Slot] {
        self.slots.get(self.head..).unwrap_or_default()
    }

    /// Index in `slots` of the live slot for `counter`.
    fn position(&self, counter: u32) -> Option<usize> {
        let i = self.in_use().binary_search_by_key(&counter, |s| s.counter).ok()? + self.head;
        self.slots.get(i).filter(|s| s.live).map(|_| i)
    }

    /// The key for `counter`, if stored.
    pub(crate) fn get(&self, counter: u32) -> Option<&[u8; 32]> {
        self.slots.get(self.position(counter)?).map(|s| &s.key)
    }

    /// Erase the key for `counter` (wiping it in place); whether it was stored.
    pub(crate) fn remove(&mut self, counter: u32) -> bool {
        let Some(slot) = self.position(counter).and_then(|i| self.slots.get_mut(i)) else {
            return false;
        };
        slot.key.zeroize();
        slot.live = false;
        self.live -= 1;
        self.drop_front_holes();
        if self.in_use().len() > 2 * self.live + 32 {
            self.compact();
        }
        true
    }

    /// Add the key for `counter`, which must exceed every stored counter (else refused).
    pub(crate) fn push(&mut self, counter: u32, key: &[u8; 32]) -> bool {
        if self.in_use().last().is_some_and(|s| s.counter >= counter) {
            return false;
        }
        if self.slots.len() == self.slots.capacity() {
            let reclaimable = self.slots.len() - self.live;
            if reclaimable > 0 && reclaimable >= self.slots.capacity() / 2 {
                self.compact();
            } else {
                self.grow();
            }
        }
        // Within capacity now, so this never reallocates.
        self.slots.push(Slot {
            counter,
            key: *key,
            live: true,
        });
        self.live += 1;
        true
    }

    /// Erase the oldest stored key.
    pub(crate) fn pop_oldest(&mut self) {
        self.drop_front_holes();
        if let Some(slot) = self.slots.get_mut(self.head) {
            slot.zeroize();
            self.head += 1;
            self.live -= 1;
        }
        self.drop_front_holes();
    }

    fn drop_front_holes(&mut self) {
        while self.slots.get(self.head).is_some_and(|s| !s.live) {
            self.head += 1;
        }
        if self.head == self.slots.len() {
            // Every slot is wiped; reuse the buffer from its start.
            self.slots.truncate(0);
            self.head = 0;
        }
    }

    /// Move the live slots to the front of the buffer, in order, by swapping each with a
    /// wiped slot (so no key is copied), and drop the wiped tail.
    fn compact(&mut self) {
        // Invariant: slots `write..read` are wiped (initially those before `head`).
        let mut write = 0;
        for read in self.head..self.slots.len() {
            if self.slots.get(read).is_some_and(|s| s.live) {
                self.slots.swap(write, read);
                write += 1;
            }
        }
        self.slots.truncate(write);
        self.head = 0;
    }

    /// Move the live keys into a buffer twice their number (at least [`Self::MIN_CAPACITY`])
    /// and wipe the old buffer before freeing it.
    fn grow(&mut self) {
        let mut bigger = Vec::with_capacity(Self::MIN_CAPACITY.max(2 * self.live));
        bigger.extend(self.in_use().iter().filter(|s| s.live).map(|s| Slot {
            counter: s.counter,
            key: s.key,
            live: true,
        }));
        let mut old = core::mem::replace(&mut self.slots, bigger);
        old.zeroize();
        self.head = 0;
    }

    /// Stored keys in ascending counter order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &[u8; 32])> {
        self.in_use()
            .iter()
            .filter(|s| s.live)
            .map(|s| (s.counter, &s.key))
    }
}

/// A sending chain.
pub(crate) struct SendChain {
    pub(crate) chain_key: ChainKey,
    /// Counter of the next message to send.
    pub(crate) next: u32,
}

/// A receiving chain with the keys of skipped (not yet received) messages.
pub(crate) struct RecvChain {
    pub(crate) chain_key: ChainKey,
    /// Counter of the next message expected in order.
    pub(crate) next: u32,
    /// Keys for counters below `next` that have not arrived yet. Each is erased on use.
    pub(crate) skipped: SkippedKeys,
}

/// Keys computed for an incoming message ahead of `next`, not yet committed: the state only
/// changes once the message authenticates, so forgeries cannot fill the skipped-key store or
/// move the chain. Everything in it is wiped when it is dropped, committed or not.
pub(crate) struct Advance {
    pub(crate) message_key: MessageKey,
    chain_key: ChainKey,
    /// Keys for counters `first_skipped..`, allocated at their exact size (never regrown).
    new_skipped: Zeroizing<Vec<[u8; 32]>>,
    first_skipped: u32,
    next: u32,
}

impl RecvChain {
    /// Compute the key for `counter >= self.next` without changing state.
    pub(crate) fn advance_to(&self, counter: u32) -> Advance {
        let mut chain_key = self.chain_key.clone();
        let skipped = counter.saturating_sub(self.next) as usize;
        let mut new_skipped = Zeroizing::new(Vec::with_capacity(skipped));
        for _ in self.next..counter {
            new_skipped.push(step(&mut chain_key).0);
        }
        let message_key = step(&mut chain_key);
        Advance {
            message_key,
            chain_key,
            new_skipped,
            first_skipped: self.next,
            next: counter.saturating_add(1),
        }
    }

    /// The keys of counters `next..end` (none if `end <= next`), without changing state: the
    /// rest of a chain the peer has closed (its new header's `pn`).
    pub(crate) fn keys_until(&self, end: u32) -> Zeroizing<Vec<[u8; 32]>> {
        let mut chain_key = self.chain_key.clone();
        let mut keys = Zeroizing::new(Vec::with_capacity(end.saturating_sub(self.next) as usize));
        for _ in self.next..end {
            keys.push(step(&mut chain_key).0);
        }
        keys
    }

    /// Commit an authenticated advance; evicts the oldest skipped keys beyond `max_stored`.
    pub(crate) fn commit(&mut self, advance: Advance, max_stored: usize) {
        self.chain_key.0 = advance.chain_key.0;
        self.next = advance.next;
        // Keys that would be evicted at once are never stored.
        let skip = advance.new_skipped.len().saturating_sub(max_stored);
        for (n, key) in (advance.first_skipped..)
            .zip(advance.new_skipped.iter())
            .skip(skip)
        {
            // Counters of an advance lie above every stored one, so this always succeeds.
            self.skipped.push(n, key);
        }
        while self.skipped.len() > max_stored {
            // The oldest message is the least likely still to arrive.
            self.skipped.pop_oldest();
        }
        // `advance` drops here, wiping its copies.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::vec::Vec;

    fn key(n: u32) -> [u8; 32] {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&n.to_be_bytes());
        k
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
                        prop_assert!(store.push(next, &key(next)));
                        model.insert(next, ());
                        // Not above the newest counter: refused.
                        prop_assert!(!store.push(next, &key(next)));
                    }
                    Op::Remove(n) => prop_assert_eq!(store.remove(n), model.remove(&n).is_some()),
                    Op::Get(n) => {
                        prop_assert_eq!(store.get(n).copied(), model.get(&n).map(|_| key(n)));
                    }
                    Op::PopOldest => {
                        store.pop_oldest();
                        model.pop_first();
                    }
                }
                prop_assert_eq!(store.len(), model.len());
                let listed: Vec<u32> = store.iter().map(|(n, _)| n).collect();
                prop_assert_eq!(listed, model.keys().copied().collect::<Vec<_>>());
                // Holes never outgrow the keys by much, nor does the buffer.
                prop_assert!(store.in_use().len() <= 2 * store.live + 33);
                // Every slot before `head`, every hole, and the spare capacity are wiped.
                for (i, slot) in store.slots.iter().enumerate() {
                    if i < store.head || !slot.live {
                        prop_assert_eq!(slot.key, [0u8; 32]);
                    }
                }
            }
        }
    }
}
