//! The JSON-RPC anchor chain ([`RpcChain`]) on two nodes: a local anvil,
//! and the embedded chain served over JSON-RPC ([`ServedChain`]). Each
//! test body takes a [`Node`] and runs once on each (`..._on_anvil`,
//! `..._on_served_chain`), so the served chain is held to what anvil does.
//!
//! Each anvil test starts its own anvil from `tools/evm/` (installed by
//! `npm ci --prefix tools/evm`; a missing binary fails the test and says
//! so) on 127.0.0.1 and a free port, and stops it by its PID when the test
//! ends, also on a panic; each served-chain test serves a fresh in-memory
//! embedded chain on a free port. The sender is anvil's first development
//! account (the embedded chain's development sender too).
//!
//! Set `SOTTO_TEST_SEED` to replay the randomised differential test; the
//! seed is printed. Run with `--nocapture` to see each operation's wall
//! time.
#![allow(clippy::unwrap_used, reason = "test code fails loudly")]

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng as _, RngCore as _, SeedableRng as _};
use sotto_engine::anchor::{
    Anchor, AnchorCall, AnchorError, ChainEvent, EmbeddedChain, Receipt, RpcChain, RpcOptions,
    ServedChain,
};
use sotto_engine::devnet::{self, Anvil};
use sotto_engine::state::{Address, ChannelParams, Signature, SigningKey, State};

#[path = "anchor/lifecycle.rs"]
mod lifecycle;

use lifecycle::DevChain;

fn dev_key() -> SigningKey {
    devnet::dev_key().unwrap()
}

/// A port nothing listens on (at the time of asking).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the anvil `npm ci --prefix tools/evm` installed.
fn start_anvil() -> Anvil {
    Anvil::start(&devnet::anvil_in(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
    ))
    .unwrap()
}

/// The node an [`RpcChain`] test runs on.
enum Node {
    /// Anvil, from `tools/evm/`.
    Anvil(Anvil),
    /// A fresh in-memory embedded chain, served on a free port.
    Served(ServedChain),
}

impl Node {
    fn anvil() -> Node {
        Node::Anvil(start_anvil())
    }

    fn served() -> Node {
        let chain = EmbeddedChain::new(31337).unwrap();
        Node::Served(ServedChain::on_free_port(chain).unwrap())
    }

    fn url(&self) -> &str {
        match self {
            Node::Anvil(anvil) => &anvil.url,
            Node::Served(served) => served.url(),
        }
    }

    /// A raw JSON-RPC request's result.
    fn request(&self, method: &str, params: serde_json::Value) -> serde_json::Value {
        let addr = match self {
            Node::Anvil(anvil) => anvil.addr,
            Node::Served(served) => served.addr(),
        };
        devnet::request(addr, method, params).unwrap()
    }

    fn set_balance(&self, who: Address, wei: u128) {
        match self {
            Node::Anvil(anvil) => anvil.set_balance(who, wei).unwrap(),
            // The host's in-process faucet, not the RPC method (which
            // tests/serve.rs covers).
            Node::Served(served) => served.set_balance(who, wei).unwrap(),
        }
    }

    /// The adjudicator to connect to: a fresh one deployed on anvil (the
    /// development sender's first contract), the built-in one on the
    /// served chain (the same address).
    fn adjudicator(&self) -> Option<Address> {
        match self {
            Node::Anvil(_) => None,
            Node::Served(served) => Some(served.adjudicator()),
        }
    }
}

/// A chain on `node` with its adjudicator.
fn chain_on(node: &Node) -> RpcChain {
    RpcChain::connect(node.url(), dev_key(), 0, node.adjudicator()).unwrap()
}

/// A two-party channel on `chain` between `keys`.
fn params(chain: &RpcChain, keys: &[SigningKey], nonce: u64) -> ChannelParams {
    ChannelParams {
        participants: keys.iter().map(SigningKey::address).collect(),
        nonce,
        challenge_period: 60,
        contract_id: [0xc0; 32],
        asset: Address([0; 20]),
        adjudicator: chain.adjudicator(),
        chain_id: chain.chain_id(),
    }
}

fn state(params: &ChannelParams, version: u64, allocation: &[u64], is_final: bool) -> State {
    State {
        channel_id: params.channel_id(),
        version,
        commitment: [version as u8; 32],
        allocation: allocation.to_vec(),
        is_final,
    }
}

fn signed(keys: &[SigningKey], state: &State) -> Vec<Signature> {
    keys.iter().map(|k| k.sign(&state.digest())).collect()
}

/// An [`RpcChain`] that records each submitted call's wall time by kind
/// (accepted calls only: a refused one is an estimate, not a transaction).
struct Timed<'a> {
    chain: RpcChain,
    node: &'a Node,
    times: Vec<(&'static str, Duration)>,
}

