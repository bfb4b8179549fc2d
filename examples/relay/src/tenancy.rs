//! Organisations (tenants): who they are, their agents' credentials, and which organisation a
//! visitor's hello is addressed to.
//!
//! A relay runs either **multi-tenant**, from an organisations file (`--orgs`), or
//! **single-tenant** (`--agent-token`, the demo's mode): one implicit organisation,
//! [`SINGLE_TENANT`], that takes every hello. Conversations, waiting lists, accepts, syncs and
//! every store query are scoped to the organisation a conversation's first hello named.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The organisation of a single-tenant relay.
pub const SINGLE_TENANT: &str = "default";

/// Length of a v1 hello (PROTOCOL.md §3.3).
pub const HELLO_LEN: usize = 58;
/// Length of a v2 hello (PROTOCOL.md §16.5): the v1 fields and the ML-KEM-768 key.
pub const HELLO_V2_LEN: usize = 1242;
/// Longest reply of any version: v1 at most 366 bytes (PROTOCOL.md §3.4, a v2 certificate),
/// v2 at most 1470 (§16.6).
pub const MAX_REPLY_LEN: usize = 1470;

/// Where the organisation key id sits in a hello of either version (PROTOCOL.md §3.3, §16.5).
const HELLO_KEY_ID: std::ops::Range<usize> = 18..26;

/// The hello's length for its version byte, if the relay knows the version.
pub fn hello_len(version: u8) -> Option<usize> {
    match version {
        1 => Some(HELLO_LEN),
        2 => Some(HELLO_V2_LEN),
        _ => None,
    }
}

/// An organisation key id (PROTOCOL.md §3.2).
pub type KeyId = [u8; 8];

/// `SHA256("hushwire/v1/org-key-id" ‖ org_pk)[0..8]` (PROTOCOL.md §3.2), computed here so an
/// operator can configure an organisation by the public key its `org.json` publishes.
pub fn key_id(org_public_key: &[u8; 32]) -> KeyId {
    let digest = Sha256::new()
        .chain_update(b"hushwire/v1/org-key-id")
        .chain_update(org_public_key)
        .finalize();
    let mut id = [0u8; 8];
    id.copy_from_slice(digest.get(..8).unwrap_or(&[0u8; 8]));
    id
}

/// The organisation key id a hello names, if it is a well-formed hello: version 1 or 2, type
/// 1, exactly the version's length ([`HELLO_LEN`], [`HELLO_V2_LEN`]). The relay reads nothing
/// else of it.
pub fn hello_key_id(hello: &[u8]) -> Option<KeyId> {
    let version = *hello.first()?;
    if hello_len(version) != Some(hello.len()) || hello.get(1) != Some(&1) {
        return None;
    }
    hello.get(HELLO_KEY_ID)?.try_into().ok()
}

/// An agent's relay credential: `HMAC-SHA256(salt, token)` with a random 16-byte salt.
///
/// Why not a password hash (Argon2, scrypt): relay tokens are random secrets of at least 128
/// bits (`hushwire-agent certify-agent` makes 256-bit ones, `hash-token` refuses short ones),
/// so guessing costs 2^128 whatever the hash; a deliberately slow hash would add nothing but
/// CPU per login (every login checks every entry, see [`Tenants::login`]). The salt keeps equal
/// tokens from having equal entries and defeats precomputation across relays. HMAC-SHA256 is
/// RFC 2104 over SHA-256 (RustCrypto `hmac`, `sha2`).
#[derive(Clone)]
pub struct Credential {
    salt: [u8; 16],
    mac: [u8; 32],
}

/// The prefix of a credential's text form.
const CREDENTIAL_SCHEME: &str = "hmac-sha256";

fn mac(salt: &[u8; 16], token: &str) -> [u8; 32] {
    // HMAC takes keys of any length: `new_from_slice` cannot fail here.
    match <Hmac<Sha256> as Mac>::new_from_slice(salt) {
        Ok(mut m) => {
            m.update(token.as_bytes());
            m.finalize().into_bytes().into()
        }
        Err(_) => [0u8; 32],
    }
}

