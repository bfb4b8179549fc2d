//! Test only (cargo feature `tamper`, never enabled in release builds): a relay that corrupts
//! forwarded message envelopes, so the tests can show that every client detects it.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::protocol;
use crate::store::{ConvId, StoredFrame};

/// How to corrupt forwarded message envelopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tamper {
    /// Flip one bit of every forwarded envelope.
    FlipByte,
    /// Forward every envelope twice (the copy under a new sequence number).
    Replay,
    /// Deliver consecutive envelopes of one direction in swapped order.
    Reorder,
}

/// Envelopes held back by `Reorder`, one per conversation and direction.
pub type Held = Mutex<HashMap<(ConvId, &'static str), StoredFrame>>;

/// The deliver frames to forward for the message `frame` under `mode`.
pub fn forwarded(mode: Tamper, held: &Held, id: &ConvId, frame: &StoredFrame, live: bool) -> Vec<String> {
    let clean = || protocol::deliver(id, frame, &frame.data);
    match mode {
        Tamper::FlipByte => {
            let mut data = frame.data.clone();
            if let Some(last) = data.last_mut() {
                *last ^= 0x01;
            }
            vec![protocol::deliver(id, frame, &data)]
        }
        // Replay copies are injected into the store at `post` time (see `Hub::handle`).
        Tamper::Replay => vec![clean()],
        Tamper::Reorder if live => {
            // Hold one envelope; when the next arrives, deliver the two with their payloads
            // swapped (sequence numbers stay ascending, the envelopes do not).
            let mut held = held.lock().unwrap_or_else(|p| p.into_inner());
            match held.remove(&(*id, frame.sender.as_str())) {
                Some(previous) => vec![
                    protocol::deliver(id, &previous, &frame.data),
                    protocol::deliver(id, frame, &previous.data),
                ],
                None => {
                    held.insert((*id, frame.sender.as_str()), frame.clone());
                    Vec::new()
                }
            }
        }
        Tamper::Reorder => vec![clean()],
    }
}