impl Timed<'_> {
    /// Each kind's count, mean, min and max, in milliseconds.
    fn report(&self) {
        for kind in ["deposit", "conclude", "register", "finalize", "withdraw"] {
            let t: Vec<f64> = self
                .times
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, d)| d.as_secs_f64() * 1e3)
                .collect();
            let (min, max) = t
                .iter()
                .fold((f64::MAX, 0f64), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
            println!(
                "{kind:>9}: n = {:>2}, mean {:.2} ms, min {min:.2} ms, max {max:.2} ms",
                t.len(),
                t.iter().sum::<f64>() / t.len().max(1) as f64
            );
        }
    }
}

impl Anchor for Timed<'_> {
    fn submit(
        &mut self,
        params: &ChannelParams,
        call: &AnchorCall,
    ) -> Result<Receipt, AnchorError> {
        let kind = call.name();
        let started = Instant::now();
        let result = self.chain.submit(params, call);
        if result.is_ok() {
            self.times.push((kind, started.elapsed()));
        }
        result
    }

    fn events(
        &mut self,
        channel_id: &[u8; 32],
        from: usize,
    ) -> Result<(Vec<ChainEvent>, usize), AnchorError> {
        self.chain.events(channel_id, from)
    }

    fn now(&self) -> u64 {
        self.chain.now()
    }

    fn advance(&mut self, seconds: u64) -> Result<(), AnchorError> {
        self.chain.advance(seconds)
    }

    fn adjudicator(&self) -> Address {
        self.chain.adjudicator()
    }

    fn chain_id(&self) -> u64 {
        self.chain.chain_id()
    }
}

impl DevChain for Timed<'_> {
    fn fund(&mut self, who: Address, wei: u64) {
        let balance = self.chain.balance(who).unwrap() + u128::from(wei);
        self.node.set_balance(who, balance);
    }

    fn balance(&mut self, who: Address) -> u128 {
        self.chain.balance(who).unwrap()
    }
}

/// The embedded chain, for comparing gas (as tests/anchor.rs implements it).
struct Embedded(EmbeddedChain);

impl Anchor for Embedded {
    fn submit(
        &mut self,
        params: &ChannelParams,
        call: &AnchorCall,
    ) -> Result<Receipt, AnchorError> {
        self.0.submit(params, call)
    }

    fn events(
        &mut self,
        channel_id: &[u8; 32],
        from: usize,
    ) -> Result<(Vec<ChainEvent>, usize), AnchorError> {
        self.0.events(channel_id, from)
    }

    fn now(&self) -> u64 {
        self.0.now()
    }

    fn advance(&mut self, seconds: u64) -> Result<(), AnchorError> {
        self.0.advance(seconds)
    }

    fn adjudicator(&self) -> Address {
        self.0.adjudicator()
    }

    fn chain_id(&self) -> u64 {
        self.0.chain_id()
    }
}

impl DevChain for Embedded {
    fn fund(&mut self, who: Address, wei: u64) {
        self.0.fund(who, u128::from(wei)).unwrap();
    }

    fn balance(&mut self, who: Address) -> u128 {
        self.0.balance(who)
    }
}

/// The shared lifecycle (tests/anchor/lifecycle.rs) on `node`, each
/// call's wall time printed (`--nocapture`).
fn lifecycle_on(node: &Node) {
    let started = Instant::now();
    let chain = chain_on(node);
    println!("connect (+ deploy): {:?}", started.elapsed());
    let mut timed = Timed {
        chain,
        node,
        times: Vec::new(),
    };
    lifecycle::lifecycle(&mut timed);
    timed.report();
}

#[test]
fn lifecycle_on_anvil() {
    lifecycle_on(&Node::anvil());
}

#[test]
fn lifecycle_on_served_chain() {
    let node = Node::served();
    let Node::Served(served) = &node else {
        unreachable!("Node::served serves")
    };
    let sender = dev_key().address();
    let (before, known) = (served.balance(sender), served.transactions().len());
    lifecycle_on(&node);
    // The host saw every transaction the lifecycle sent, with receipts:
    // all succeeded (refused calls were never sent), each names its
    // adjudicator function.
    let sent = served.transactions_from(known);
    assert!(sent.len() >= 20, "{} transactions", sent.len());
    for tx in &sent {
        assert_eq!(tx.from, sender);
        assert_eq!(tx.to, Some(served.adjudicator()));
        assert!(tx.success && tx.gas_used > 21_000, "{tx:?}");
        assert_eq!(tx.tx_type, 2);
        assert!(tx.function().is_some(), "{tx:?}");
        assert_eq!(tx.effective_gas_price, 1);
    }
    // Balances add up to the wei: the sender paid each receipt's fee and
    // each deposit's value; the fees went to the block's beneficiary.
    let fees: u128 = sent.iter().map(|t| t.fee()).sum();
    let values: u128 = sent.iter().map(|t| u128::try_from(t.value).unwrap()).sum();
    assert_eq!(before - served.balance(sender), fees + values);
    assert_eq!(served.balance(Address([0; 20])), fees);
}