impl Credential {
    /// Hashes `token` under a fresh random salt.
    pub fn new(token: &str) -> Result<Self, String> {
        let mut salt = [0u8; 16];
        getrandom::getrandom(&mut salt).map_err(|_| "randomness unavailable".to_string())?;
        Ok(Credential {
            salt,
            mac: mac(&salt, token),
        })
    }

    /// Whether `token` is this credential's, in constant time.
    fn matches(&self, token: &str) -> bool {
        bool::from(mac(&self.salt, token).ct_eq(&self.mac))
    }

    /// `hmac-sha256$SALT$MAC` (unpadded base64url), as the organisations file holds it.
    pub fn to_text(&self) -> String {
        format!(
            "{CREDENTIAL_SCHEME}${}${}",
            crate::protocol::b64(&self.salt),
            crate::protocol::b64(&self.mac)
        )
    }

    /// Parses [`Credential::to_text`].
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('$');
        if parts.next()? != CREDENTIAL_SCHEME {
            return None;
        }
        let salt = crate::protocol::unb64(parts.next()?)?.try_into().ok()?;
        let mac = crate::protocol::unb64(parts.next()?)?.try_into().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Credential { salt, mac })
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A salted hash is not the token, but it is still not for logs.
        f.write_str("Credential(..)")
    }
}

/// Shortest relay token accepted, in characters (16 base64url characters are 96 bits; the
/// shipped tools make 43-character, 256-bit tokens).
pub const MIN_TOKEN_LEN: usize = 16;

/// An organisation.
#[derive(Debug, Clone)]
pub struct Org {
    /// Its id in the store and the logs (not secret).
    pub id: Arc<str>,
    /// Its organisation key id; `None` for the single-tenant organisation, which takes all.
    pub key_id: Option<KeyId>,
    /// Its conversations are deleted this long after their creation (`None`: kept).
    pub retention: Option<std::time::Duration>,
    /// Name, credential, and whether the agent may administer the organisation's data.
    agents: Vec<(String, Credential, bool)>,
}

/// An authenticated agent: its organisation and its name there (which alone make its
/// identity: equality and hashing ignore `admin`).
#[derive(Debug, Clone)]
pub struct AgentId {
    /// The organisation.
    pub org: Arc<str>,
    /// The agent's name, unique within the organisation.
    pub name: String,
    /// May delete the organisation's conversations (one or all).
    pub admin: bool,
}

impl PartialEq for AgentId {
    fn eq(&self, other: &Self) -> bool {
        self.org == other.org && self.name == other.name
    }
}

impl Eq for AgentId {}

impl std::hash::Hash for AgentId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.org.hash(state);
        self.name.hash(state);
    }
}

/// Every organisation this relay serves. Cloned once at start-up for the blob store.
#[derive(Debug, Default, Clone)]
pub struct Tenants {
    orgs: Vec<Org>,
    by_key_id: HashMap<KeyId, usize>,
}

/// The organisations file (`--orgs`), JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgsFile {
    organisations: Vec<OrgEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgEntry {
    id: String,
    /// The organisation's public key as in its `org.json` (unpadded base64url, 32 bytes).
    org_public_key: String,
    /// Seconds after which its conversations are deleted; absent: kept.
    #[serde(default)]
    retention_secs: Option<u64>,
    #[serde(default)]
    agents: Vec<AgentEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentEntry {
    name: String,
    /// `hmac-sha256$SALT$MAC`, from `hushwire-relay hash-token`.
    token_hash: String,
    /// May delete the organisation's conversations (one or all).
    #[serde(default)]
    admin: bool,
}

fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && !s.chars().any(char::is_control)
}

