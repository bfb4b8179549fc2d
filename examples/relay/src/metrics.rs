//! `/metrics` in the Prometheus text format (prometheus-client). Relay-wide totals only: no
//! organisation, conversation or agent appears in a label, so a scrape tells one tenant
//! nothing about another.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The relay's metrics.
pub struct Metrics {
    registry: Registry,
    /// Open WebSocket connections.
    pub connections: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// WebSocket connections refused before the upgrade (Origin, connection caps).
    pub refused: Counter<u64, AtomicU64>,
    /// Frames stored.
    pub frames_stored: Counter<u64, AtomicU64>,
    /// Posts refused by a quota.
    pub quota_refusals: Counter<u64, AtomicU64>,
    /// Agent logins accepted.
    pub logins: Counter<u64, AtomicU64>,
    /// Agent logins refused (unknown token).
    pub failed_logins: Counter<u64, AtomicU64>,
    /// Connections closed for sending too fast.
    pub rate_limited: Counter<u64, AtomicU64>,
    /// Unassigned conversations deleted by expiry.
    pub expired: Counter<u64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("hushwire_relay");
        let m = Metrics {
            connections: Gauge::default(),
            refused: Counter::default(),
            frames_stored: Counter::default(),
            quota_refusals: Counter::default(),
            logins: Counter::default(),
            failed_logins: Counter::default(),
            rate_limited: Counter::default(),
            expired: Counter::default(),
            registry: Registry::default(),
        };
        registry.register("connections", "Open WebSocket connections", m.connections.clone());
        registry.register(
            "refused_connections",
            "WebSocket upgrades refused (origin, connection caps)",
            m.refused.clone(),
        );
        registry.register("frames_stored", "Frames stored", m.frames_stored.clone());
        registry.register(
            "quota_refusals",
            "Posts refused by a quota",
            m.quota_refusals.clone(),
        );
        registry.register("agent_logins", "Agent logins accepted", m.logins.clone());
        registry.register(
            "agent_login_failures",
            "Agent logins refused",
            m.failed_logins.clone(),
        );
        registry.register(
            "rate_limited",
            "Connections closed for exceeding the rate limit",
            m.rate_limited.clone(),
        );
        registry.register(
            "expired_conversations",
            "Unassigned conversations deleted by expiry",
            m.expired.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