/// One of each call costs on `node` exactly the gas it costs on the
/// embedded chain: the same bytecode, rules, addresses and calldata.
fn gas_is_the_embedded_chains(node: &Node) {
    let mut rpc = Timed {
        chain: chain_on(node),
        node,
        times: Vec::new(),
    };
    let mut embedded = Embedded(EmbeddedChain::new(rpc.chain_id()).unwrap());
    assert_eq!(embedded.adjudicator(), rpc.adjudicator());
    for (nonce, version) in [(1, 1), (11, 10_000)] {
        let on_node = lifecycle::gas_profile(&mut rpc, nonce, version);
        let embedded = lifecycle::gas_profile(&mut embedded, nonce, version);
        for ((what, a), (_, e)) in on_node.rows().iter().zip(embedded.rows()) {
            println!("{what:>20}: node {} gas, embedded {} gas", a.gas, e.gas);
        }
        assert_eq!(on_node, embedded, "version {version}");
    }
}

#[test]
fn gas_on_anvil_is_the_embedded_chains() {
    gas_is_the_embedded_chains(&Node::anvil());
}

#[test]
fn gas_on_the_served_chain_is_the_embedded_chains() {
    gas_is_the_embedded_chains(&Node::served());
}

fn confirmations_hide_events_until_blocks_are_mined(node: &Node) {
    let mut head = chain_on(node);
    let mut deep = RpcChain::connect(node.url(), dev_key(), 2, Some(head.adjudicator())).unwrap();
    let keys = [SigningKey::generate(), SigningKey::generate()];
    let p = params(&head, &keys, 1);
    let id = p.channel_id();
    deep.submit(
        &p,
        &AnchorCall::Deposit {
            party: 1,
            amount: 5,
        },
    )
    .unwrap();
    let deposited = vec![ChainEvent::Deposited { party: 1, total: 5 }];
    assert_eq!(head.events(&id, 0).unwrap(), (deposited.clone(), 1));
    assert_eq!(deep.events(&id, 0).unwrap(), (vec![], 0));
    // `advance` mines a block (and moves the clock by 0 seconds here).
    deep.advance(0).unwrap();
    assert_eq!(deep.events(&id, 0).unwrap(), (vec![], 0));
    deep.advance(0).unwrap();
    assert_eq!(deep.events(&id, 0).unwrap(), (deposited.clone(), 1));
    assert_eq!(deep.events(&id, 1).unwrap(), (vec![], 1));
    // An address without the adjudicator's code is refused.
    let nowhere = RpcChain::connect(node.url(), dev_key(), 0, Some(head.sender()));
    assert!(
        matches!(&nowhere, Err(AnchorError::Backend(m)) if m.contains("does not hold")),
        "{nowhere:?}"
    );
}

#[test]
fn confirmations_hide_events_until_blocks_are_mined_on_anvil() {
    confirmations_hide_events_until_blocks_are_mined(&Node::anvil());
}

#[test]
fn confirmations_hide_events_until_blocks_are_mined_on_served_chain() {
    confirmations_hide_events_until_blocks_are_mined(&Node::served());
}

/// A refused call is only an estimate: nothing is sent, no gas is paid,
/// no block is mined; its revert is decoded into the adjudicator's error.
/// (The shared lifecycle checks every error.)
fn a_refused_call_sends_nothing(node: &Node) {
    let mut chain = chain_on(node);
    let keys = [SigningKey::generate(), SigningKey::generate()];
    let p = params(&chain, &keys, 1);
    chain
        .submit(
            &p,
            &AnchorCall::Deposit {
                party: 0,
                amount: 10,
            },
        )
        .unwrap();
    let block = || node.request("eth_blockNumber", serde_json::json!([]));
    let (balance, head) = (chain.balance(chain.sender()).unwrap(), block());
    let s = state(&p, 1, &[10, 0], true);
    let mut forged = signed(&keys, &s);
    forged[1] = keys[0].sign(&s.digest());
    let mut wrong_chain = p.clone();
    wrong_chain.chain_id += 1;
    let refused = [
        (
            &p,
            AnchorCall::Conclude {
                state: s.clone(),
                signatures: forged,
            },
            AnchorError::BadSignature,
        ),
        (
            &p,
            AnchorCall::Withdraw { party: 1 },
            AnchorError::NothingToWithdraw(1),
        ),
        (
            &p,
            AnchorCall::Register {
                state: state(&p, 2, &[10, 1], false),
                signatures: signed(&keys, &state(&p, 2, &[10, 1], false)),
            },
            AnchorError::BadAllocation,
        ),
        (
            &wrong_chain,
            AnchorCall::Deposit {
                party: 0,
                amount: 1,
            },
            AnchorError::Backend(format!(
                "the channel names chain {}, not this one",
                wrong_chain.chain_id
            )),
        ),
    ];
    for (params, call, expected) in refused {
        assert_eq!(chain.submit(params, &call), Err(expected));
    }
    assert_eq!(chain.balance(chain.sender()).unwrap(), balance);
    assert_eq!(block(), head);
    assert_eq!(chain.events(&p.channel_id(), 1).unwrap(), (vec![], 1));
}

