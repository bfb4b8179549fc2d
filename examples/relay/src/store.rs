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
    /// The organisation its first hello named; `None` until then.
    pub org: Option<String>,
    /// The agent it is assigned to, once one of its organisation's agents accepted it.
    pub agent: Option<String>,
}

/// One stored frame: routing header plus opaque bytes.
#[derive(Debug, Clone)]
pub struct StoredFrame {
    /// Per-conversation sequence number, from 1.
    pub seq: u64,
    /// Sequence number of the previous frame from the same sender in this conversation (0 for
    /// its first): lets a client prove it has missed none of its peer's frames.
    pub prev: u64,
    /// Who sent it.
    pub sender: Sender,
    /// What it is.
    pub kind: Kind,
    /// The opaque bytes.
    pub data: Vec<u8>,
}

/// The outcome of [`Store::append_then`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored now under this sequence number.
    Stored {
        /// Its sequence number.
        seq: u64,
        /// The sender's previous sequence number.
        prev: u64,
    },
    /// The sender already posted this `ref` with the same kind and data: nothing stored, here
    /// is the original sequence number.
    Duplicate {
        /// The original sequence number.
        seq: u64,
    },
    /// The sender already posted this `ref` with a different kind or data: nothing stored.
    Conflict,
    /// A hello for another organisation than the conversation's: nothing stored (a
    /// conversation belongs to the organisation of its first hello, for good).
    OtherOrganisation,
    /// The post's [`Quota`] is reached, or its organisation holds as many conversations as
    /// it may: nothing stored.
    QuotaExceeded,
    /// The conversation does not exist (any more: unassigned conversations expire).
    Gone,
}

/// What one append may bring a conversation to, checked inside its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Most frames the conversation may then hold.
    pub frames: u64,
    /// Most frame bytes the conversation may then hold.
    pub bytes: u64,
    /// For a conversation's first hello: most conversations its organisation may then hold.
    pub org_conversations: u64,
}

#[cfg(any(test, feature = "tamper"))]
impl Quota {
    /// No limit (tests, and the tamper mode's re-sent frames).
    pub const NONE: Quota = Quota {
        frames: u64::MAX,
        bytes: u64::MAX,
        org_conversations: u64::MAX,
    };
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

/// A conversation's metadata, as exported.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The conversation.
    pub id: ConvId,
    /// Unix time of its creation.
    pub created: i64,
    /// The agent it is assigned to.
    pub agent: Option<String>,
    /// Its last sequence number.
    pub last_seq: u64,
}

/// A frame to append (see [`Store::append_then`]).
#[derive(Debug, Clone)]
pub struct Post {
    /// The conversation.
    pub id: ConvId,
    /// Who sends it.
    pub sender: Sender,
    /// What it is.
    pub kind: Kind,
    /// The opaque bytes.
    pub data: Vec<u8>,
    /// The client's post id, if it gave one.
    pub reference: Option<String>,
    /// Unix time of receipt.
    pub now: i64,
    /// For a hello: the organisation it is addressed to, which the conversation then belongs
    /// to (see [`Appended::OtherOrganisation`]).
    pub org: Option<String>,
    /// The limits this append must stay within.
    pub quota: Quota,
}

/// Receives the outcome of a queued append, once its transaction has committed.
pub type AppendDone = Box<dyn FnOnce(Result<Appended, StoreError>) + Send>;

