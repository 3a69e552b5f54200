//! An oracle over HTTP: [`OracleServer`] publishes an oracle directory's
//! announcements and attestations; [`fetch_announcement`] and
//! [`fetch_attestation`] get and check them.
//!
//! Routes (GET only; JSON bodies; errors are `{"error": "..."}`):
//!
//! | route | answer |
//! |---|---|
//! | `/v1/announcements` | 200 `{"events": [ID, ...]}` |
//! | `/v1/announcements/ID` | 200 the announcement; 404 if there is none |
//! | `/v1/attestations/ID` | 200 the attestation; 404 `{"error": "not attested yet", "maturity": N}` before it exists; 404 if the event is unknown |
//!
//! Another method is 405, another path 404, a request with a body 400, a
//! request head (line and headers) over [`MAX_REQUEST_HEAD`] 431.
//!
//! **The server** (hyper 1, HTTP/1.1, a current-thread tokio runtime on a
//! thread of its own) reads the directory afresh on every request, so an
//! attestation written by `sotto oracle attest` in another process is
//! served at once. It holds no key: it serves files through a
//! [`StoreReader`], and serves a stored attestation without verifying it,
//! since every client must verify what it gets anyway (the transport is
//! plain HTTP). It may bind any address: an oracle is public. It keeps the
//! method, target and headers of the last [`MAX_RECORDED`] requests in
//! memory ([`OracleServer::requests`]) and logs nothing about them.
//!
//! **The client** is deliberately small: a blocking `std::net::TcpStream`,
//! one connection per request, `http://HOST[:PORT]` only, and a request
//! that carries nothing beyond the event id and the two headers HTTP/1.1
//! requires or needs (`Host`, `Connection: close`): no `User-Agent`,
//! nothing that tells the oracle who asks or about which contract.
//! It speaks HTTP/1.1 rather than HTTP/1.0, because some front ends refuse
//! 1.0; so it reads bodies by `Content-Length`, chunked, or to the end of
//! the connection, up to [`MAX_RESPONSE`] bytes and within
//! [`FETCH_TIMEOUT`].
//!
//! **Invariant:** what the client returns has been checked: an
//! announcement is signed by the oracle it names and is of the event asked
//! for; an attestation verifies against the announcement given
//! ([`Announcement::verify`]). The client does not know which oracle the
//! caller trusts: compare [`Announcement::oracle`] with the key you expect.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use thiserror::Error;

use super::OracleError;
use super::announcement::{Announcement, Attestation, MAX_EVENT_ID};
use super::store::{MAX_FILE, StoreError, StoreReader, is_safe_event_id};

/// The most connections served at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 256;

/// How long a client may take to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one connection may stay open, whatever it does.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest request head (request line and headers) the server reads.
pub const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// How many requests [`OracleServer::requests`] remembers (the latest).
pub const MAX_RECORDED: usize = 256;

/// The largest response body the client reads: above the largest valid
/// announcement (about 2.1 MB, see [`MAX_FILE`]).
pub const MAX_RESPONSE: u64 = MAX_FILE + 64 * 1024;

/// The largest response head the client reads.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// How long the client waits for a TCP connection, per address.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the client waits for a whole exchange once connected.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// The error text of a 404 before the event is attested.
pub const NOT_ATTESTED_YET: &str = "not attested yet";

/// Why the server could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Another program listens on the address.
    #[error("cannot listen on {addr}: the port is in use by another program; choose another port")]
    PortInUse {
        /// The address.
        addr: SocketAddr,
    },
    /// The address could not be bound for another reason (not an address
    /// of this machine, a privileged port).
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The server's thread or runtime could not be started.
    #[error("the oracle server could not start: {0}")]
    Start(std::io::Error),
}

/// A request as the server received it: what an oracle could learn about
/// who asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method (`GET`).
    pub method: String,
    /// The request target: the path, and the query if there was one.
    pub path: String,
    /// The headers as sent (names in lower case), in order.
    pub headers: Vec<(String, String)>,
}

