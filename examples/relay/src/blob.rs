//! Attachment blobs (docs/PROTOCOL.md §15): opaque ciphertext uploaded in chunks, resumable,
//! downloaded with HTTP range requests, deleted with their conversation. The relay never sees
//! a key, a name or a media type: those travel in the manifest inside an encrypted chat
//! message; a blob is bytes under a random id.
//!
//! HTTP, every request with `Authorization: Bearer <token>` (the visitor's conversation token
//! or the assigned agent's relay token):
//! * `POST   /blobs/{conv}` with `{"size": N}` creates an upload: `201 {"id": ...}`; the size
//!   is reserved against the quotas at once, so a slow upload cannot be overtaken;
//! * `PATCH  /blobs/{conv}/{id}` with `Upload-Offset: K` and a chunk (at most
//!   [`MAX_CHUNK`] bytes) appends at K if K is the bytes stored so far (`409` with the current
//!   `Upload-Offset` otherwise), `204` with the new `Upload-Offset`;
//! * `HEAD   /blobs/{conv}/{id}`: `Upload-Offset` and `Upload-Length`, to resume;
//! * `GET    /blobs/{conv}/{id}` (complete blobs only, `409` before), with `Range: bytes=a-b`
//!   / `a-` / `-n` for a `206` part; `416` for a range outside the blob;
//! * `DELETE /blobs/{conv}/{id}`, and `DELETE /blobs/{conv}` for all of a conversation's blobs
//!   (what deleting the conversation does; the relay's retention, once it has one, calls
//!   [`Blobs::delete_conversation`] directly).
//!
//! Storage: one file per blob under `<dir>/<conv>/`, named by its id, with the declared size
//! in `<id>.size`; an upload is complete when the file reaches it. Restart-safe: quotas are
//! recounted from the directory at start.
//!
//! Quotas are counted per [`QuotaKey`]: the whole relay and each conversation today; the
//! multi-tenant relay adds `QuotaKey::Organization` and checks it in the same place
//! ([`Blobs::reserve`]).

use std::collections::HashMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::Router;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::{ConvId, Store};
use crate::tenancy::Tenants;

/// Largest chunk one `PATCH` may carry.
pub const MAX_CHUNK: usize = 4 << 20;

/// Size limits, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct BlobLimits {
    /// Largest blob.
    pub max_blob: u64,
    /// All blobs of one conversation together.
    pub per_conversation: u64,
    /// All blobs on this relay together.
    pub global: u64,
}

/// What a quota is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaKey {
    /// The whole relay.
    Global,
    /// One conversation.
    Conversation(ConvId),
}