/// Storage errors carry no payloads.
#[derive(Debug, Clone)]
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
    /// Assigns an unassigned conversation of `org` to its agent `agent`; `false` if it is
    /// assigned already (to anyone: a conversation is accepted exactly once, so two devices of
    /// one agent cannot both answer the same hello) or is not `org`'s.
    fn assign(&self, id: &ConvId, org: &str, agent: &str) -> Result<bool, StoreError>;
    /// Queues a frame to append and returns at once; `done` is called with the outcome after
    /// the commit (from the writer's thread, so it must not block). With a `reference` (the
    /// client's post id), a post whose reference this sender already used in this
    /// conversation is not stored again: [`Appended::Duplicate`] with the original sequence
    /// number if kind and data match, [`Appended::Conflict`] if they do not.
    fn append_then(&self, post: Post, done: AppendDone);
    /// [`Store::append_then`], waiting for the commit (test support: the relay never blocks a
    /// thread on a post).
    #[cfg(test)]
    fn append(
        &self,
        id: &ConvId,
        sender: Sender,
        kind: Kind,
        data: &[u8],
        reference: Option<&str>,
        now: i64,
    ) -> Result<Appended, StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let post = Post {
            id: *id,
            sender,
            kind,
            data: data.to_vec(),
            reference: reference.map(str::to_owned),
            now,
            org: (kind == Kind::Hello).then(|| crate::tenancy::SINGLE_TENANT.to_owned()),
            quota: Quota::NONE,
        };
        self.append_then(
            post,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.recv()
            .unwrap_or_else(|_| Err(StoreError("writer stopped".into())))
    }
    /// Frames of `id` sent by `sender` with a sequence number above `after`, oldest first.
    fn frames_after(
        &self,
        id: &ConvId,
        sender: Sender,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredFrame>, StoreError>;
    /// The latest hello of `id`, if it has one.
    fn latest_hello(&self, id: &ConvId) -> Result<Option<StoredFrame>, StoreError>;
    /// Unassigned conversations of `org` that have a hello, each with its latest hello
    /// (oldest conversation first, at most [`WAITING_LIMIT`]).
    fn waiting(&self, org: &str) -> Result<Vec<Waiting>, StoreError>;
    /// Conversations of `org` assigned to its agent `agent`, with their latest sequence
    /// number (at most [`ASSIGNED_LIMIT`]).
    fn assigned_to(&self, org: &str, agent: &str) -> Result<Vec<(ConvId, u64)>, StoreError>;
    /// How many conversations are stored.
    fn count_conversations(&self) -> Result<u64, StoreError>;
    /// Deletes every unassigned conversation created before `before` (Unix time), with its
    /// frames; returns how many.
    fn expire_unassigned(&self, before: i64) -> Result<u64, StoreError>;
    /// Retention: deletes every conversation of `org` created before `before` (Unix time),
    /// assigned or not, with its frames; returns how many.
    fn delete_older(&self, org: &str, before: i64) -> Result<u64, StoreError>;
    /// Deletes one conversation of `org` with its frames; `false` if `org` has no such one.
    fn delete_conversation(&self, org: &str, id: &ConvId) -> Result<bool, StoreError>;
    /// Deletes every conversation of `org` with its frames; returns how many.
    fn delete_organisation(&self, org: &str) -> Result<u64, StoreError>;
    /// Export: conversations of `org` with an id above `after`, in id order, at most `limit`:
    /// id, creation time, assigned agent and last sequence number.
    fn org_conversations(&self, org: &str, after: &ConvId, limit: usize)
        -> Result<Vec<Exported>, StoreError>;
    /// Export: frames of both senders of `id` (if it is `org`'s) above `after`, oldest first.
    fn all_frames_after(
        &self,
        org: &str,
        id: &ConvId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredFrame>, StoreError>;
}

/// Most waiting conversations listed at a login.
pub const WAITING_LIMIT: usize = 1000;
/// Most assigned conversations listed at a login.
pub const ASSIGNED_LIMIT: usize = 1000;

/// Schema version written to `PRAGMA user_version`. 0 is the original schema (no `prev`,
/// `ref`, per-sender and hello columns), which [`SqliteStore::open`] migrates in place.
/// 1 has no organisations; [`MIGRATE_V1`] gives its conversations to the single-tenant
/// organisation.
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS conversations (
        id BLOB PRIMARY KEY,
        visitor_token_hash BLOB NOT NULL,
        agent TEXT,
        last_seq INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL,
        last_visitor INTEGER NOT NULL DEFAULT 0,
        last_agent INTEGER NOT NULL DEFAULT 0,
        hello_seq INTEGER,
        org TEXT,
        bytes INTEGER NOT NULL DEFAULT 0
     );
     CREATE TABLE IF NOT EXISTS frames (
        conversation BLOB NOT NULL REFERENCES conversations(id),
        seq INTEGER NOT NULL,
        sender TEXT NOT NULL,
        kind TEXT NOT NULL,
        data BLOB NOT NULL,
        created INTEGER NOT NULL,
        prev INTEGER NOT NULL DEFAULT 0,
        ref TEXT,
        PRIMARY KEY (conversation, seq)
     );";

/// The indexes behind every per-login and per-post query (each plan is checked by a test).
/// `conversations_org` serves both login lists of an organisation in creation order: an
/// agent's conversations (`org = ? AND agent = ?`) and the waiting list (`org = ? AND agent
/// IS NULL`), which thus never reads message frames nor another organisation's rows; it reads
/// one frame per listed conversation, its latest hello, by primary key (`hello_seq`).
const INDEXES: &str = "CREATE INDEX IF NOT EXISTS conversations_org ON conversations(org, agent, created);
     CREATE INDEX IF NOT EXISTS conversations_unassigned ON conversations(created) WHERE agent IS NULL;
     CREATE UNIQUE INDEX IF NOT EXISTS frames_ref
        ON frames(conversation, sender, ref) WHERE ref IS NOT NULL;";

/// Upgrades a version-0 database: adds the new columns and fills them from the frames.
const MIGRATE_V0: &str = "ALTER TABLE conversations ADD COLUMN last_visitor INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE conversations ADD COLUMN last_agent INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE conversations ADD COLUMN hello_seq INTEGER;
     ALTER TABLE frames ADD COLUMN prev INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE frames ADD COLUMN ref TEXT;
     CREATE INDEX migrate_sender ON frames(conversation, sender, seq);
     CREATE INDEX migrate_kind ON frames(conversation, kind, seq);
     UPDATE frames SET prev = COALESCE((SELECT MAX(g.seq) FROM frames g
        WHERE g.conversation = frames.conversation AND g.sender = frames.sender
          AND g.seq < frames.seq), 0);
     UPDATE conversations SET
        last_visitor = COALESCE((SELECT MAX(seq) FROM frames f
            WHERE f.conversation = conversations.id AND f.sender = 'visitor'), 0),
        last_agent = COALESCE((SELECT MAX(seq) FROM frames f
            WHERE f.conversation = conversations.id AND f.sender = 'agent'), 0),
        hello_seq = (SELECT MAX(seq) FROM frames f
            WHERE f.conversation = conversations.id AND f.kind = 'hello');
     DROP INDEX migrate_sender;
     DROP INDEX migrate_kind;";

/// Upgrades a version-1 database (no organisations): its conversations with a hello belong to
/// the single-tenant organisation; the login index becomes per organisation.
const MIGRATE_V1: &str = "ALTER TABLE conversations ADD COLUMN org TEXT;
     ALTER TABLE conversations ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
     UPDATE conversations SET org = 'default' WHERE hello_seq IS NOT NULL;
     UPDATE conversations SET bytes = COALESCE((SELECT SUM(length(data)) FROM frames f
        WHERE f.conversation = conversations.id), 0);
     DROP INDEX IF EXISTS conversations_agent;";

/// Read connections kept open for reuse; more are opened under load and closed after.
const IDLE_READERS: usize = 8;

/// Most writes one transaction commits (group commit, issue #19).
const BATCH_OPS: usize = 256;
/// Most frame bytes one transaction commits.
const BATCH_BYTES: usize = 4 << 20;

/// A write for the writer thread, with whom to tell once it is committed.
enum Job {
    Create {
        id: ConvId,
        hash: [u8; 32],
        now: i64,
        done: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
    },
    Assign {
        id: ConvId,
        org: String,
        agent: String,
        done: Box<dyn FnOnce(Result<bool, StoreError>) + Send>,
    },
    Append {
        post: Post,
        done: AppendDone,
    },
    Expire {
        scope: Scope,
        done: Box<dyn FnOnce(Result<u64, StoreError>) + Send>,
    },
}

/// Which conversations a deletion takes (each with its frames).
enum Scope {
    /// Unassigned ones of every organisation created before the time.
    Unassigned(i64),
    /// Those of the organisation created before the time (retention).
    Older(String, i64),
    /// One conversation, if it is the organisation's.
    One(String, ConvId),
    /// All of the organisation's.
    All(String),
}

/// A job's outcome, held until its transaction commits.
enum Outcome {
    Unit(Result<(), StoreError>),
    Bool(Result<bool, StoreError>),
    Appended(Result<Appended, StoreError>),
    Count(Result<u64, StoreError>),
}

impl Job {
    fn bytes(&self) -> usize {
        match self {
            Job::Append { post, .. } => post.data.len(),
            _ => 0,
        }
    }
}

/// SQLite storage in one file, created on first use.
///
/// Writes go to one writer thread, which owns the only write connection (SQLite has one
/// writer at a time anyway) and commits them in groups: it takes every write queued while
/// the previous transaction committed (at most [`BATCH_OPS`] writes and [`BATCH_BYTES`] frame
/// bytes) into one transaction and reports each outcome only after that commit. It never
/// waits for more work, so an idle relay commits a lone post at once, and under load a write
/// waits at most for the commit in progress and its own batch's. Reads use their own
/// connections, which WAL lets run next to the writer, so a login's queries never hold up
/// posts.
pub struct SqliteStore {
    path: std::path::PathBuf,
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    writer: Option<std::thread::JoinHandle<()>>,
    readers: Mutex<Vec<Connection>>,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the queue ends the writer once it has committed what was queued.
        self.jobs = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// The writer thread: one transaction per batch of queued jobs.
fn write_loop(mut conn: Connection, jobs: std::sync::mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut bytes = first.bytes();
        let mut batch = vec![first];
        while batch.len() < BATCH_OPS && bytes < BATCH_BYTES {
            match jobs.try_recv() {
                Ok(job) => {
                    bytes += job.bytes();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        run_batch(&mut conn, batch);
    }
}

/// Runs `batch` in one transaction, each job in its own savepoint (a failed job leaves the
/// others intact), commits, then reports. The jobs run in queue order on one connection, so
/// each sees the ones before it: sequence numbers, `prev` links and `ref` lookups are exactly
/// those of one transaction per job.
fn run_batch(conn: &mut Connection, batch: Vec<Job>) {
    let mut outcomes = Vec::with_capacity(batch.len());
    let committed = (|| -> Result<(), StoreError> {
        let mut tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for job in batch {
            let mut sp = tx.savepoint()?;
            let outcome = match &job {
                Job::Create { id, hash, now, .. } => Outcome::Unit(insert_conversation(&sp, id, hash, *now)),
                Job::Assign { id, org, agent, .. } => Outcome::Bool(assign_conversation(&sp, id, org, agent)),
                Job::Append { post, .. } => Outcome::Appended(append_frame(&sp, post)),
                Job::Expire { scope, .. } => Outcome::Count(delete(&sp, scope)),
            };
            let ok = match &outcome {
                Outcome::Unit(r) => r.is_ok(),
                Outcome::Bool(r) => r.is_ok(),
                Outcome::Appended(r) => r.is_ok(),
                Outcome::Count(r) => r.is_ok(),
            };
            if ok {
                sp.commit()?;
            } else {
                sp.rollback()?;
            }
            outcomes.push((job, outcome));
        }
        tx.commit()?;
        Ok(())
    })();
    if let Err(e) = &committed {
        crate::info!("{e}: a batch of writes is not committed");
    }
    // Jobs that never ran (the transaction failed to begin or to continue) are failed too.
    for (job, outcome) in outcomes {
        report(job, Some(outcome), committed.as_ref().err());
    }
}

fn report(job: Job, outcome: Option<Outcome>, failed: Option<&StoreError>) {
    let err = || {
        failed
            .cloned()
            .unwrap_or_else(|| StoreError("write not run".into()))
    };
    match (job, outcome, failed) {
        (Job::Create { done, .. }, Some(Outcome::Unit(r)), None) => done(r),
        (Job::Assign { done, .. }, Some(Outcome::Bool(r)), None) => done(r),
        (Job::Append { done, .. }, Some(Outcome::Appended(r)), None) => done(r),
        (Job::Expire { done, .. }, Some(Outcome::Count(r)), None) => done(r),
        (Job::Create { done, .. }, _, _) => done(Err(err())),
        (Job::Assign { done, .. }, _, _) => done(Err(err())),
        (Job::Append { done, .. }, _, _) => done(Err(err())),
        (Job::Expire { done, .. }, _, _) => done(Err(err())),
    }
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    // WAL with synchronous=FULL: a commit is on disk before `append` returns.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, migrating an older schema in place.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let has_frames: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'frames')",
            [],
            |r| r.get(0),
        )?;
        if version == 0 && has_frames {
            tx.execute_batch(MIGRATE_V0)?;
            tx.execute_batch(MIGRATE_V1)?;
        } else if version == 1 {
            tx.execute_batch(MIGRATE_V1)?;
        } else if version > SCHEMA_VERSION {
            return Err(StoreError(format!(
                "database schema version {version} is newer than this relay ({SCHEMA_VERSION})"
            )));
        }
        tx.execute_batch(SCHEMA)?;
        tx.execute_batch(INDEXES)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        let (jobs, queue) = std::sync::mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("relay-writer".into())
            .spawn(move || write_loop(conn, queue))
            .map_err(|e| StoreError(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            jobs: Some(jobs),
            writer: Some(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Queues `job`; if the writer is gone, fails it at once.
    fn submit(&self, job: Job) {
        let rejected = match &self.jobs {
            Some(q) => q.send(job).err().map(|e| e.0),
            None => Some(job),
        };
        if let Some(job) = rejected {
            report(job, None, Some(&StoreError("writer stopped".into())));
        }
    }

    /// Queues a job built around a reply channel and waits for its outcome.
    fn wait<T: Send + 'static>(
        &self,
        job: impl FnOnce(Box<dyn FnOnce(Result<T, StoreError>) + Send>) -> Job,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.submit(job(Box::new(move |r| {
            let _ = tx.send(r);
        })));
        rx.recv()
            .unwrap_or_else(|_| Err(StoreError("writer stopped".into())))
    }

    /// Runs `f` on a read connection. The pool's lock is held only to take and return one.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let pooled = self
            .readers
            .lock()
            .map_err(|_| StoreError("poisoned lock".into()))?
            .pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open(&self.path)?;
                configure(&c)?;
                c
            }
        };
        let result = f(&conn);
        if let Ok(mut idle) = self.readers.lock() {
            if idle.len() < IDLE_READERS {
                idle.push(conn);
            }
        }
        result
    }

    /// `EXPLAIN QUERY PLAN` of every query the relay runs at a login, an accept and a post,
    /// as `(query name, plan lines)`. Test support for the plan checks; it runs nothing.
    #[cfg(test)]
    fn query_plans(&self) -> Result<Vec<(&'static str, Vec<String>)>, StoreError> {
        self.read(|conn| {
            let mut out = Vec::new();
            for (name, sql) in QUERIES {
                let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let count = stmt.parameter_count();
                let params: Vec<rusqlite::types::Value> =
                    (0..count).map(|_| rusqlite::types::Value::Null).collect();
                let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| r.get::<_, String>(3))?;
                let lines = rows.collect::<Result<Vec<_>, _>>()?;
                out.push((*name, lines));
            }
            Ok(out)
        })
    }
}

const Q_CONVERSATION: &str = "SELECT visitor_token_hash, org, agent FROM conversations WHERE id = ?1";
const Q_FRAMES_AFTER: &str = "SELECT seq, prev, sender, kind, data FROM frames
     WHERE conversation = ?1 AND sender = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4";
const Q_HELLO: &str = "SELECT f.seq, f.prev, f.sender, f.kind, f.data FROM conversations c
     JOIN frames f ON f.conversation = c.id AND f.seq = c.hello_seq WHERE c.id = ?1";
const Q_WAITING: &str = "SELECT c.id, f.seq, f.data FROM conversations c
     JOIN frames f ON f.conversation = c.id AND f.seq = c.hello_seq
     WHERE c.org = ?1 AND c.agent IS NULL AND c.hello_seq IS NOT NULL
     ORDER BY c.created, c.rowid LIMIT ?2";
const Q_ASSIGNED: &str =
    "SELECT id, last_seq FROM conversations WHERE org = ?1 AND agent = ?2 ORDER BY created LIMIT ?3";
const Q_LAST: &str = "SELECT last_seq, last_visitor, last_agent, bytes FROM conversations WHERE id = ?1";
const Q_REF: &str = "SELECT seq, kind, data FROM frames WHERE conversation = ?1 AND sender = ?2 AND ref = ?3";
const Q_ASSIGN: &str = "UPDATE conversations SET agent = ?3 WHERE id = ?1 AND org = ?2 AND agent IS NULL";
/// Gives a conversation to the organisation of its first hello, if that organisation holds
/// fewer than `?3` conversations (counted on `conversations_org`, inside the transaction).
const Q_CLAIM: &str = "UPDATE conversations SET org = ?2 WHERE id = ?1 AND org IS NULL
     AND (SELECT COUNT(*) FROM conversations WHERE org = ?2) < ?3";
const Q_ORG: &str = "SELECT org FROM conversations WHERE id = ?1";

/// Every query above, by name (see [`SqliteStore::query_plans`]).
#[cfg(test)]
const QUERIES: &[(&str, &str)] = &[
    ("conversation", Q_CONVERSATION),
    ("frames_after", Q_FRAMES_AFTER),
    ("latest_hello", Q_HELLO),
    ("waiting", Q_WAITING),
    ("assigned_to", Q_ASSIGNED),
    ("append: last seq", Q_LAST),
    ("append: ref lookup", Q_REF),
    ("assign", Q_ASSIGN),
    ("append: claim for an organisation", Q_CLAIM),
    ("append: organisation", Q_ORG),
];

fn conv_id(bytes: Vec<u8>) -> Option<ConvId> {
    bytes.try_into().ok()
}

fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

type FrameRow = (i64, i64, String, String, Vec<u8>);

fn frame_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FrameRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_frame((seq, prev, s, k, data): FrameRow) -> Result<StoredFrame, StoreError> {
    let (Some(sender), Some(kind)) = (Sender::from_str(&s), Kind::parse(&k)) else {
        return Err(StoreError("bad stored frame".into()));
    };
    Ok(StoredFrame {
        seq: seq as u64,
        prev: prev as u64,
        sender,
        kind,
        data,
    })
}

/// Inserts a conversation (inside the writer's transaction).
fn insert_conversation(
    conn: &Connection,
    id: &ConvId,
    visitor_token_hash: &[u8; 32],
    now: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO conversations (id, visitor_token_hash, created) VALUES (?1, ?2, ?3)")?
        .execute(params![&id[..], &visitor_token_hash[..], now])?;
    Ok(())
}

/// Assigns an unassigned conversation (inside the writer's transaction).
fn assign_conversation(conn: &Connection, id: &ConvId, org: &str, agent: &str) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(Q_ASSIGN)?
        .execute(params![&id[..], org, agent])?;
    Ok(changed == 1)
}