/// An oracle directory served over HTTP from a thread of its own, until it
/// is stopped or dropped.
pub struct OracleServer {
    addr: SocketAddr,
    url: String,
    requests: Arc<Mutex<VecDeque<RecordedRequest>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for OracleServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OracleServer")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl OracleServer {
    /// Serves `store` on `listen` (port 0: a free port, see
    /// [`OracleServer::url`]). Returns once the port is bound: requests
    /// are answered from then on.
    pub fn start(store: StoreReader, listen: SocketAddr) -> Result<Self, ServerError> {
        let listener = std::net::TcpListener::bind(listen).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                ServerError::PortInUse { addr: listen }
            } else {
                ServerError::Listen {
                    addr: listen,
                    source,
                }
            }
        })?;
        let addr = listener.local_addr().map_err(ServerError::Start)?;
        listener.set_nonblocking(true).map_err(ServerError::Start)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ServerError::Start)?;
        let requests = Arc::new(Mutex::new(VecDeque::new()));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let shared = Served {
            store,
            requests: Arc::clone(&requests),
        };
        let thread = std::thread::Builder::new()
            .name("sotto-oracle-http".into())
            .spawn(move || runtime.block_on(accept(listener, Arc::new(shared), stopped)))
            .map_err(ServerError::Start)?;
        Ok(OracleServer {
            addr,
            url: format!("http://{addr}"),
            requests,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The base URL: `http://ADDR:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The latest requests (at most [`MAX_RECORDED`]), oldest first.
    /// Requests hyper refuses before they are parsed (an oversized head)
    /// are not among them.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// Stops the server: no new connection is accepted, open ones are
    /// closed, and the thread is joined. (Dropping it does the same.)
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for OracleServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// What every connection's task shares.
struct Served {
    store: StoreReader,
    requests: Arc<Mutex<VecDeque<RecordedRequest>>>,
}

/// Accepts connections until `stopped`; each is served on a task of its
/// own, dropped with the runtime when this returns.
async fn accept(
    listener: std::net::TcpListener,
    served: Arc<Served>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("the oracle's HTTP listener: {e}");
            return;
        }
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = tokio::select! {
            _ = &mut stopped => return,
            slot = Arc::clone(&slots).acquire_owned() => slot,
        };
        // The semaphore is never closed: an error here is a bug.
        let Ok(slot) = slot else { return };
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, most likely: wait rather
                    // than spin.
                    tracing::warn!("the oracle's HTTP listener: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let served = Arc::clone(&served);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let served = Arc::clone(&served);
                async move { Ok::<_, Infallible>(respond(&served, request)) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_REQUEST_HEAD)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(CONNECTION_TIMEOUT, connection).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!("an oracle HTTP connection ended: {e}"),
                Err(_) => tracing::debug!("an oracle HTTP connection timed out"),
            }
            drop(slot);
        });
    }
}

/// One HTTP exchange. Reads the store directly: its files are small and
/// local.
fn respond(served: &Served, request: Request<Incoming>) -> Response<Full<Bytes>> {
    record(&served.requests, &request);
    let has_body = request
        .headers()
        .get(CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() != b"0")
        || request.headers().contains_key(TRANSFER_ENCODING);
    let mut response = if request.method() != Method::GET {
        let mut response = error(
            StatusCode::METHOD_NOT_ALLOWED,
            "the oracle answers GET requests only",
        );
        response
            .headers_mut()
            .insert(ALLOW, hyper::header::HeaderValue::from_static("GET"));
        response
    } else if has_body {
        error(StatusCode::BAD_REQUEST, "a GET request has no body")
    } else {
        route(&served.store, request.uri().path())
    };
    if has_body {
        // The body is left unread: the connection cannot carry another
        // request.
        response
            .headers_mut()
            .insert(CONNECTION, hyper::header::HeaderValue::from_static("close"));
    }
    response
}

fn record(requests: &Mutex<VecDeque<RecordedRequest>>, request: &Request<Incoming>) {
    let recorded = RecordedRequest {
        method: request.method().to_string(),
        path: request.uri().to_string(),
        headers: request
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
    };
    let mut requests = requests.lock().unwrap_or_else(PoisonError::into_inner);
    if requests.len() == MAX_RECORDED {
        requests.pop_front();
    }
    requests.push_back(recorded);
}

/// The answer to `GET path`.
fn route(store: &StoreReader, path: &str) -> Response<Full<Bytes>> {
    if path == "/v1/announcements" {
        return match store.events() {
            Ok(events) => ok(json!({ "events": events }).to_string()),
            Err(e) => store_failure(&e),
        };
    }
    if let Some(id) = path.strip_prefix("/v1/announcements/") {
        return match store.announcement(id) {
            Ok(announcement) => ok(announcement.to_json()),
            Err(e) => store_failure(&e),
        };
    }
    if let Some(id) = path.strip_prefix("/v1/attestations/") {
        let announcement = match store.announcement(id) {
            Ok(announcement) => announcement,
            Err(e) => return store_failure(&e),
        };
        return match store.attestation(id) {
            Ok(Some(attestation)) => ok(attestation.to_json()),
            Ok(None) => json_response(
                StatusCode::NOT_FOUND,
                json!({ "error": NOT_ATTESTED_YET, "maturity": announcement.maturity() })
                    .to_string(),
            ),
            Err(e) => store_failure(&e),
        };
    }
    error(
        StatusCode::NOT_FOUND,
        "no such path: the oracle serves /v1/announcements, /v1/announcements/ID and /v1/attestations/ID",
    )
}

/// A store error as an answer: the client's mistakes are 404s; the
/// oracle's own trouble is a 500 that does not name its files (they are
/// logged instead).
fn store_failure(e: &StoreError) -> Response<Full<Bytes>> {
    match e {
        StoreError::UnknownEvent { .. } | StoreError::InvalidEventId { .. } => {
            error(StatusCode::NOT_FOUND, &e.to_string())
        }
        other => {
            tracing::warn!("the oracle's store: {other}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the oracle cannot read its records of this event",
            )
        }
    }
}

fn ok(body: String) -> Response<Full<Bytes>> {
    json_response(StatusCode::OK, body)
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json_response(status, json!({ "error": message }).to_string())
}

fn json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Why an announcement or an attestation could not be fetched.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL is not `http://HOST[:PORT]`.
    #[error("{url}: {reason}")]
    Url {
        /// The URL, shortened and escaped.
        url: String,
        /// What is wrong, and what to give instead.
        reason: String,
    },
    /// The event id cannot be one an oracle serves.
    #[error(
        "event id `{event_id}` must be 1 to {MAX_EVENT_ID} characters of A-Z, a-z, 0-9, `-`, `_`, `.`, `:` (and not only dots)"
    )]
    InvalidEventId {
        /// The id, shortened and escaped.
        event_id: String,
    },
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The host and port.
        host: String,
        /// What the resolver said.
        source: std::io::Error,
    },
    /// No connection to any of the host's addresses.
    #[error("cannot connect to the oracle at {addr}: {source}")]
    Connect {
        /// The address (the last one tried).
        addr: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Sending the request or reading the response failed or timed out.
    #[error("the exchange with the oracle at {addr} failed: {source}")]
    Io {
        /// The address.
        addr: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The answer is not an HTTP response the client understands.
    #[error("the oracle at {addr} sent a malformed response: {reason}")]
    Malformed {
        /// The address.
        addr: String,
        /// What is wrong.
        reason: String,
    },
    /// The response body is over [`MAX_RESPONSE`] bytes.
    #[error("the oracle at {addr} sent a response over {limit} bytes")]
    TooLarge {
        /// The address.
        addr: String,
        /// The limit.
        limit: u64,
    },
    /// The oracle answered with an error status.
    #[error("the oracle answered {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The server's error text (its `error` field, or the body),
        /// shortened and escaped.
        message: String,
    },
    /// The announcement does not decode or is not signed by the oracle it
    /// names.
    #[error("the oracle's announcement of `{event_id}` is not valid: {source}")]
    BadAnnouncement {
        /// The event asked for.
        event_id: String,
        /// Why.
        source: OracleError,
    },
    /// The announcement is of another event than the one asked for.
    #[error("asked for the announcement of `{asked}`, the oracle sent one of `{got}`")]
    WrongEvent {
        /// The event asked for.
        asked: String,
        /// The event announced.
        got: String,
    },
    /// The attestation does not decode or does not verify against the
    /// announcement (another oracle's, another event's, another nonce, a
    /// bad signature, an outcome not listed).
    #[error("the oracle's attestation of `{event_id}` does not verify: {source}")]
    BadAttestation {
        /// The event.
        event_id: String,
        /// Why.
        source: OracleError,
    },
}

