//! Abuse limits (issue #16): what one client, one address or everyone together may use.
//! Connection admission (caps per address and in total, the Origin allow-list) is decided
//! here before a WebSocket is upgraded; the quotas on stored frames are enforced by the store
//! inside the append transaction (see [`crate::store::Quota`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every limit the relay enforces, from flags.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest text frame accepted.
    pub max_frame: usize,
    /// Frames per second per connection, control frames included; bursts of twice that.
    pub rate_per_sec: u32,
    /// Open WebSocket connections per source address.
    pub conns_per_addr: usize,
    /// Open WebSocket connections in total.
    pub conns_total: usize,
    /// A connection that sends nothing (not even a pong to the relay's pings) this long is
    /// closed.
    pub idle: Duration,
    /// Frames a visitor may store before an agent has accepted the conversation (its hellos
    /// included): the bounded queue of the relay protocol.
    pub pre_accept_frames: u64,
    /// Frame bytes a visitor may store before an agent has accepted.
    pub pre_accept_bytes: u64,
    /// Frames one conversation may hold.
    pub conv_frames: u64,
    /// Frame bytes one conversation may hold.
    pub conv_bytes: u64,
    /// Conversations (with a hello) one organisation may hold.
    pub org_conversations: u64,
    /// Conversations the relay may hold in total (with or without a hello).
    pub total_conversations: u64,
    /// An unassigned conversation is deleted this long after it was created.
    pub unassigned_ttl: Duration,
    /// Browser origins allowed to open a WebSocket (`scheme://host[:port]`). Empty: only the
    /// relay's own origin. Clients that send no Origin (not browsers) are not affected.
    pub allowed_origins: Vec<String>,
}

/// Open connections per address and in total.
#[derive(Default)]
pub struct Admission {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// An admitted connection; its slot is released when dropped.
pub struct Slot {
    admission: Arc<Admission>,
    addr: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.admission.lock();
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.addr) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.addr);
            }
        }
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This address has too many connections open.
    PerAddress,
    /// The relay has too many connections open.
    Total,
}

impl Admission {
    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, HashMap<IpAddr, usize>)> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot for `addr`, or says which cap is reached.
    pub fn admit(self: &Arc<Self>, addr: IpAddr, limits: &Limits) -> Result<Slot, Refusal> {
        let mut open = self.lock();
        if open.0 >= limits.conns_total {
            return Err(Refusal::Total);
        }
        let n = open.1.entry(addr).or_insert(0);
        if *n >= limits.conns_per_addr {
            return Err(Refusal::PerAddress);
        }
        *n += 1;
        open.0 += 1;
        Ok(Slot {
            admission: self.clone(),
            addr,
        })
    }

    /// Open connections in total.
    #[cfg(test)]
    pub fn open(&self) -> usize {
        self.lock().0
    }
}

/// Whether a WebSocket upgrade with this `Origin` (if any) to this `Host` is allowed: no
/// Origin (not a browser: a browser always sends one), an Origin on the allow-list, or, with
/// an empty list, the relay's own origin (the Origin's host and port are the Host header).
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    if !allowed.is_empty() {
        return allowed.iter().any(|a| a.eq_ignore_ascii_case(origin));
    }
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match (authority, host) {
        (Some(a), Some(h)) => a.eq_ignore_ascii_case(h),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_addr: usize, total: usize) -> Limits {
        Limits {
            max_frame: 1,
            rate_per_sec: 1,
            conns_per_addr: per_addr,
            conns_total: total,
            idle: Duration::from_secs(1),
            pre_accept_frames: 1,
            pre_accept_bytes: 1,
            conv_frames: 1,
            conv_bytes: 1,
            org_conversations: 1,
            total_conversations: 1,
            unassigned_ttl: Duration::from_secs(1),
            allowed_origins: Vec::new(),
        }
    }

    #[test]
    fn connection_caps_per_address_and_in_total_release_on_drop() {
        let adm = Arc::new(Admission::default());
        let l = limits(2, 3);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let a1 = adm.admit(a, &l).unwrap();
        let _a2 = adm.admit(a, &l).unwrap();
        assert_eq!(adm.admit(a, &l).err(), Some(Refusal::PerAddress));
        let _b1 = adm.admit(b, &l).unwrap();
        assert_eq!(adm.admit(b, &l).err(), Some(Refusal::Total));
        drop(a1);
        assert_eq!(adm.open(), 2);
        let _b2 = adm.admit(b, &l).unwrap();
    }

    #[test]
    fn origins() {
        let none: Vec<String> = Vec::new();
        assert!(origin_allowed(None, Some("relay.example"), &none));
        assert!(origin_allowed(
            Some("https://relay.example"),
            Some("relay.example"),
            &none
        ));
        assert!(origin_allowed(
            Some("http://127.0.0.1:8080"),
            Some("127.0.0.1:8080"),
            &none
        ));
        assert!(!origin_allowed(
            Some("https://evil.example"),
            Some("relay.example"),
            &none
        ));
        assert!(!origin_allowed(Some("null"), Some("relay.example"), &none));
        assert!(!origin_allowed(Some("https://relay.example"), None, &none));
        let list = vec!["https://shop.example".to_string()];
        assert!(origin_allowed(
            Some("https://shop.example"),
            Some("relay.example"),
            &list
        ));
        assert!(!origin_allowed(
            Some("https://relay.example"),
            Some("relay.example"),
            &list
        ));
    }
}