/// The blob service: limits, usage per quota key, files.
pub struct Blobs {
    dir: PathBuf,
    limits: BlobLimits,
    store: Arc<dyn Store>,
    tenants: Arc<Tenants>,
    /// Reserved bytes (declared sizes) per key.
    usage: Mutex<HashMap<QuotaKey, u64>>,
    /// Serialises appends and deletions (uploads are small in number; correctness first).
    io: tokio::sync::Mutex<()>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N
        || !s
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A refused request (small, so `Result<_, Reject>` stays cheap to pass around).
enum Reject {
    /// A status with a fixed message.
    Plain(StatusCode, &'static str),
    /// `416` for a blob of this many bytes.
    Range(u64),
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        match self {
            Reject::Plain(status, msg) => (status, msg).into_response(),
            Reject::Range(len) => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response(),
        }
    }
}

fn error(status: StatusCode, msg: &'static str) -> Reject {
    Reject::Plain(status, msg)
}

impl Blobs {
    /// Open (or create) the blob directory and count what it holds.
    pub fn open(
        dir: &Path,
        limits: BlobLimits,
        store: Arc<dyn Store>,
        tenants: Arc<Tenants>,
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut usage: HashMap<QuotaKey, u64> = HashMap::new();
        for conv in std::fs::read_dir(dir)? {
            let conv = conv?;
            let Some(id) = conv.file_name().to_str().and_then(unhex::<16>) else {
                continue;
            };
            for f in std::fs::read_dir(conv.path())? {
                let f = f?;
                let name = f.file_name();
                let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".size")) else {
                    continue;
                };
                if unhex::<16>(stem).is_none() {
                    continue;
                }
                if let Some(size) = read_size(&f.path()) {
                    *usage.entry(QuotaKey::Conversation(id)).or_default() += size;
                    *usage.entry(QuotaKey::Global).or_default() += size;
                }
            }
        }
        Ok(Blobs {
            dir: dir.to_path_buf(),
            limits,
            store,
            tenants,
            usage: Mutex::new(usage),
            io: tokio::sync::Mutex::new(()),
        })
    }

    /// The HTTP routes, to merge into the relay's router.
    pub fn router<S: Clone + Send + Sync + 'static>(self: Arc<Self>) -> Router<S> {
        Router::new()
            .route("/blobs/{conv}", post(create).delete(remove_all))
            .route(
                "/blobs/{conv}/{id}",
                patch(append).head(status).get(download).delete(remove),
            )
            .layer(DefaultBodyLimit::max(MAX_CHUNK))
            .with_state(self)
    }

    fn usage_of(&self, key: QuotaKey) -> u64 {
        self.usage
            .lock()
            .map(|u| u.get(&key).copied().unwrap_or(0))
            .unwrap_or(u64::MAX)
    }

    /// Reserve `size` bytes for a new blob of `conv` against every quota, or refuse.
    fn reserve(&self, conv: &ConvId, size: u64) -> Result<(), Reject> {
        if size > self.limits.max_blob {
            return Err(error(StatusCode::PAYLOAD_TOO_LARGE, "blob larger than the limit"));
        }
        let mut usage = self
            .usage
            .lock()
            .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))?;
        // The organisation's quota joins this list once the relay knows organisations.
        let checks = [
            (QuotaKey::Global, self.limits.global),
            (QuotaKey::Conversation(*conv), self.limits.per_conversation),
        ];
        for (key, limit) in checks {
            if usage.get(&key).copied().unwrap_or(0).saturating_add(size) > limit {
                return Err(error(StatusCode::INSUFFICIENT_STORAGE, "quota exceeded"));
            }
        }
        for (key, _) in checks {
            *usage.entry(key).or_default() += size;
        }
        Ok(())
    }

    fn release(&self, conv: &ConvId, size: u64) {
        if let Ok(mut usage) = self.usage.lock() {
            for key in [QuotaKey::Global, QuotaKey::Conversation(*conv)] {
                if let Some(u) = usage.get_mut(&key) {
                    *u = u.saturating_sub(size);
                }
            }
        }
    }

    /// The caller may use `conv`'s blobs: its visitor (by conversation token) or the agent it
    /// is assigned to (by relay token). Tokens are compared as SHA-256 hashes, in constant time.
    async fn authorize(&self, headers: &HeaderMap, conv: &ConvId) -> Result<(), Reject> {
        let unauthorized = || error(StatusCode::UNAUTHORIZED, "unknown conversation or wrong token");
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(unauthorized)?
            .to_string();
        let store = self.store.clone();
        let id = *conv;
        let record = tokio::task::spawn_blocking(move || store.conversation(&id))
            .await
            .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))?
            .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))?
            .ok_or_else(unauthorized)?;
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let visitor = bool::from(record.visitor_token_hash.ct_eq(&hash));
        // An agent of the conversation's organisation, the one it is assigned to.
        let agent = match (self.tenants.login(&token), &record.org, &record.agent) {
            (Some(id), Some(org), Some(assigned)) => *id.org == **org && id.name == *assigned,
            _ => false,
        };
        if visitor || agent {
            Ok(())
        } else {
            Err(unauthorized())
        }
    }

    fn paths(&self, conv: &ConvId, id: &[u8; 16]) -> (PathBuf, PathBuf) {
        let d = self.dir.join(hex(conv));
        (d.join(hex(id)), d.join(format!("{}.size", hex(id))))
    }

    /// Delete every blob of a conversation and release its quota: what deleting the
    /// conversation does to its attachments.
    pub async fn delete_conversation(&self, conv: &ConvId) -> std::io::Result<()> {
        let _io = self.io.lock().await;
        let d = self.dir.join(hex(conv));
        let used = self.usage_of(QuotaKey::Conversation(*conv));
        match std::fs::remove_dir_all(&d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        self.release(conv, used);
        Ok(())
    }
}