impl Tenants {
    /// A single-tenant relay whose agents are `(name, token)` pairs, keeping conversations
    /// for `retention` (`None`: for good).
    pub fn single(
        agents: Vec<(String, String)>,
        retention: Option<std::time::Duration>,
    ) -> Result<Self, String> {
        let mut list = Vec::new();
        for (name, token) in agents {
            if token.len() < MIN_TOKEN_LEN || !valid_name(&name) {
                return Err(format!(
                    "an agent token must be at least {MIN_TOKEN_LEN} characters, its name 1..=64"
                ));
            }
            list.push((name, Credential::new(&token)?, false));
        }
        Ok(Tenants {
            orgs: vec![Org {
                id: Arc::from(SINGLE_TENANT),
                key_id: None,
                retention,
                agents: list,
            }],
            by_key_id: HashMap::new(),
        })
    }

    /// Reads an organisations file (see the README): ids and key ids unique, agent names
    /// unique within their organisation, every credential well formed.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("organisations file: {e}"))?;
        Self::from_json(&text)
    }

    /// [`Tenants::from_file`] from the file's text.
    pub fn from_json(text: &str) -> Result<Self, String> {
        // serde_json's message names a line and column, never the file's values.
        let file: OrgsFile = serde_json::from_str(text).map_err(|e| format!("organisations file: {e}"))?;
        let mut tenants = Tenants::default();
        for entry in file.organisations {
            let bad = |what: &str| format!("organisation {:?}: {what}", entry.id);
            if !valid_name(&entry.id) || entry.id == SINGLE_TENANT {
                return Err(bad("the id must be 1..=64 characters and not \"default\""));
            }
            if tenants.orgs.iter().any(|o| *o.id == *entry.id) {
                return Err(bad("duplicate id"));
            }
            let pk: [u8; 32] = crate::protocol::unb64(&entry.org_public_key)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| bad("org_public_key is not 32 bytes of base64url"))?;
            let kid = key_id(&pk);
            if tenants.by_key_id.contains_key(&kid) {
                return Err(bad("another organisation has the same key"));
            }
            let mut agents: Vec<(String, Credential, bool)> = Vec::new();
            for a in entry.agents {
                if !valid_name(&a.name) || agents.iter().any(|(n, _, _)| *n == a.name) {
                    return Err(bad("agent names must be 1..=64 characters and unique"));
                }
                let cred = Credential::parse(&a.token_hash)
                    .ok_or_else(|| bad("a token_hash is not hmac-sha256$SALT$MAC"))?;
                agents.push((a.name, cred, a.admin));
            }
            tenants.by_key_id.insert(kid, tenants.orgs.len());
            tenants.orgs.push(Org {
                id: Arc::from(entry.id.as_str()),
                key_id: Some(kid),
                retention: entry.retention_secs.map(std::time::Duration::from_secs),
                agents,
            });
        }
        Ok(tenants)
    }

    /// Whether no agent of any organisation can log in.
    pub fn no_agents(&self) -> bool {
        self.orgs.iter().all(|o| o.agents.is_empty())
    }

    /// The organisations.
    pub fn orgs(&self) -> impl Iterator<Item = &Org> {
        self.orgs.iter()
    }

    /// The agent whose token this is. Checks every credential of every organisation whatever
    /// matches, so the time taken does not tell which one (or whether one) did.
    pub fn login(&self, token: &str) -> Option<AgentId> {
        let mut found = None;
        for org in &self.orgs {
            for (name, cred, admin) in &org.agents {
                if cred.matches(token) && found.is_none() {
                    found = Some(AgentId {
                        org: org.id.clone(),
                        name: name.clone(),
                        admin: *admin,
                    });
                }
            }
        }
        found
    }

    /// The organisation a hello is addressed to: the one with its key id, or on a
    /// single-tenant relay the one organisation. `None`: not a v1 hello, or no such
    /// organisation here.
    pub fn route_hello(&self, hello: &[u8]) -> Option<Arc<str>> {
        let kid = hello_key_id(hello)?;
        match self.orgs.as_slice() {
            [only] if only.key_id.is_none() => Some(only.id.clone()),
            orgs => orgs.get(*self.by_key_id.get(&kid)?).map(|o| o.id.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(kid: &KeyId) -> Vec<u8> {
        let mut h = vec![1u8, 1];
        h.extend([7u8; 16]);
        h.extend(kid);
        h.extend([9u8; 32]);
        h
    }

    #[test]
    fn credentials_round_trip_are_salted_and_match_only_their_token() {
        let a = Credential::new("token-aaaaaaaaaaaaaaaa").unwrap();
        let b = Credential::new("token-aaaaaaaaaaaaaaaa").unwrap();
        assert_ne!(a.to_text(), b.to_text(), "salted");
        let parsed = Credential::parse(&a.to_text()).unwrap();
        assert!(parsed.matches("token-aaaaaaaaaaaaaaaa"));
        assert!(!parsed.matches("token-aaaaaaaaaaaaaaab"));
        assert!(!a.to_text().contains("token-aaaa"));
        assert_eq!(format!("{a:?}"), "Credential(..)");
        for bad in [
            "",
            "sha256$AAAA$AAAA",
            "hmac-sha256$AAAA",
            &format!("{}$x", a.to_text()),
        ] {
            assert!(Credential::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn hellos_are_routed_by_key_id_and_must_be_exactly_58_bytes() {
        let (pk_a, pk_b) = ([1u8; 32], [2u8; 32]);
        let cred = Credential::new("alice-token-0123456789").unwrap().to_text();
        let json = format!(
            r#"{{"organisations": [
                {{"id": "a", "org_public_key": "{}", "agents": [{{"name": "alice", "token_hash": "{cred}"}}]}},
                {{"id": "b", "org_public_key": "{}"}}]}}"#,
            crate::protocol::b64(&pk_a),
            crate::protocol::b64(&pk_b)
        );
        let t = Tenants::from_json(&json).unwrap();
        assert_eq!(t.route_hello(&hello(&key_id(&pk_a))).as_deref(), Some("a"));
        assert_eq!(t.route_hello(&hello(&key_id(&pk_b))).as_deref(), Some("b"));
        assert_eq!(t.route_hello(&hello(&key_id(&[3u8; 32]))), None);
        let mut long = hello(&key_id(&pk_a));
        long.push(0);
        assert_eq!(t.route_hello(&long), None);
        assert_eq!(t.route_hello(&hello(&key_id(&pk_a))[..57]), None);
        let mut v2 = hello(&key_id(&pk_a));
        v2[0] = 2;
        assert_eq!(t.route_hello(&v2), None);
        let who = t.login("alice-token-0123456789").unwrap();
        assert_eq!((&*who.org, who.name.as_str()), ("a", "alice"));
        assert!(t.login("alice-token-012345678X").is_none());
        // The single-tenant relay takes every well-formed hello.
        let single = Tenants::single(vec![("x".into(), "x-token-0123456789".into())], None).unwrap();
        assert_eq!(
            single.route_hello(&hello(&[5; 8])).as_deref(),
            Some(SINGLE_TENANT)
        );
        assert!(Tenants::single(vec![("x".into(), "short".into())], None).is_err());
    }

    #[test]
    fn a_bad_organisations_file_is_refused() {
        let pk = crate::protocol::b64(&[1u8; 32]);
        for bad in [
            format!(
                r#"{{"organisations": [{{"id": "a", "org_public_key": "{pk}"}}, {{"id": "a", "org_public_key": "{}"}}]}}"#,
                crate::protocol::b64(&[2u8; 32])
            ),
            format!(
                r#"{{"organisations": [{{"id": "a", "org_public_key": "{pk}"}}, {{"id": "b", "org_public_key": "{pk}"}}]}}"#
            ),
            format!(r#"{{"organisations": [{{"id": "default", "org_public_key": "{pk}"}}]}}"#),
            r#"{"organisations": [{"id": "a", "org_public_key": "AAAA"}]}"#.to_string(),
            format!(
                r#"{{"organisations": [{{"id": "a", "org_public_key": "{pk}", "agents": [{{"name": "x", "token_hash": "plain"}}]}}]}}"#
            ),
            format!(r#"{{"organisations": [{{"id": "a", "org_public_key": "{pk}", "extra": 1}}]}}"#),
        ] {
            assert!(Tenants::from_json(&bad).is_err(), "{bad}");
        }
    }
}
