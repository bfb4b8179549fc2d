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

use std::collections::BTreeMap;

use crate::cipher::{self, Secret32};

/// One step of the chain: returns the message key and advances the chain key in place.
pub(crate) fn step(chain_key: &mut Secret32) -> Secret32 {
    let mk = Secret32(cipher::hmac_sha256(&chain_key.0, &[&[0x01]]));
    chain_key.0 = cipher::hmac_sha256(&chain_key.0, &[&[0x02]]);
    mk
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
    pub(crate) skipped: BTreeMap<u32, Secret32>,
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
        self.skipped.extend(advance.new_skipped);
        while self.skipped.len() > max_stored {
            // The oldest message is the least likely still to arrive.
            self.skipped.pop_first();
        }
    }
}