/// Deletes the conversations of `scope` and their frames (inside the writer's transaction;
/// `conversations_unassigned`, `conversations_org` or the primary key finds them).
fn delete(conn: &Connection, scope: &Scope) -> Result<u64, StoreError> {
    let (which, time, org, id): (&str, i64, Option<&str>, Option<&[u8]>) = match scope {
        Scope::Unassigned(before) => ("agent IS NULL AND created < ?1", *before, None, None),
        Scope::Older(org, before) => ("org = ?2 AND created < ?1", *before, Some(org), None),
        Scope::One(org, id) => ("org = ?2 AND id = ?3", 0, Some(org), Some(&id[..])),
        Scope::All(org) => ("org = ?2", 0, Some(org), None),
    };
    // Every statement names all three parameters, whichever it uses.
    let which = format!(
        "{which} AND ?1 IS NOT NULL AND (?2 IS NULL OR ?2 IS NOT NULL) AND (?3 IS NULL OR ?3 IS NOT NULL)"
    );
    conn.prepare_cached(&format!(
        "DELETE FROM frames WHERE conversation IN (SELECT id FROM conversations WHERE {which})"
    ))?
    .execute(params![time, org, id])?;
    let n = conn
        .prepare_cached(&format!("DELETE FROM conversations WHERE {which}"))?
        .execute(params![time, org, id])?;
    Ok(n as u64)
}

