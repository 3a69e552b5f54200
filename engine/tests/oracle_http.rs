//! The oracle as a service ([`OracleServer`], [`fetch_announcement`],
//! [`fetch_attestation`]) over real sockets: an announcement served and
//! verified; an attestation that is "not attested yet" until the store
//! (another handle, as another process would be) writes it, then served at
//! once; forged attestations served but refused by the client; bad
//! methods, paths, bodies and oversized requests answered with the right
//! status without hurting the server; a client facing garbage and
//! oversized answers from a raw socket; and what the oracle learns about
//! who asks: two GETs naming the event, with `Host` and `Connection` only.
#![allow(clippy::unwrap_used, reason = "test code fails loudly")]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use sotto_engine::oracle::http::{MAX_RESPONSE, RecordedRequest};
use sotto_engine::oracle::{
    FetchError, OracleError, OracleKey, OracleServer, OracleStore, Outcome, Outcomes, ServerError,
    fetch_announcement, fetch_attestation,
};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sotto-oracle-http-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn teams() -> Outcomes {
    Outcomes::Enumerated(vec!["home".into(), "draw".into(), "away".into()])
}

/// A fresh oracle directory with one announced event, served on a free
/// loopback port.
struct Fixture {
    dir: PathBuf,
    store: OracleStore,
    server: OracleServer,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let dir = scratch(name);
        let store = OracleStore::init(&dir).unwrap();
        store.announce("match:1", 1_750_000_000, teams()).unwrap();
        let server = OracleServer::start(
            store.reader().clone(),
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .unwrap();
        Fixture { dir, store, server }
    }

    fn url(&self) -> &str {
        self.server.url()
    }

    fn attestation_file(&self, event_id: &str) -> PathBuf {
        self.dir
            .join("attestations")
            .join(format!("{event_id}.json"))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An HTTP exchange as raw bytes: the status, the head and the body.
fn raw(addr: SocketAddr, request: &[u8]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    // The server may close while we still write or before we read it all
    // (a refused body): whatever arrived is the answer.
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    (status, head.to_owned(), body.to_owned())
}

fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

#[test]
fn an_announcement_is_served_and_verified_and_an_attestation_appears_once_written() {
    let f = Fixture::new("flow");
    let ann = fetch_announcement(f.url(), "match:1").unwrap();
    assert_eq!(ann, f.store.announcement("match:1").unwrap());
    assert_eq!(ann.oracle(), &f.store.public());
    // Before the attestation: None, and the server says when to come back.
    assert_eq!(fetch_attestation(f.url(), &ann).unwrap(), None);
    let (status, head, body) = get(f.server.addr(), "/v1/attestations/match:1");
    assert_eq!(status, 404);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"error": "not attested yet", "maturity": 1_750_000_000u64})
    );
    // Another handle on the directory (another process, as `sotto oracle
    // attest` is) attests while the server runs.
    let attester = OracleStore::open(&f.dir).unwrap();
    let written = attester.attest("match:1", "draw").unwrap();
    let fetched = fetch_attestation(f.url(), &ann).unwrap().unwrap();
    assert_eq!(fetched, written);
    assert_eq!(
        ann.verify(&fetched).unwrap().outcome,
        Outcome::Enumerated(1)
    );
    // The list, and a numeric event announced while serving.
    f.store
        .announce(
            "btc-usd",
            7,
            Outcomes::Numeric {
                base: 2,
                digits: 12,
            },
        )
        .unwrap();
    let (status, _, body) = get(f.server.addr(), "/v1/announcements");
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"events": ["btc-usd", "match:1"]})
    );
    let numeric = fetch_announcement(f.url(), "btc-usd").unwrap();
    assert_eq!(numeric.nonces().len(), 12);
    f.store.attest("btc-usd", "3000").unwrap();
    let att = fetch_attestation(&format!("{}/", f.url()), &numeric)
        .unwrap()
        .unwrap();
    assert_eq!(
        numeric.verify(&att).unwrap().outcome,
        Outcome::Numeric(3000)
    );
}