/// Fetches the announcement of `event_id` from the oracle at `base_url`
/// (`http://HOST[:PORT]`) and checks it: signed by the oracle it names, of
/// this event. Which oracle that is, the caller checks
/// ([`Announcement::oracle`]).
pub fn fetch_announcement(base_url: &str, event_id: &str) -> Result<Announcement, FetchError> {
    let endpoint = Endpoint::parse(base_url)?;
    check_id(event_id)?;
    let answer = endpoint.get(&format!("/v1/announcements/{event_id}"))?;
    if answer.status != 200 {
        return Err(answer.status_error());
    }
    let text = answer.text(&endpoint)?;
    let announcement =
        Announcement::from_json(text).map_err(|source| FetchError::BadAnnouncement {
            event_id: event_id.to_owned(),
            source,
        })?;
    if announcement.event_id() != event_id {
        return Err(FetchError::WrongEvent {
            asked: event_id.to_owned(),
            got: announcement.event_id().to_owned(),
        });
    }
    Ok(announcement)
}

/// Fetches the attestation of `announcement`'s event from the oracle at
/// `base_url` and verifies it against the announcement; `None` if the
/// oracle says it has not attested yet.
pub fn fetch_attestation(
    base_url: &str,
    announcement: &Announcement,
) -> Result<Option<Attestation>, FetchError> {
    let endpoint = Endpoint::parse(base_url)?;
    let event_id = announcement.event_id();
    // A checked announcement's id is always a safe one.
    check_id(event_id)?;
    let answer = endpoint.get(&format!("/v1/attestations/{event_id}"))?;
    if answer.status == 404 && answer.error_text().as_deref() == Some(NOT_ATTESTED_YET) {
        return Ok(None);
    }
    if answer.status != 200 {
        return Err(answer.status_error());
    }
    let bad = |source| FetchError::BadAttestation {
        event_id: event_id.to_owned(),
        source,
    };
    let attestation = Attestation::from_json(answer.text(&endpoint)?).map_err(bad)?;
    announcement.verify(&attestation).map_err(bad)?;
    Ok(Some(attestation))
}