/// Appends one frame (inside the writer's transaction): the `ref` lookup and the sequence
/// numbers see every earlier write of the same transaction.
fn append_frame(conn: &Connection, post: &Post) -> Result<Appended, StoreError> {
    let Post {
        id,
        sender,
        kind,
        data,
        reference,
        now,
        org,
        quota: _,
    } = post;
    if let Some(r) = reference {
        let found = conn
            .prepare_cached(Q_REF)?
            .query_row(params![&id[..], sender.as_str(), r], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })
            .optional()?;
        if let Some((seq, k, d)) = found {
            // Read-only so far: nothing to undo.
            return Ok(if k == kind.as_str() && d == *data {
                Appended::Duplicate { seq: seq as u64 }
            } else {
                Appended::Conflict
            });
        }
    }
    let Some((last, last_visitor, last_agent, bytes)) = conn
        .prepare_cached(Q_LAST)?
        .query_row(params![&id[..]], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .optional()?
    else {
        return Ok(Appended::Gone);
    };
    let seq = last + 1;
    let new_bytes = bytes.saturating_add(i64::try_from(data.len()).unwrap_or(i64::MAX));
    if seq as u64 > post.quota.frames || new_bytes as u64 > post.quota.bytes {
        return Ok(Appended::QuotaExceeded);
    }
    if let Some(org) = org {
        // Read-only so far: nothing to undo.
        let current: Option<String> = conn
            .prepare_cached(Q_ORG)?
            .query_row(params![&id[..]], |r| r.get(0))?;
        match current {
            Some(c) if c == *org => {}
            Some(_) => return Ok(Appended::OtherOrganisation),
            None => {
                let max = i64::try_from(post.quota.org_conversations).unwrap_or(i64::MAX);
                if conn
                    .prepare_cached(Q_CLAIM)?
                    .execute(params![&id[..], org, max])?
                    != 1
                {
                    return Ok(Appended::QuotaExceeded);
                }
            }
        }
    }
    let prev = match sender {
        Sender::Visitor => last_visitor,
        Sender::Agent => last_agent,
    };
    conn.prepare_cached(
        "UPDATE conversations SET last_seq = ?2,
            last_visitor = CASE WHEN ?3 = 'visitor' THEN ?2 ELSE last_visitor END,
            last_agent = CASE WHEN ?3 = 'agent' THEN ?2 ELSE last_agent END,
            hello_seq = CASE WHEN ?4 = 'hello' THEN ?2 ELSE hello_seq END,
            bytes = ?5
         WHERE id = ?1",
    )?
    .execute(params![&id[..], seq, sender.as_str(), kind.as_str(), new_bytes])?;
    conn.prepare_cached(
        "INSERT INTO frames (conversation, seq, sender, kind, data, created, prev, ref)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        &id[..],
        seq,
        sender.as_str(),
        kind.as_str(),
        data,
        now,
        prev,
        reference
    ])?;
    Ok(Appended::Stored {
        seq: seq as u64,
        prev: prev as u64,
    })
}