#[test]
fn a_refused_call_sends_nothing_on_anvil() {
    a_refused_call_sends_nothing(&Node::anvil());
}

#[test]
fn a_refused_call_sends_nothing_on_served_chain() {
    a_refused_call_sends_nothing(&Node::served());
}

/// `eth_call`s of the adjudicator's pure functions agree with Rust.
fn the_contract_computes_the_rust_encodings(node: &Node) {
    let chain = chain_on(node);
    let mut rng = StdRng::seed_from_u64(sotto_circuits::fuzzing::harness::seed());
    let bytes = |rng: &mut StdRng| {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        b
    };
    for _ in 0..8 {
        let n = rng.gen_range(0..5);
        let params = ChannelParams {
            participants: (0..n)
                .map(|_| Address(bytes(&mut rng)[..20].try_into().unwrap()))
                .collect(),
            nonce: rng.r#gen(),
            challenge_period: rng.r#gen(),
            contract_id: bytes(&mut rng),
            asset: Address(bytes(&mut rng)[..20].try_into().unwrap()),
            adjudicator: Address(bytes(&mut rng)[..20].try_into().unwrap()),
            chain_id: rng.r#gen(),
        };
        assert_eq!(
            chain.channel_id_on_chain(&params).unwrap(),
            params.channel_id(),
            "{params:?}"
        );
        let state = State {
            channel_id: bytes(&mut rng),
            version: rng.r#gen(),
            commitment: bytes(&mut rng),
            allocation: (0..rng.gen_range(0..5)).map(|_| rng.r#gen()).collect(),
            is_final: rng.r#gen(),
        };
        assert_eq!(
            chain.state_digest_on_chain(&state).unwrap(),
            state.digest(),
            "{state:?}"
        );
    }
}

#[test]
fn the_contract_computes_the_rust_encodings_on_anvil() {
    the_contract_computes_the_rust_encodings(&Node::anvil());
}

#[test]
fn the_contract_computes_the_rust_encodings_on_served_chain() {
    the_contract_computes_the_rust_encodings(&Node::served());
}

#[test]
fn a_node_that_is_not_there_fails_fast() {
    // Nothing listens: the connection is refused.
    let started = Instant::now();
    let url = format!("http://127.0.0.1:{}", free_port());
    let refused = RpcChain::connect(&url, dev_key(), 0, None);
    assert!(
        matches!(&refused, Err(AnchorError::Backend(_))),
        "{refused:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    // Something listens but never answers: the request times out.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let started = Instant::now();
    let options = RpcOptions {
        request_timeout: Duration::from_millis(500),
        ..RpcOptions::default()
    };
    let hung = RpcChain::connect_with(&url, dev_key(), &options);
    assert!(
        matches!(&hung, Err(AnchorError::Backend(m)) if m.contains("no answer")),
        "{hung:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    // Only plain HTTP, and the error does not echo the URL's path.
    let tls = RpcChain::connect("https://node.invalid/v3/KEY", dev_key(), 0, None);
    assert!(
        matches!(&tls, Err(AnchorError::Backend(m)) if !m.contains("KEY")),
        "{tls:?}"
    );
}

#[test]
fn a_malformed_answer_is_an_error() {
    // A node that answers every request with `body`.
    fn serve(body: &'static str) -> String {
        use std::io::{Read as _, Write as _};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        url
    }
    for body in [
        "not json",
        r#"{"jsonrpc":"2.0","id":0,"result":"not a quantity"}"#,
        r#"{"jsonrpc":"2.0","id":0,"result":"0x7a69"}"#,
        r#"{"jsonrpc":"2.0","id":0,"error":{"code":-32000,"message":"no"}}"#,
        "",
    ] {
        let url = serve(body);
        let options = RpcOptions {
            request_timeout: Duration::from_secs(2),
            ..RpcOptions::default()
        };
        let got = RpcChain::connect_with(&url, dev_key(), &options);
        assert!(
            matches!(&got, Err(AnchorError::Backend(_))),
            "{body:?} gave {got:?}"
        );
    }
}
