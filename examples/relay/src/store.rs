//! Durable storage behind a small trait, so another backend (PostgreSQL) is a change of
//! backend, not a rewrite. Every method is synchronous and returns only after the change is
//! committed; the relay calls it from a blocking thread.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

/// A conversation's 128-bit random identifier.
pub type ConvId = [u8; 16];

/// Who sent a stored frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// The visitor's widget.
    Visitor,
    /// The agent the conversation is assigned to.
    Agent,
}

impl Sender {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Visitor => "visitor",
            Sender::Agent => "agent",
        }
    }

    fn from_str(s: &str) -> Option<Self> {
        match s {
            "visitor" => Some(Sender::Visitor),
            "agent" => Some(Sender::Agent),
            _ => None,
        }
    }
}

/// What a stored frame is. The relay never looks inside `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The visitor's handshake hello.
    Hello,
    /// The agent's handshake reply.
    Reply,
    /// An encrypted message envelope.
    Message,
}

impl Kind {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Hello => "hello",
            Kind::Reply => "reply",
            Kind::Message => "message",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hello" => Some(Kind::Hello),
            "reply" => Some(Kind::Reply),
            "message" => Some(Kind::Message),
            _ => None,
        }
    }
}

/// A conversation's routing record.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// SHA-256 of the visitor's bearer token (the token itself is never stored).
    pub visitor_token_hash: [u8; 32],
    /// The agent it is assigned to, once one accepted it.
    pub agent: Option<String>,
}

/// One stored frame: routing header plus opaque bytes.
#[derive(Debug, Clone)]
pub struct StoredFrame {
    /// Per-conversation sequence number, from 1.
    pub seq: u64,
    /// Who sent it.
    pub sender: Sender,
    /// What it is.
    pub kind: Kind,
    /// The opaque bytes.
    pub data: Vec<u8>,
}

/// A conversation waiting for an agent, with its latest hello.
#[derive(Debug, Clone)]
pub struct Waiting {
    /// The conversation.
    pub id: ConvId,
    /// Sequence number of the hello.
    pub seq: u64,
    /// The hello bytes.
    pub hello: Vec<u8>,
}

/// Storage errors carry no payloads.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "storage error: {}", self.0)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

/// The relay's storage. Implementations must have committed durably when a mutating method
/// returns `Ok`: the relay acknowledges a frame to its sender only after that.
pub trait Store: Send + Sync + 'static {
    /// Records a new conversation.
    fn create_conversation(
        &self,
        id: &ConvId,
        visitor_token_hash: &[u8; 32],
        now: i64,
    ) -> Result<(), StoreError>;
    /// Looks a conversation up.
    fn conversation(&self, id: &ConvId) -> Result<Option<Conversation>, StoreError>;
    /// Assigns an unassigned conversation to `agent`; `false` if it is assigned already (to
    /// anyone: a conversation is accepted exactly once, so two devices of one agent cannot
    /// both answer the same hello).
    fn assign(&self, id: &ConvId, agent: &str) -> Result<bool, StoreError>;
    /// Appends a frame and returns its sequence number, after the commit.
    fn append(
        &self,
        id: &ConvId,
        sender: Sender,
        kind: Kind,
        data: &[u8],
        now: i64,
    ) -> Result<u64, StoreError>;
    /// Frames of `id` sent by `sender` with a sequence number above `after`, oldest first.
    fn frames_after(
        &self,
        id: &ConvId,
        sender: Sender,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredFrame>, StoreError>;
    /// Unassigned conversations that have a hello, each with its latest hello.
    fn waiting(&self) -> Result<Vec<Waiting>, StoreError>;
    /// Conversations assigned to `agent`, with their latest sequence number.
    fn assigned_to(&self, agent: &str) -> Result<Vec<(ConvId, u64)>, StoreError>;
}