fn check_id(event_id: &str) -> Result<(), FetchError> {
    if is_safe_event_id(event_id) {
        Ok(())
    } else {
        Err(FetchError::InvalidEventId {
            event_id: shorten(event_id, 64),
        })
    }
}

/// At most `n` characters of untrusted text, escaped.
fn shorten(text: &str, n: usize) -> String {
    let short: String = text.chars().take(n).collect();
    let mut out = short.escape_debug().to_string();
    if short.len() < text.len() {
        out.push('…');
    }
    out
}

/// Where a base URL points.
#[derive(Debug)]
struct Endpoint {
    /// `HOST[:PORT]` as the URL gave it: the `Host` header.
    authority: String,
    /// The host without brackets, for the resolver.
    host: String,
    port: u16,
}

impl Endpoint {
    /// Parses `http://HOST[:PORT][/]`: a name, an IPv4 address or a
    /// bracketed IPv6 address; nothing else (no path, query, user or
    /// fragment), and only characters that cannot break a request line.
    fn parse(url: &str) -> Result<Endpoint, FetchError> {
        let refuse = |reason: &str| FetchError::Url {
            url: shorten(url, 100),
            reason: reason.to_owned(),
        };
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(refuse(if url.starts_with("https://") {
                "https is not supported; give the oracle's http://HOST:PORT"
            } else {
                "not an http:// URL; give the oracle's http://HOST:PORT"
            }));
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() {
            return Err(refuse("no host; give http://HOST:PORT"));
        }
        if authority.contains(['/', '?', '#', '@']) {
            return Err(refuse(
                "a path, query, user or fragment is not supported; give http://HOST:PORT",
            ));
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let Some((inside, after)) = bracketed.split_once(']') else {
                return Err(refuse("an unclosed `[` in the host"));
            };
            if inside.is_empty()
                || !inside
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b":.".contains(&b))
            {
                return Err(refuse("not an IPv6 address between `[` and `]`"));
            }
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| refuse("only `:PORT` may follow `]`"))?,
                ),
            };
            (inside, port)
        } else {
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            if host.is_empty()
                || !host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b))
            {
                return Err(refuse(
                    "the host must be a name or address of A-Z, a-z, 0-9, `-`, `.` (IPv6 in [brackets])",
                ));
            }
            (host, port)
        };
        let port = match port {
            None => 80,
            Some(p) => match p.parse::<u16>() {
                Ok(port) if port != 0 && p.bytes().all(|b| b.is_ascii_digit()) => port,
                _ => return Err(refuse("the port is a number from 1 to 65535")),
            },
        };
        Ok(Endpoint {
            authority: authority.to_owned(),
            host: host.to_owned(),
            port,
        })
    }

    fn display(&self) -> String {
        self.authority.clone()
    }

    /// `GET path` with `Host` and `Connection: close` only; the status and
    /// the body.
    fn get(&self, path: &str) -> Result<Answer, FetchError> {
        let stream = self.connect()?;
        let deadline = Instant::now() + FETCH_TIMEOUT;
        let addr = self.display();
        let io = |source| FetchError::Io {
            addr: addr.clone(),
            source,
        };
        stream.set_write_timeout(Some(FETCH_TIMEOUT)).map_err(io)?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.authority
        );
        (&stream).write_all(request.as_bytes()).map_err(io)?;
        let mut reader = Reader {
            stream,
            buf: Vec::new(),
            deadline,
            addr: addr.clone(),
            eof: false,
        };
        reader.response()
    }

    fn connect(&self) -> Result<TcpStream, FetchError> {
        let target = format!("{}:{}", self.host, self.port);
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|source| FetchError::Resolve {
                host: target.clone(),
                source,
            })?
            .collect();
        let mut last = FetchError::Resolve {
            host: target.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
        };
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(stream) => return Ok(stream),
                Err(source) => {
                    last = FetchError::Connect {
                        addr: addr.to_string(),
                        source,
                    }
                }
            }
        }
        Err(last)
    }
}