fn read_size(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn ids(conv: &str, id: Option<&str>) -> Result<(ConvId, [u8; 16]), Reject> {
    let bad = || error(StatusCode::NOT_FOUND, "no such blob");
    let conv = unhex::<16>(conv).ok_or_else(bad)?;
    let id = match id {
        Some(id) => unhex::<16>(id).ok_or_else(bad)?,
        None => [0; 16],
    };
    Ok((conv, id))
}

/// Declared size and bytes stored, or 404.
fn state_of(blobs: &Blobs, conv: &ConvId, id: &[u8; 16]) -> Result<(u64, u64), Reject> {
    let (data, size) = blobs.paths(conv, id);
    let declared = read_size(&size).ok_or_else(|| error(StatusCode::NOT_FOUND, "no such blob"))?;
    let stored = std::fs::metadata(&data).map(|m| m.len()).unwrap_or(0);
    Ok((declared, stored))
}

fn offsets(stored: u64, declared: u64) -> [(header::HeaderName, HeaderValue); 2] {
    [
        (
            header::HeaderName::from_static("upload-offset"),
            HeaderValue::from(stored),
        ),
        (
            header::HeaderName::from_static("upload-length"),
            HeaderValue::from(declared),
        ),
    ]
}

#[derive(serde::Deserialize)]
struct Create {
    size: u64,
}

async fn create(
    State(blobs): State<Arc<Blobs>>,
    UrlPath(conv): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let (conv, _) = ids(&conv, None)?;
        let req: Create = serde_json::from_slice(&body)
            .map_err(|_| error(StatusCode::BAD_REQUEST, "want {\"size\": N}"))?;
        blobs.authorize(&headers, &conv).await?;
        let mut id = [0u8; 16];
        getrandom::getrandom(&mut id)
            .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "no randomness"))?;
        blobs.reserve(&conv, req.size)?;
        let (data, size) = blobs.paths(&conv, &id);
        let made = (|| {
            if let Some(parent) = data.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::File::create(&data)?;
            let mut f = std::fs::File::create(&size)?;
            f.write_all(req.size.to_string().as_bytes())?;
            f.sync_all()
        })();
        if made.is_err() {
            blobs.release(&conv, req.size);
            return Err(error(StatusCode::INTERNAL_SERVER_ERROR, "cannot store the blob"));
        }
        let json = serde_json::json!({ "id": hex(&id) }).to_string();
        Ok((
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response())
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

async fn append(
    State(blobs): State<Arc<Blobs>>,
    UrlPath((conv, id)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let (conv, id) = ids(&conv, Some(&id))?;
        blobs.authorize(&headers, &conv).await?;
        let offset: u64 = headers
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| error(StatusCode::BAD_REQUEST, "Upload-Offset required"))?;
        let _io = blobs.io.lock().await;
        let (declared, stored) = state_of(&blobs, &conv, &id)?;
        if offset != stored {
            return Ok((StatusCode::CONFLICT, offsets(stored, declared), "offset mismatch").into_response());
        }
        if stored.saturating_add(body.len() as u64) > declared {
            return Err(error(StatusCode::PAYLOAD_TOO_LARGE, "beyond the declared size"));
        }
        let (data, _) = blobs.paths(&conv, &id);
        let chunk = body.clone();
        let written = tokio::task::spawn_blocking(move || {
            let write = || -> std::io::Result<()> {
                let mut f = std::fs::OpenOptions::new().write(true).open(&data)?;
                f.seek(SeekFrom::Start(stored))?;
                f.write_all(&chunk)?;
                f.sync_data()
            };
            let r = write();
            if r.is_err() {
                // Cut back to what was there, so the offset stays truthful for a retry.
                if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&data) {
                    let _ = f.set_len(stored);
                }
            }
            r
        })
        .await;
        if !matches!(written, Ok(Ok(()))) {
            return Err(error(StatusCode::INTERNAL_SERVER_ERROR, "cannot store the chunk"));
        }
        let now = stored + body.len() as u64;
        Ok((StatusCode::NO_CONTENT, offsets(now, declared)).into_response())
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

async fn status(
    State(blobs): State<Arc<Blobs>>,
    UrlPath((conv, id)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (conv, id) = ids(&conv, Some(&id))?;
        blobs.authorize(&headers, &conv).await?;
        let (declared, stored) = state_of(&blobs, &conv, &id)?;
        Ok::<_, Reject>((StatusCode::OK, offsets(stored, declared)).into_response())
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` (one range) to an inclusive `(start, end)`.
fn parse_range(v: &str, len: u64) -> Option<(u64, u64)> {
    let spec = v.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            if n == 0 {
                return None;
            }
            (len.saturating_sub(n), len.checked_sub(1)?)
        }
        (a, "") => (a.parse().ok()?, len.checked_sub(1)?),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.min(len.checked_sub(1)?)),
    };
    (start <= end && end < len).then_some((start, end))
}

async fn download(
    State(blobs): State<Arc<Blobs>>,
    UrlPath((conv, id)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (conv, id) = ids(&conv, Some(&id))?;
        blobs.authorize(&headers, &conv).await?;
        let (declared, stored) = state_of(&blobs, &conv, &id)?;
        if stored != declared {
            return Err(error(StatusCode::CONFLICT, "upload not complete"));
        }
        let (data, _) = blobs.paths(&conv, &id);
        let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
            None => None,
            Some(v) => Some(parse_range(v, declared).ok_or(Reject::Range(declared))?),
        };
        let (start, end) = range.unwrap_or((0, declared.saturating_sub(1)));
        let len = if declared == 0 { 0 } else { end - start + 1 };
        let mut file = tokio::fs::File::open(&data)
            .await
            .map_err(|_| error(StatusCode::NOT_FOUND, "no such blob"))?;
        tokio::io::AsyncSeekExt::seek(&mut file, SeekFrom::Start(start))
            .await
            .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "read failed"))?;
        let reader = tokio::io::AsyncReadExt::take(file, len);
        // 64 KiB at a time: memory per download stays bounded whatever the blob size.
        let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(reader, 64 * 1024));
        let mut resp = Response::new(body);
        if range.is_some() {
            *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
        }
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        if range.is_some() {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{declared}")) {
                h.insert(header::CONTENT_RANGE, v);
            }
        }
        Ok(resp)
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

async fn remove(
    State(blobs): State<Arc<Blobs>>,
    UrlPath((conv, id)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (conv, id) = ids(&conv, Some(&id))?;
        blobs.authorize(&headers, &conv).await?;
        let _io = blobs.io.lock().await;
        let (declared, _) = state_of(&blobs, &conv, &id)?;
        let (data, size) = blobs.paths(&conv, &id);
        let _ = std::fs::remove_file(&data);
        std::fs::remove_file(&size).map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "cannot delete"))?;
        blobs.release(&conv, declared);
        Ok::<_, Reject>(StatusCode::NO_CONTENT.into_response())
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

async fn remove_all(
    State(blobs): State<Arc<Blobs>>,
    UrlPath(conv): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (conv, _) = ids(&conv, None)?;
        blobs.authorize(&headers, &conv).await?;
        blobs
            .delete_conversation(&conv)
            .await
            .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "cannot delete"))?;
        Ok::<_, Reject>(StatusCode::NO_CONTENT.into_response())
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    const VISITOR: &str = "visitor-token-0123456789";
    const AGENT: &str = "agent-token-0123456789ab";
    const OTHER_AGENT: &str = "other-token-0123456789ab";

    struct Fixture {
        _dir: tempfile::TempDir,
        blobs: Arc<Blobs>,
        conv: String,
        conv_id: ConvId,
    }

    fn fixture(limits: BlobLimits) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
        let conv_id = [7u8; 16];
        let hash: [u8; 32] = Sha256::digest(VISITOR.as_bytes()).into();
        store.create_conversation(&conv_id, &hash, 0).unwrap();
        // The first hello gives the conversation to the (single-tenant) organisation.
        store
            .append(
                &conv_id,
                crate::store::Sender::Visitor,
                crate::store::Kind::Hello,
                b"h",
                None,
                0,
            )
            .unwrap();
        assert!(store
            .assign(&conv_id, crate::tenancy::SINGLE_TENANT, "alice")
            .unwrap());
        let tenants = Tenants::single(
            vec![("alice".into(), AGENT.into()), ("bob".into(), OTHER_AGENT.into())],
            None,
        )
        .unwrap();
        let blobs =
            Arc::new(Blobs::open(&dir.path().join("blobs"), limits, store, Arc::new(tenants)).unwrap());
        Fixture {
            _dir: dir,
            blobs,
            conv: hex(&conv_id),
            conv_id,
        }
    }

    const LIMITS: BlobLimits = BlobLimits {
        max_blob: 1 << 20,
        per_conversation: 3 << 20,
        global: 5 << 20,
    };

    async fn call(
        f: &Fixture,
        method: &str,
        path: &str,
        token: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"));
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let router: Router = f.blobs.clone().router();
        let resp = router.oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        (status, headers, body)
    }

    async fn create_blob(f: &Fixture, size: u64, token: &str) -> Result<String, StatusCode> {
        let (s, _, body) = call(
            f,
            "POST",
            &format!("/blobs/{}", f.conv),
            token,
            &[],
            format!("{{\"size\": {size}}}").into_bytes(),
        )
        .await;
        if s != StatusCode::CREATED {
            return Err(s);
        }
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        Ok(v["id"].as_str().unwrap().to_string())
    }

    fn offset(h: &HeaderMap) -> u64 {
        h.get("upload-offset").unwrap().to_str().unwrap().parse().unwrap()
    }

    #[tokio::test]
    async fn chunked_resumable_upload_then_range_downloads() {
        let f = fixture(LIMITS);
        let blob: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let id = create_blob(&f, blob.len() as u64, VISITOR).await.unwrap();
        let url = format!("/blobs/{}/{id}", f.conv);
        // Not downloadable before it is complete.
        assert_eq!(
            call(&f, "GET", &url, VISITOR, &[], vec![]).await.0,
            StatusCode::CONFLICT
        );
        // Two chunks, then a "lost" response: the client asks where to resume.
        let (s, h, _) = call(
            &f,
            "PATCH",
            &url,
            VISITOR,
            &[("upload-offset", "0".into())],
            blob[..100_000].to_vec(),
        )
        .await;
        assert_eq!((s, offset(&h)), (StatusCode::NO_CONTENT, 100_000));
        call(
            &f,
            "PATCH",
            &url,
            VISITOR,
            &[("upload-offset", "100000".into())],
            blob[100_000..200_000].to_vec(),
        )
        .await;
        // A resend of an old chunk is refused with the real offset.
        let (s, h, _) = call(
            &f,
            "PATCH",
            &url,
            VISITOR,
            &[("upload-offset", "100000".into())],
            blob[100_000..200_000].to_vec(),
        )
        .await;
        assert_eq!((s, offset(&h)), (StatusCode::CONFLICT, 200_000));
        let (s, h, _) = call(&f, "HEAD", &url, AGENT, &[], vec![]).await;
        assert_eq!(
            (s, offset(&h), h.get("upload-length").unwrap().to_str().unwrap()),
            (StatusCode::OK, 200_000, "300000")
        );
        // Past the declared size: refused.
        let (s, _, _) = call(
            &f,
            "PATCH",
            &url,
            VISITOR,
            &[("upload-offset", "200000".into())],
            vec![0; 100_001],
        )
        .await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        call(
            &f,
            "PATCH",
            &url,
            VISITOR,
            &[("upload-offset", "200000".into())],
            blob[200_000..].to_vec(),
        )
        .await;
        // The agent downloads it whole and in ranges.
        let (s, h, body) = call(&f, "GET", &url, AGENT, &[], vec![]).await;
        assert_eq!((s, body.len()), (StatusCode::OK, blob.len()));
        assert_eq!(body, blob);
        assert_eq!(h.get("accept-ranges").unwrap(), "bytes");
        for (range, a, b) in [
            ("bytes=0-9", 0usize, 9usize),
            ("bytes=299990-", 299_990, 299_999),
            ("bytes=-5", 299_995, 299_999),
            ("bytes=65000-65999999", 65_000, 299_999),
        ] {
            let (s, h, body) = call(&f, "GET", &url, AGENT, &[("range", range.into())], vec![]).await;
            assert_eq!(s, StatusCode::PARTIAL_CONTENT, "{range}");
            assert_eq!(body, blob[a..=b], "{range}");
            assert_eq!(
                h.get("content-range").unwrap().to_str().unwrap(),
                format!("bytes {a}-{b}/300000")
            );
        }
        for bad in [
            "bytes=300000-",
            "bytes=5-2",
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=-0",
        ] {
            assert_eq!(
                call(&f, "GET", &url, AGENT, &[("range", bad.into())], vec![])
                    .await
                    .0,
                StatusCode::RANGE_NOT_SATISFIABLE,
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn only_the_conversations_visitor_and_assigned_agent_get_in() {
        let f = fixture(LIMITS);
        assert_eq!(
            create_blob(&f, 10, OTHER_AGENT).await,
            Err(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            create_blob(&f, 10, "visitor-token-wrong").await,
            Err(StatusCode::UNAUTHORIZED)
        );
        let id = create_blob(&f, 10, AGENT).await.unwrap();
        let url = format!("/blobs/{}/{id}", f.conv);
        for (m, t) in [
            ("GET", OTHER_AGENT),
            ("HEAD", "nope"),
            ("DELETE", OTHER_AGENT),
            ("PATCH", ""),
        ] {
            assert_eq!(
                call(&f, m, &url, t, &[("upload-offset", "0".into())], vec![1])
                    .await
                    .0,
                StatusCode::UNAUTHORIZED,
                "{m}"
            );
        }
        // Another conversation (unknown) and malformed ids.
        let other = format!("/blobs/{}/{id}", hex(&[8u8; 16]));
        assert_eq!(
            call(&f, "GET", &other, VISITOR, &[], vec![]).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            call(&f, "GET", &format!("/blobs/{}/xyz", f.conv), VISITOR, &[], vec![])
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(
                &f,
                "GET",
                &format!("/blobs/{}/{}", f.conv, hex(&[1u8; 16])),
                VISITOR,
                &[],
                vec![]
            )
            .await
            .0,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn size_limit_and_quotas_and_deletion_with_the_conversation() {
        let f = fixture(LIMITS);
        assert_eq!(
            create_blob(&f, (1 << 20) + 1, VISITOR).await,
            Err(StatusCode::PAYLOAD_TOO_LARGE)
        );
        let mut made = Vec::new();
        for _ in 0..3 {
            made.push(create_blob(&f, 1 << 20, VISITOR).await.unwrap());
        }
        // The conversation's 3 MiB are reserved: a fourth blob is refused.
        assert_eq!(
            create_blob(&f, 1, VISITOR).await,
            Err(StatusCode::INSUFFICIENT_STORAGE)
        );
        // Deleting one frees its share.
        let (s, _, _) = call(
            &f,
            "DELETE",
            &format!("/blobs/{}/{}", f.conv, made[0]),
            VISITOR,
            &[],
            vec![],
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        create_blob(&f, 1 << 20, VISITOR).await.unwrap();
        assert_eq!(f.blobs.usage_of(QuotaKey::Conversation(f.conv_id)), 3 << 20);
        assert_eq!(f.blobs.usage_of(QuotaKey::Global), 3 << 20);
        // Reopening the directory recounts the same usage (restart-safe quotas).
        let again = Blobs::open(
            &f.blobs.dir,
            LIMITS,
            f.blobs.store.clone(),
            f.blobs.tenants.clone(),
        )
        .unwrap();
        assert_eq!(again.usage_of(QuotaKey::Global), 3 << 20);
        // Deleting the conversation's blobs removes the files and the whole quota.
        let (s, _, _) = call(&f, "DELETE", &format!("/blobs/{}", f.conv), VISITOR, &[], vec![]).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(f.blobs.usage_of(QuotaKey::Global), 0);
        assert!(!f.blobs.dir.join(&f.conv).exists());
        assert_eq!(
            call(
                &f,
                "GET",
                &format!("/blobs/{}/{}", f.conv, made[1]),
                VISITOR,
                &[],
                vec![]
            )
            .await
            .0,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn the_global_quota_holds_across_conversations() {
        let f = fixture(BlobLimits {
            max_blob: 1 << 20,
            per_conversation: 10 << 20,
            global: 2 << 20,
        });
        create_blob(&f, 1 << 20, VISITOR).await.unwrap();
        create_blob(&f, 1 << 20, VISITOR).await.unwrap();
        assert_eq!(
            create_blob(&f, 1, VISITOR).await,
            Err(StatusCode::INSUFFICIENT_STORAGE)
        );
    }
}