/// SQLite storage in one file, created on first use.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        // WAL with synchronous=FULL: a commit is on disk before `append` returns.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS conversations (
                id BLOB PRIMARY KEY,
                visitor_token_hash BLOB NOT NULL,
                agent TEXT,
                last_seq INTEGER NOT NULL DEFAULT 0,
                created INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS frames (
                conversation BLOB NOT NULL REFERENCES conversations(id),
                seq INTEGER NOT NULL,
                sender TEXT NOT NULL,
                kind TEXT NOT NULL,
                data BLOB NOT NULL,
                created INTEGER NOT NULL,
                PRIMARY KEY (conversation, seq)
             );",
        )?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError("poisoned lock".into()))
    }
}

fn conv_id(bytes: Vec<u8>) -> Option<ConvId> {
    bytes.try_into().ok()
}

impl Store for SqliteStore {
    fn create_conversation(
        &self,
        id: &ConvId,
        visitor_token_hash: &[u8; 32],
        now: i64,
    ) -> Result<(), StoreError> {
        self.lock()?.execute(
            "INSERT INTO conversations (id, visitor_token_hash, created) VALUES (?1, ?2, ?3)",
            params![&id[..], &visitor_token_hash[..], now],
        )?;
        Ok(())
    }

    fn conversation(&self, id: &ConvId) -> Result<Option<Conversation>, StoreError> {
        let conn = self.lock()?;
        let row = conn
            .query_row(
                "SELECT visitor_token_hash, agent FROM conversations WHERE id = ?1",
                params![&id[..]],
                |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Option<String>>(1)?)),
            )
            .optional()?;
        Ok(match row {
            Some((hash, agent)) => Some(Conversation {
                visitor_token_hash: hash.try_into().map_err(|_| StoreError("bad token hash".into()))?,
                agent,
            }),
            None => None,
        })
    }

    fn assign(&self, id: &ConvId, agent: &str) -> Result<bool, StoreError> {
        let changed = self.lock()?.execute(
            "UPDATE conversations SET agent = ?2 WHERE id = ?1 AND agent IS NULL",
            params![&id[..], agent],
        )?;
        Ok(changed == 1)
    }

    fn append(
        &self,
        id: &ConvId,
        sender: Sender,
        kind: Kind,
        data: &[u8],
        now: i64,
    ) -> Result<u64, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let seq: i64 = tx.query_row(
            "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ?1 RETURNING last_seq",
            params![&id[..]],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO frames (conversation, seq, sender, kind, data, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![&id[..], seq, sender.as_str(), kind.as_str(), data, now],
        )?;
        tx.commit()?;
        Ok(seq as u64)
    }

    fn frames_after(
        &self,
        id: &ConvId,
        sender: Sender,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredFrame>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT seq, sender, kind, data FROM frames
             WHERE conversation = ?1 AND sender = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4",
        )?;
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![&id[..], sender.as_str(), after, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, s, k, data) = row?;
            let (Some(sender), Some(kind)) = (Sender::from_str(&s), Kind::parse(&k)) else {
                return Err(StoreError("bad stored frame".into()));
            };
            out.push(StoredFrame {
                seq: seq as u64,
                sender,
                kind,
                data,
            });
        }
        Ok(out)
    }

    fn waiting(&self) -> Result<Vec<Waiting>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT c.id, f.seq, f.data FROM conversations c JOIN frames f ON f.conversation = c.id
             WHERE c.agent IS NULL AND f.kind = 'hello'
               AND f.seq = (SELECT MAX(seq) FROM frames g WHERE g.conversation = c.id AND g.kind = 'hello')
             ORDER BY c.created, c.rowid LIMIT 1000",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, seq, hello) = row?;
            let id = conv_id(id).ok_or_else(|| StoreError("bad id".into()))?;
            out.push(Waiting {
                id,
                seq: seq as u64,
                hello,
            });
        }
        Ok(out)
    }

    fn assigned_to(&self, agent: &str) -> Result<Vec<(ConvId, u64)>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, last_seq FROM conversations WHERE agent = ?1 ORDER BY created LIMIT 1000",
        )?;
        let rows = stmt.query_map(params![agent], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, seq) = row?;
            out.push((
                conv_id(id).ok_or_else(|| StoreError("bad id".into()))?,
                seq as u64,
            ));
        }
        Ok(out)
    }
}