#[test]
fn unknown_events_are_404s_with_the_servers_reason() {
    let f = Fixture::new("unknown");
    match fetch_announcement(f.url(), "match:2") {
        Err(FetchError::Status { status, message }) => {
            assert_eq!(status, 404);
            assert!(message.contains("match:2"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // An attestation of an unknown event is not "not attested yet".
    let other = OracleKey::from_bytes(&[5u8; 32]).unwrap();
    let stranger = other.announce("match:2", 0, teams()).unwrap();
    assert!(matches!(
        fetch_attestation(f.url(), &stranger),
        Err(FetchError::Status { status: 404, .. })
    ));
    // An id that cannot be an event's is refused before anything is sent.
    assert!(matches!(
        fetch_announcement(f.url(), "../key"),
        Err(FetchError::InvalidEventId { .. })
    ));
    assert!(f.server.requests().len() == 2, "{:?}", f.server.requests());
}

#[test]
fn forged_attestations_are_served_but_the_client_refuses_them() {
    let f = Fixture::new("forged");
    let ann = fetch_announcement(f.url(), "match:1").unwrap();
    let path = f.attestation_file("match:1");
    let refused = |what: &str| match fetch_attestation(f.url(), &ann) {
        Err(FetchError::BadAttestation { event_id, source }) => {
            assert_eq!(event_id, "match:1", "{what}");
            source
        }
        other => panic!("{what}: {other:?}"),
    };
    // Another oracle's attestation of the same event id and outcome.
    let other = OracleKey::from_bytes(&[5u8; 32]).unwrap();
    let theirs = other.announce("match:1", 1_750_000_000, teams()).unwrap();
    let forged = other.attest(&theirs, Outcome::Enumerated(0)).unwrap();
    std::fs::write(&path, forged.to_json()).unwrap();
    let (status, _, body) = get(f.server.addr(), "/v1/attestations/match:1");
    assert_eq!(status, 200, "{body}");
    assert_eq!(refused("another oracle's"), OracleError::WrongOracle);
    // Ours, with one bit of s flipped.
    std::fs::remove_file(&path).unwrap();
    let genuine = f.store.attest("match:1", "home").unwrap();
    let mut bytes = genuine.signature_bytes()[0];
    bytes[63] ^= 1;
    std::fs::write(&path, genuine.clone().with_signature(0, bytes).to_json()).unwrap();
    assert_eq!(
        refused("a flipped bit"),
        OracleError::BadSignature { index: 0 }
    );
    // Ours, relabelled as another outcome.
    let relabelled = genuine.to_json().replace("\"home\"", "\"away\"");
    std::fs::write(&path, relabelled).unwrap();
    assert_eq!(
        refused("relabelled"),
        OracleError::BadSignature { index: 0 }
    );
    // Garbage in the file: the store refuses it, the server says 500
    // without naming its files, the client reports the status.
    std::fs::write(&path, "{\"oracle\": [").unwrap();
    match fetch_attestation(f.url(), &ann) {
        Err(FetchError::Status { status, message }) => {
            assert_eq!(status, 500);
            assert!(!message.contains(f.dir.to_str().unwrap()), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // The genuine one again: accepted.
    std::fs::write(&path, genuine.to_json()).unwrap();
    assert_eq!(fetch_attestation(f.url(), &ann).unwrap(), Some(genuine));
}

#[test]
fn bad_methods_paths_bodies_and_oversized_requests_get_their_status_and_the_server_survives() {
    let f = Fixture::new("bad");
    let addr = f.server.addr();
    let close = "Host: x\r\nConnection: close\r\n";
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let (status, head, _) = raw(
            addr,
            format!("{method} /v1/announcements/match:1 HTTP/1.1\r\n{close}\r\n").as_bytes(),
        );
        assert_eq!(status, 405, "{method}");
        assert!(head.to_ascii_lowercase().contains("allow: get"), "{head}");
    }
    let (status, _, _) = raw(
        addr,
        format!("HEAD /v1/announcements HTTP/1.1\r\n{close}\r\n").as_bytes(),
    );
    assert_eq!(status, 405);
    for path in [
        "/",
        "/v1",
        "/v1/announcements/",
        "/v1/attestations",
        "/v1/attestations/",
        "/v1/announcements/match:1/extra",
        "/v1/announcements/..",
        "/v1/announcements/.",
        "/v1/announcements/..%2Fkey",
        "/v1/announcements/%2e%2e",
        "/v2/announcements/match:1",
        "/key",
    ] {
        let (status, _, body) = get(addr, path);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(
            serde_json::from_str::<Value>(&body).unwrap()["error"].is_string(),
            "{path}: {body}"
        );
    }
    // A body on a GET, declared or chunked, and a huge declared one.
    for framing in [
        "Content-Length: 5\r\n\r\nhello".to_owned(),
        "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".to_owned(),
        format!("Content-Length: {}\r\n\r\nabc", u64::MAX / 2),
    ] {
        let (status, head, _) = raw(
            addr,
            format!("GET /v1/announcements/match:1 HTTP/1.1\r\nHost: x\r\n{framing}").as_bytes(),
        );
        assert_eq!(status, 400, "{framing:?}");
        assert!(
            head.to_ascii_lowercase().contains("connection: close"),
            "{head}"
        );
    }
    // Oversized heads: a long header, a long URI; and plain garbage.
    let long_header = format!(
        "GET /v1/announcements HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    assert_eq!(raw(addr, long_header.as_bytes()).0, 431);
    let long_uri = format!(
        "GET /v1/announcements/{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    assert_eq!(raw(addr, long_uri.as_bytes()).0, 431);
    assert_eq!(raw(addr, b"\x00\x01\x02 garbage\r\n\r\n").0, 400);
    // A connection that sends nothing does not hold the others up.
    let idle: Vec<TcpStream> = (0..16).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut half = TcpStream::connect(addr).unwrap();
    half.write_all(b"GET /v1/announ").unwrap();
    // Still serving.
    let ann = fetch_announcement(f.url(), "match:1").unwrap();
    assert_eq!(ann.event_id(), "match:1");
    drop((idle, half));
}

#[test]
fn the_largest_announcement_fits_the_limits() {
    let dir = scratch("largest");
    let store = OracleStore::init(&dir).unwrap();
    // 4096 outcomes of 256 bytes, every one of them escaped in JSON.
    let names: Vec<String> = (0..4096)
        .map(|i| format!("{i:04}{}", "\"".repeat(252)))
        .collect();
    let ann = store
        .announce("huge", 0, Outcomes::Enumerated(names))
        .unwrap();
    let size = ann.to_json().len() as u64;
    assert!(size > 2_000_000 && size < MAX_RESPONSE, "{size}");
    let server = OracleServer::start(
        store.reader().clone(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .unwrap();
    assert_eq!(fetch_announcement(server.url(), "huge").unwrap(), ann);
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

/// A one-connection server that reads a request head and answers `answer`
/// (raw bytes, then it closes); the request it received.
fn canned(answer: Vec<u8>) -> (String, std::thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut request = Vec::new();
        let mut byte = [0u8; 1];
        while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            request.push(byte[0]);
        }
        // The client may hang up on an oversized answer.
        let _ = stream.write_all(&answer);
        request
    });
    (url, handle)
}

/// A canned answer with a status, headers and a body.
fn answer(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n{headers}\r\n").into_bytes();
    out.extend_from_slice(body);
    out
}

#[test]
fn the_client_refuses_garbage_and_oversized_answers_with_typed_errors() {
    let key = OracleKey::from_bytes(&[3u8; 32]).unwrap();
    let ann = key.announce("e", 0, teams()).unwrap();
    let json = ann.to_json();
    let ok = |body: &str| {
        answer(
            "200 OK",
            &format!("Content-Length: {}\r\n", body.len()),
            body.as_bytes(),
        )
    };
    let chunked = {
        let (a, b) = json.split_at(json.len() / 2);
        let mut body = format!(
            "{:x};ext=1\r\n{a}\r\n{:X}\r\n{b}\r\n0\r\nTrailer: x\r\n\r\n",
            a.len(),
            b.len()
        );
        body.insert_str(0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        body.into_bytes()
    };
    let huge_stream = {
        let mut out = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        out.resize(out.len() + MAX_RESPONSE as usize + 10, b' ');
        out
    };
    let other_event = key.announce("f", 0, teams()).unwrap().to_json();
    let tampered = json.replace("\"maturity\": 0", "\"maturity\": 1");
    type Check = fn(&FetchError) -> bool;
    let cases: Vec<(&str, Vec<u8>, Check)> = vec![
        ("garbage", b"garbage\r\n\r\n".to_vec(), |e| {
            matches!(e, FetchError::Malformed { .. })
        }),
        ("nothing", Vec::new(), |e| {
            matches!(e, FetchError::Malformed { .. })
        }),
        (
            "a cut head",
            b"HTTP/1.1 200 OK\r\nContent-Le".to_vec(),
            |e| matches!(e, FetchError::Malformed { .. }),
        ),
        (
            "a declared oversized body",
            answer(
                "200 OK",
                &format!("Content-Length: {}\r\n", MAX_RESPONSE + 1),
                b"",
            ),
            |e| matches!(e, FetchError::TooLarge { .. }),
        ),
        ("an oversized body to the end", huge_stream, |e| {
            matches!(e, FetchError::TooLarge { .. })
        }),
        (
            "an oversized chunk",
            answer(
                "200 OK",
                "Transfer-Encoding: chunked\r\n",
                b"ffffffffff\r\n",
            ),
            |e| matches!(e, FetchError::TooLarge { .. }),
        ),
        (
            "a bad chunk size",
            answer("200 OK", "Transfer-Encoding: chunked\r\n", b"zz\r\n"),
            |e| matches!(e, FetchError::Malformed { .. }),
        ),
        (
            "a body shorter than declared",
            answer("200 OK", "Content-Length: 100\r\n", b"{}"),
            |e| matches!(e, FetchError::Malformed { .. }),
        ),
        (
            "two lengths",
            answer(
                "200 OK",
                "Content-Length: 2\r\nContent-Length: 3\r\n",
                b"{}",
            ),
            |e| matches!(e, FetchError::Malformed { .. }),
        ),
        ("not JSON", ok("<html>hello</html>"), |e| {
            matches!(
                e,
                FetchError::BadAnnouncement {
                    source: OracleError::Malformed(_),
                    ..
                }
            )
        }),
        ("a tampered announcement", ok(&tampered), |e| {
            matches!(
                e,
                FetchError::BadAnnouncement {
                    source: OracleError::BadAnnouncementSignature,
                    ..
                }
            )
        }),
        (
            "another event's announcement",
            ok(&other_event),
            |e| matches!(e, FetchError::WrongEvent { asked, got } if asked == "e" && got == "f"),
        ),
        (
            "a server error",
            answer(
                "500 Internal Server Error",
                "",
                b"{\"error\": \"disk on fire\"}",
            ),
            |e| matches!(e, FetchError::Status { status: 500, message } if message == "disk on fire"),
        ),
        (
            "an interim response",
            answer("100 Continue", "", b""),
            |e| matches!(e, FetchError::Malformed { .. }),
        ),
    ];
    for (what, canned_answer, check) in cases {
        let (url, server) = canned(canned_answer);
        let result = fetch_announcement(&url, "e");
        let request = server.join().unwrap();
        match result {
            Err(e) => assert!(check(&e), "{what}: {e:?}"),
            Ok(a) => panic!("{what}: accepted {a:?}"),
        }
        // What the client sent, byte for byte: the event id, Host and
        // Connection, nothing else.
        let host = url.strip_prefix("http://").unwrap();
        assert_eq!(
            String::from_utf8(request).unwrap(),
            format!(
                "GET /v1/announcements/e HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            ),
            "{what}"
        );
    }
    // Well-formed answers in each framing are accepted.
    for (what, canned_answer) in [
        ("by length", ok(&json)),
        ("chunked", chunked),
        ("to the end", answer("200 OK", "", json.as_bytes())),
    ] {
        let (url, server) = canned(canned_answer);
        assert_eq!(fetch_announcement(&url, "e").unwrap(), ann, "{what}");
        server.join().unwrap();
    }
    // "not attested yet" is None for an attestation, an error for an
    // announcement.
    let not_yet = b"{\"error\": \"not attested yet\", \"maturity\": 0}";
    let (url, server) = canned(answer(
        "404 Not Found",
        &format!("Content-Length: {}\r\n", not_yet.len()),
        not_yet,
    ));
    assert_eq!(fetch_attestation(&url, &ann).unwrap(), None);
    server.join().unwrap();
    // Nobody listening: the address is named.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    match fetch_announcement(&format!("http://{addr}"), "e") {
        Err(FetchError::Connect { addr: named, .. }) => assert_eq!(named, addr.to_string()),
        other => panic!("{other:?}"),
    }
    match fetch_announcement("https://oracle.example", "e") {
        Err(e @ FetchError::Url { .. }) => assert!(e.to_string().contains("https"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_oracle_learns_two_gets_naming_the_event_and_nothing_else() {
    let f = Fixture::new("privacy");
    f.store.attest("match:1", "away").unwrap();
    let ann = fetch_announcement(f.url(), "match:1").unwrap();
    let att = fetch_attestation(f.url(), &ann).unwrap().unwrap();
    ann.verify(&att).unwrap();
    let host = f.server.addr().to_string();
    let expected = |path: &str| RecordedRequest {
        method: "GET".into(),
        path: path.into(),
        headers: vec![
            ("host".into(), host.clone()),
            ("connection".into(), "close".into()),
        ],
    };
    assert_eq!(
        f.server.requests(),
        vec![
            expected("/v1/announcements/match:1"),
            expected("/v1/attestations/match:1"),
        ]
    );
}

#[test]
fn a_taken_port_is_named_and_a_stopped_server_frees_its_port() {
    let f = Fixture::new("port");
    let addr = f.server.addr();
    match OracleServer::start(f.store.reader().clone(), addr) {
        Err(e @ ServerError::PortInUse { .. }) => {
            assert!(e.to_string().contains(&addr.to_string()), "{e}");
            assert!(e.to_string().contains("in use"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // Dropping the server stops it: the port is free again.
    drop(f);
    assert!(TcpStream::connect(addr).is_err());
}