impl Store for SqliteStore {
    fn create_conversation(
        &self,
        id: &ConvId,
        visitor_token_hash: &[u8; 32],
        now: i64,
    ) -> Result<(), StoreError> {
        let (id, hash) = (*id, *visitor_token_hash);
        self.wait(|done| Job::Create { id, hash, now, done })
    }

    fn conversation(&self, id: &ConvId) -> Result<Option<Conversation>, StoreError> {
        let row = self.read(|conn| {
            Ok(conn
                .prepare_cached(Q_CONVERSATION)?
                .query_row(params![&id[..]], |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                })
                .optional()?)
        })?;
        Ok(match row {
            Some((hash, org, agent)) => Some(Conversation {
                visitor_token_hash: hash.try_into().map_err(|_| StoreError("bad token hash".into()))?,
                org,
                agent,
            }),
            None => None,
        })
    }

    fn assign(&self, id: &ConvId, org: &str, agent: &str) -> Result<bool, StoreError> {
        let (id, org, agent) = (*id, org.to_owned(), agent.to_owned());
        self.wait(|done| Job::Assign { id, org, agent, done })
    }

    fn append_then(&self, post: Post, done: AppendDone) {
        self.submit(Job::Append { post, done });
    }

    fn frames_after(
        &self,
        id: &ConvId,
        sender: Sender,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredFrame>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(Q_FRAMES_AFTER)?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = stmt.query_map(
                params![&id[..], sender.as_str(), seq_param(after), limit],
                frame_row,
            )?;
            rows.map(|row| to_frame(row?)).collect()
        })
    }

    fn latest_hello(&self, id: &ConvId) -> Result<Option<StoredFrame>, StoreError> {
        let row = self.read(|conn| {
            Ok(conn
                .prepare_cached(Q_HELLO)?
                .query_row(params![&id[..]], frame_row)
                .optional()?)
        })?;
        row.map(to_frame).transpose()
    }

    fn waiting(&self, org: &str) -> Result<Vec<Waiting>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(Q_WAITING)?;
            let rows = stmt.query_map(params![org, WAITING_LIMIT as i64], |r| {
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
        })
    }

    fn count_conversations(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            let n: i64 = conn.query_row("SELECT COUNT(*) FROM conversations", [], |r| r.get(0))?;
            Ok(n as u64)
        })
    }

    fn expire_unassigned(&self, before: i64) -> Result<u64, StoreError> {
        self.wait(|done| Job::Expire {
            scope: Scope::Unassigned(before),
            done,
        })
    }

    fn delete_older(&self, org: &str, before: i64) -> Result<u64, StoreError> {
        let scope = Scope::Older(org.to_owned(), before);
        self.wait(|done| Job::Expire { scope, done })
    }

    fn delete_conversation(&self, org: &str, id: &ConvId) -> Result<bool, StoreError> {
        let scope = Scope::One(org.to_owned(), *id);
        Ok(self.wait(|done| Job::Expire { scope, done })? == 1)
    }

    fn delete_organisation(&self, org: &str) -> Result<u64, StoreError> {
        let scope = Scope::All(org.to_owned());
        self.wait(|done| Job::Expire { scope, done })
    }

    fn org_conversations(
        &self,
        org: &str,
        after: &ConvId,
        limit: usize,
    ) -> Result<Vec<Exported>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, created, agent, last_seq FROM conversations
                 WHERE org = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            )?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = stmt.query_map(params![org, &after[..], limit], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, created, agent, last) = row?;
                out.push(Exported {
                    id: conv_id(id).ok_or_else(|| StoreError("bad id".into()))?,
                    created,
                    agent,
                    last_seq: last as u64,
                });
            }
            Ok(out)
        })
    }

    fn all_frames_after(
        &self,
        org: &str,
        id: &ConvId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredFrame>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT f.seq, f.prev, f.sender, f.kind, f.data FROM frames f
                 JOIN conversations c ON c.id = f.conversation
                 WHERE f.conversation = ?1 AND c.org = ?2 AND f.seq > ?3 ORDER BY f.seq LIMIT ?4",
            )?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = stmt.query_map(params![&id[..], org, seq_param(after), limit], frame_row)?;
            rows.map(|row| to_frame(row?)).collect()
        })
    }

    fn assigned_to(&self, org: &str, agent: &str) -> Result<Vec<(ConvId, u64)>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(Q_ASSIGNED)?;
            let rows = stmt.query_map(params![org, agent, ASSIGNED_LIMIT as i64], |r| {
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("relay.sqlite3")).unwrap();
        (dir, store)
    }

    /// Issue #18: every query of a login, an accept and a post uses an index; none scans a
    /// table or sorts in a temporary b-tree, and the waiting list reads frames only by primary
    /// key (the one hello per listed conversation). Checked on an empty database and on one
    /// with rows and `ANALYZE` statistics.
    #[test]
    fn every_query_plan_uses_an_index() {
        let (_dir, store) = open();
        check_plans(&store);
        // And with rows and statistics, as a busy relay has them: half the conversations
        // assigned, each with a hello and 20 frames.
        for i in 0..200u32 {
            let mut id = [0u8; 16];
            id[..4].copy_from_slice(&i.to_be_bytes());
            store.create_conversation(&id, &[0; 32], i64::from(i)).unwrap();
            store
                .append(&id, Sender::Visitor, Kind::Hello, b"h", None, 0)
                .unwrap();
            if i % 2 == 0 {
                store.assign(&id, "default", &format!("agent{}", i % 10)).unwrap();
                for n in 0..20 {
                    let sender = if n % 2 == 0 {
                        Sender::Visitor
                    } else {
                        Sender::Agent
                    };
                    store
                        .append(&id, sender, Kind::Message, b"m", Some(&n.to_string()), 0)
                        .unwrap();
                }
            }
        }
        Connection::open(&store.path)
            .unwrap()
            .execute_batch("ANALYZE")
            .unwrap();
        check_plans(&store);
    }

    fn check_plans(store: &SqliteStore) {
        let plans = store.query_plans().unwrap();
        assert_eq!(plans.len(), QUERIES.len());
        for (name, lines) in &plans {
            let all = lines.join(" | ");
            println!("{name}: {all}");
            assert!(!lines.is_empty(), "{name}: no plan");
            for line in lines {
                assert!(!line.starts_with("SCAN "), "{name}: full scan: {all}");
                assert!(!line.contains("TEMP B-TREE"), "{name}: sorts: {all}");
                if line.contains("frames") || line.contains(" f ") || line.ends_with(" f") {
                    assert!(line.contains("USING"), "{name}: frames without an index: {all}");
                }
            }
        }
        let plan = |n: &str| {
            plans
                .iter()
                .find(|(name, _)| *name == n)
                .map(|(_, l)| l.join(" | "))
                .unwrap()
        };
        assert!(plan("waiting").contains("USING INDEX conversations_org (org=? AND agent=?)"));
        assert!(plan("waiting").contains("sqlite_autoindex_frames_1 (conversation=? AND seq=?)"));
        assert!(plan("assigned_to").contains("USING INDEX conversations_org (org=? AND agent=?)"));
        assert!(plan("append: ref lookup").contains("USING INDEX frames_ref"));
        assert!(plan("frames_after").contains("(conversation=? AND seq>?)"));
    }

    /// Issue #20: a post whose ref the sender already used is answered with the original
    /// sequence number and not stored again; the same ref for other content is refused; the
    /// peer's refs and other conversations are separate namespaces.
    #[test]
    fn a_reused_ref_is_stored_once() {
        let (_dir, store) = open();
        let (a, b) = ([1u8; 16], [2u8; 16]);
        store.create_conversation(&a, &[0; 32], 1).unwrap();
        store.create_conversation(&b, &[0; 32], 1).unwrap();
        let post = |id, sender, data: &[u8], r| store.append(id, sender, Kind::Message, data, r, 2).unwrap();
        assert_eq!(
            post(&a, Sender::Visitor, b"m1", Some("r1")),
            Appended::Stored { seq: 1, prev: 0 }
        );
        assert_eq!(
            post(&a, Sender::Visitor, b"m1", Some("r1")),
            Appended::Duplicate { seq: 1 }
        );
        assert_eq!(
            post(&a, Sender::Visitor, b"other", Some("r1")),
            Appended::Conflict
        );
        assert_eq!(
            post(&a, Sender::Agent, b"m1", Some("r1")),
            Appended::Stored { seq: 2, prev: 0 }
        );
        assert_eq!(
            post(&b, Sender::Visitor, b"m1", Some("r1")),
            Appended::Stored { seq: 1, prev: 0 }
        );
        assert_eq!(
            post(&a, Sender::Visitor, b"m2", None),
            Appended::Stored { seq: 3, prev: 1 }
        );
        assert_eq!(
            post(&a, Sender::Visitor, b"m2", None),
            Appended::Stored { seq: 4, prev: 3 }
        );
        let frames = store.frames_after(&a, Sender::Visitor, 0, 100).unwrap();
        let seqs: Vec<(u64, u64)> = frames.iter().map(|f| (f.seq, f.prev)).collect();
        assert_eq!(seqs, vec![(1, 0), (3, 1), (4, 3)]);
    }

    /// Issue #19, group commit: one transaction holding a new conversation, two posts of the
    /// same sender, a resend of a ref posted earlier in the same batch, a conflicting reuse
    /// a post to an unknown conversation and a create that fails (existing id). Outcomes are those of one transaction
    /// per write, the failure undoes only itself, and each is reported after the commit.
    #[test]
    fn a_batch_commits_like_one_transaction_per_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.sqlite3");
        let store = SqliteStore::open(&path).unwrap();
        let id = [7u8; 16];
        let results = std::sync::Arc::new(Mutex::new(Vec::new()));
        let post = |id: ConvId, sender, data: &[u8], r: Option<&str>| {
            let results = results.clone();
            let path = path.clone();
            Job::Append {
                post: Post {
                    id,
                    sender,
                    kind: Kind::Message,
                    data: data.to_vec(),
                    reference: r.map(str::to_owned),
                    now: 1,
                    org: None,
                    quota: Quota::NONE,
                },
                done: Box::new(move |r| {
                    // Reported only once committed: another connection sees the frame.
                    if let Ok(Appended::Stored { seq, .. }) = r {
                        let c = Connection::open(&path).unwrap();
                        let n: i64 = c
                            .query_row("SELECT COUNT(*) FROM frames WHERE seq = ?1", [seq as i64], |r| {
                                r.get(0)
                            })
                            .unwrap();
                        assert!(n >= 1, "reported before the commit");
                    }
                    results.lock().unwrap().push(r.map_err(|e| e.0));
                }),
            }
        };
        let created = std::sync::Arc::new(Mutex::new(None));
        let c2 = created.clone();
        let again = std::sync::Arc::new(Mutex::new(None));
        let a2 = again.clone();
        let batch = vec![
            Job::Create {
                id,
                hash: [0; 32],
                now: 1,
                done: Box::new(move |r| *c2.lock().unwrap() = Some(r.is_ok())),
            },
            post(id, Sender::Visitor, b"a", Some("r1")),
            post(id, Sender::Visitor, b"b", Some("r2")),
            post(id, Sender::Visitor, b"a", Some("r1")),
            post(id, Sender::Visitor, b"x", Some("r2")),
            post([9u8; 16], Sender::Visitor, b"c", None),
            // A write that fails (the id exists): undone alone.
            Job::Create {
                id,
                hash: [1; 32],
                now: 1,
                done: Box::new(move |r| *a2.lock().unwrap() = Some(r.is_ok())),
            },
            post(id, Sender::Agent, b"d", None),
            post(id, Sender::Visitor, b"e", None),
        ];
        // Straight into one transaction, as the writer thread does under load.
        let mut conn = Connection::open(&path).unwrap();
        configure(&conn).unwrap();
        run_batch(&mut conn, batch);
        assert_eq!(*created.lock().unwrap(), Some(true));
        assert_eq!(*again.lock().unwrap(), Some(false));
        let got = results.lock().unwrap().clone();
        assert_eq!(got.len(), 7);
        assert_eq!(got[0], Ok(Appended::Stored { seq: 1, prev: 0 }));
        assert_eq!(got[1], Ok(Appended::Stored { seq: 2, prev: 1 }));
        assert_eq!(got[2], Ok(Appended::Duplicate { seq: 1 }));
        assert_eq!(got[3], Ok(Appended::Conflict));
        assert_eq!(got[4], Ok(Appended::Gone), "unknown conversation");
        assert_eq!(got[5], Ok(Appended::Stored { seq: 3, prev: 0 }));
        assert_eq!(got[6], Ok(Appended::Stored { seq: 4, prev: 2 }));
        let frames = store.frames_after(&id, Sender::Visitor, 0, 100).unwrap();
        let seqs: Vec<(u64, u64, Vec<u8>)> = frames.iter().map(|f| (f.seq, f.prev, f.data.clone())).collect();
        assert_eq!(
            seqs,
            vec![
                (1, 0, b"a".to_vec()),
                (2, 1, b"b".to_vec()),
                (4, 2, b"e".to_vec())
            ]
        );
        // The writer thread continues after the batch from the committed state.
        assert_eq!(
            store
                .append(&id, Sender::Visitor, Kind::Message, b"f", Some("r2"), 2)
                .unwrap(),
            Appended::Conflict
        );
        assert_eq!(
            store
                .append(&id, Sender::Agent, Kind::Message, b"g", None, 2)
                .unwrap(),
            Appended::Stored { seq: 5, prev: 3 }
        );
    }

    /// Many threads post at once through the writer: every post is stored once, each
    /// sender's frames are numbered in its own order, with unbroken `prev` links.
    #[test]
    fn concurrent_posts_through_the_writer_are_each_stored_once_in_order() {
        let (_dir, store) = open();
        let store = std::sync::Arc::new(store);
        let id = [3u8; 16];
        store.create_conversation(&id, &[0; 32], 1).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for n in 0..50 {
                        let sender = if t % 2 == 0 {
                            Sender::Visitor
                        } else {
                            Sender::Agent
                        };
                        let data = format!("{t}:{n}");
                        let r = store
                            .append(&id, sender, Kind::Message, data.as_bytes(), Some(&data), 1)
                            .unwrap();
                        assert!(matches!(r, Appended::Stored { .. }), "{r:?}");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for sender in [Sender::Visitor, Sender::Agent] {
            let frames = store.frames_after(&id, sender, 0, 10_000).unwrap();
            assert_eq!(frames.len(), 200);
            let mut prev = 0;
            let mut next = [0usize; 8];
            for f in &frames {
                assert_eq!(f.prev, prev, "prev link");
                prev = f.seq;
                let text = String::from_utf8(f.data.clone()).unwrap();
                let (t, n) = text.split_once(':').unwrap();
                let (t, n): (usize, usize) = (t.parse().unwrap(), n.parse().unwrap());
                assert_eq!(n, next[t], "thread {t} out of order");
                next[t] += 1;
            }
        }
    }

    /// A database written by the previous schema (no prev, ref or hello columns) is migrated
    /// in place on open: prev links, per-sender last numbers and the waiting list are right.
    #[test]
    fn a_version_0_database_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE conversations (id BLOB PRIMARY KEY, visitor_token_hash BLOB NOT NULL,
                    agent TEXT, last_seq INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
                 CREATE TABLE frames (conversation BLOB NOT NULL REFERENCES conversations(id),
                    seq INTEGER NOT NULL, sender TEXT NOT NULL, kind TEXT NOT NULL,
                    data BLOB NOT NULL, created INTEGER NOT NULL, PRIMARY KEY (conversation, seq));
                 INSERT INTO conversations VALUES (x'01010101010101010101010101010101', zeroblob(32), 'a', 3, 1);
                 INSERT INTO conversations VALUES (x'02020202020202020202020202020202', zeroblob(32), NULL, 1, 2);
                 INSERT INTO frames VALUES (x'01010101010101010101010101010101', 1, 'visitor', 'hello', x'aa', 1);
                 INSERT INTO frames VALUES (x'01010101010101010101010101010101', 2, 'agent', 'reply', x'bb', 1);
                 INSERT INTO frames VALUES (x'01010101010101010101010101010101', 3, 'visitor', 'message', x'cc', 1);
                 INSERT INTO frames VALUES (x'02020202020202020202020202020202', 1, 'visitor', 'hello', x'dd', 2);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let a = [1u8; 16];
        let frames = store.frames_after(&a, Sender::Visitor, 0, 10).unwrap();
        assert_eq!(
            frames.iter().map(|f| (f.seq, f.prev)).collect::<Vec<_>>(),
            vec![(1, 0), (3, 1)]
        );
        let waiting = store.waiting("default").unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!(
            (waiting[0].id, waiting[0].seq, waiting[0].hello.clone()),
            ([2u8; 16], 1, vec![0xdd])
        );
        assert_eq!(
            store
                .append(&a, Sender::Agent, Kind::Message, b"x", None, 3)
                .unwrap(),
            Appended::Stored { seq: 4, prev: 2 }
        );
        assert_eq!(store.latest_hello(&a).unwrap().map(|h| h.seq), Some(1));
        drop(store);
        // Opening again does not migrate twice.
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.assigned_to("default", "a").unwrap(), vec![(a, 4)]);
    }
}