/// A response: its status and body.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    /// The body as text, or a malformed-response error.
    fn text(&self, endpoint: &Endpoint) -> Result<&str, FetchError> {
        std::str::from_utf8(&self.body).map_err(|_| FetchError::Malformed {
            addr: endpoint.display(),
            reason: "the body is not UTF-8".into(),
        })
    }

    /// The `error` field of a JSON body.
    fn error_text(&self) -> Option<String> {
        let value: Value = serde_json::from_slice(&self.body).ok()?;
        value.get("error")?.as_str().map(str::to_owned)
    }

    fn status_error(&self) -> FetchError {
        let message = self
            .error_text()
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).into_owned());
        FetchError::Status {
            status: self.status,
            message: shorten(message.trim(), 300),
        }
    }
}

/// Reads one response from a connection, within a deadline.
struct Reader {
    stream: TcpStream,
    buf: Vec<u8>,
    deadline: Instant,
    addr: String,
    eof: bool,
}

impl Reader {
    fn malformed(&self, reason: impl Into<String>) -> FetchError {
        FetchError::Malformed {
            addr: self.addr.clone(),
            reason: reason.into(),
        }
    }

    /// Reads more into `buf`; `false` at the end of the stream.
    fn fill(&mut self) -> Result<bool, FetchError> {
        if self.eof {
            return Ok(false);
        }
        let io = |source| FetchError::Io {
            addr: self.addr.clone(),
            source,
        };
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no whole response within {} s", FETCH_TIMEOUT.as_secs()),
            )));
        }
        self.stream.set_read_timeout(Some(left)).map_err(io)?;
        let mut chunk = [0u8; 16 * 1024];
        let n = loop {
            match (&self.stream).read(&mut chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io(e)),
            }
        };
        if n == 0 {
            self.eof = true;
            return Ok(false);
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(true)
    }

    /// Step 1) the head; step 2) the body by its framing.
    fn response(&mut self) -> Result<Answer, FetchError> {
        let (status, head_len, framing) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut parsed = httparse::Response::new(&mut headers);
            match parsed.parse(&self.buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = parsed.code.unwrap_or(0);
                    let framing = framing(parsed.headers).map_err(|r| self.malformed(r))?;
                    break (status, len, framing);
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => return Err(self.malformed(format!("the response head: {e}"))),
            }
            if self.buf.len() > MAX_RESPONSE_HEAD {
                return Err(
                    self.malformed(format!("a response head over {MAX_RESPONSE_HEAD} bytes"))
                );
            }
            if !self.fill()? {
                return Err(self.malformed(if self.buf.is_empty() {
                    "the connection closed without a response".to_owned()
                } else {
                    "the connection closed in the response head".to_owned()
                }));
            }
        };
        if (100..200).contains(&status) {
            return Err(self.malformed(format!("an interim response {status}")));
        }
        self.buf.drain(..head_len);
        let body = match framing {
            _ if status == 204 || status == 304 => Vec::new(),
            Framing::Length(n) => self.exactly(n)?,
            Framing::Chunked => self.chunked()?,
            Framing::ToEnd => self.until_close()?,
        };
        Ok(Answer { status, body })
    }

    fn too_large(&self) -> FetchError {
        FetchError::TooLarge {
            addr: self.addr.clone(),
            limit: MAX_RESPONSE,
        }
    }

    fn exactly(&mut self, n: u64) -> Result<Vec<u8>, FetchError> {
        if n > MAX_RESPONSE {
            return Err(self.too_large());
        }
        // `n` is at most MAX_RESPONSE, which fits in usize.
        let n = usize::try_from(n).map_err(|_| self.too_large())?;
        while self.buf.len() < n {
            if !self.fill()? {
                return Err(self.malformed(format!(
                    "the body ended after {} of {n} bytes",
                    self.buf.len()
                )));
            }
        }
        let body: Vec<u8> = self.buf.drain(..n).collect();
        Ok(body)
    }

    fn until_close(&mut self) -> Result<Vec<u8>, FetchError> {
        while self.fill()? {
            if self.buf.len() as u64 > MAX_RESPONSE {
                return Err(self.too_large());
            }
        }
        if self.buf.len() as u64 > MAX_RESPONSE {
            return Err(self.too_large());
        }
        Ok(std::mem::take(&mut self.buf))
    }

    /// One CRLF-terminated line (without it), at most 4 KiB.
    fn line(&mut self) -> Result<Vec<u8>, FetchError> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..end + 2).take(end).collect();
                return Ok(line);
            }
            if self.buf.len() > 4096 {
                return Err(self.malformed("a chunk line over 4096 bytes"));
            }
            if !self.fill()? {
                return Err(self.malformed("the connection closed inside a chunked body"));
            }
        }
    }

    fn chunked(&mut self) -> Result<Vec<u8>, FetchError> {
        let mut body = Vec::new();
        loop {
            let line = self.line()?;
            let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
            let size = std::str::from_utf8(size_text)
                .ok()
                .map(str::trim)
                .filter(|s| !s.is_empty() && s.len() <= 16)
                .and_then(|s| u64::from_str_radix(s, 16).ok())
                .ok_or_else(|| self.malformed("a chunk size that is not hexadecimal"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                let mut trailers = 0;
                while !self.line()?.is_empty() {
                    trailers += 1;
                    if trailers > 64 {
                        return Err(self.malformed("over 64 trailers"));
                    }
                }
                return Ok(body);
            }
            if body.len() as u64 + size > MAX_RESPONSE {
                return Err(self.too_large());
            }
            body.extend(self.exactly(size)?);
            if !self.line()?.is_empty() {
                return Err(self.malformed("a chunk longer than its size"));
            }
        }
    }
}

/// How a response's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    ToEnd,
}

/// The body's framing from the headers (RFC 9112 §6.3): `Transfer-Encoding`
/// ending in `chunked` wins; one with another last coding reads to the end;
/// otherwise `Content-Length` (every copy alike), else to the end.
fn framing(headers: &[httparse::Header<'_>]) -> Result<Framing, String> {
    let mut length = None;
    let mut transfer = None;
    for header in headers {
        let value = std::str::from_utf8(header.value)
            .map_err(|_| format!("a {} header that is not text", header.name))?
            .trim();
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            transfer = Some(value.to_ascii_lowercase());
        } else if header.name.eq_ignore_ascii_case("content-length") {
            let n: u64 = value
                .parse()
                .ok()
                .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| format!("Content-Length `{}`", shorten(value, 32)))?;
            if length.is_some_and(|l| l != n) {
                return Err("two different Content-Length headers".into());
            }
            length = Some(n);
        }
    }
    Ok(match (transfer, length) {
        (Some(t), _) if t.rsplit(',').next().map(str::trim) == Some("chunked") => Framing::Chunked,
        (Some(_), _) => Framing::ToEnd,
        (None, Some(n)) => Framing::Length(n),
        (None, None) => Framing::ToEnd,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code fails loudly")]

    use super::*;

    #[test]
    fn base_urls_are_http_host_port_only() {
        for (url, authority, host, port) in [
            ("http://127.0.0.1:8600", "127.0.0.1:8600", "127.0.0.1", 8600),
            (
                "http://127.0.0.1:8600/",
                "127.0.0.1:8600",
                "127.0.0.1",
                8600,
            ),
            (
                "http://oracle.example",
                "oracle.example",
                "oracle.example",
                80,
            ),
            ("http://[::1]:9", "[::1]:9", "::1", 9),
            ("http://[::1]", "[::1]", "::1", 80),
        ] {
            let e = Endpoint::parse(url).unwrap();
            assert_eq!(
                (e.authority.as_str(), e.host.as_str(), e.port),
                (authority, host, port),
                "{url}"
            );
        }
        for url in [
            "https://127.0.0.1:8600",
            "127.0.0.1:8600",
            "http://",
            "http:///",
            "http://h:0",
            "http://h:99999",
            "http://h:+80",
            "http://h:80/v1",
            "http://h:80?x",
            "http://u@h:80",
            "http://h\r\nX-Evil: 1:80",
            "http://h h:80",
            "http://::1:80",
            "http://[::1",
            "http://[::1]x",
            "http://[zz]:80",
            "ftp://h",
        ] {
            assert!(
                matches!(Endpoint::parse(url), Err(FetchError::Url { .. })),
                "{url:?}"
            );
        }
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let h = |name: &'static str, value: &'static [u8]| httparse::Header { name, value };
        assert_eq!(
            framing(&[h("Content-Length", b"12")]),
            Ok(Framing::Length(12))
        );
        assert_eq!(
            framing(&[
                h("transfer-encoding", b"gzip, chunked"),
                h("Content-Length", b"3")
            ]),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing(&[h("Transfer-Encoding", b"gzip")]),
            Ok(Framing::ToEnd)
        );
        assert_eq!(framing(&[]), Ok(Framing::ToEnd));
        assert!(framing(&[h("Content-Length", b"+12")]).is_err());
        assert!(framing(&[h("Content-Length", b"1"), h("Content-Length", b"2")]).is_err());
        assert_eq!(
            framing(&[h("Content-Length", b"2"), h("Content-Length", b"2")]),
            Ok(Framing::Length(2))
        );
    }
}
