//! The served embedded chain ([`ServedChain`]) on its own: what it refuses
//! and how (malformed JSON, unknown methods, wrong parameters, bad signed
//! transactions, oversized bodies, other than POST), HTTP keep-alive, the
//! anvil methods it answers, persistence across a restart, and two
//! [`RpcChain`] clients with two keys sharing it.
//!
//! (tests/anchor_rpc.rs runs the adjudicator's lifecycle, gas and
//! confirmations through [`RpcChain`] on it beside anvil.)
#![allow(clippy::unwrap_used, reason = "test code fails loudly")]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use alloy_consensus::{SignableTransaction as _, TxEip1559, TxEnvelope, TxLegacy};
use alloy_primitives::{Bytes, TxKind, U256, hex};
use alloy_provider::network::eip2718::Encodable2718 as _;
use serde_json::{Value, json};
use sotto_engine::anchor::{
    Anchor as _, AnchorCall, AnchorError, ChainEvent, EmbeddedChain, MAX_BODY, RpcChain,
    RpcOptions, ServeError, ServedChain,
};
use sotto_engine::devnet;
use sotto_engine::state::{Address, ChannelParams, Signature, SigningKey, State};

const CHAIN_ID: u64 = 31337;

fn served() -> ServedChain {
    ServedChain::on_free_port(EmbeddedChain::new(CHAIN_ID).unwrap()).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sotto-serve-test-{}-{name}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One HTTP response read off `stream`: status, headers (lower-case
/// names) and body (by its content length).
fn read_response(stream: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>, String) {
    let mut line = String::new();
    stream.read_line(&mut line).unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    (status, headers, String::from_utf8(body).unwrap())
}

fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    BufReader::new(stream)
}

fn write_post(stream: &mut BufReader<TcpStream>, addr: SocketAddr, body: &str) {
    write!(
        stream.get_mut(),
        "POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
}

/// POSTs `body` on a connection of its own: the status and the body.
fn post(addr: SocketAddr, body: &str) -> (u16, String) {
    let mut stream = connect(addr);
    write_post(&mut stream, addr, body);
    let (status, _, body) = read_response(&mut stream);
    (status, body)
}

/// A request's whole answer object.
fn ask(chain: &ServedChain, method: &str, params: Value) -> Value {
    devnet::exchange(chain.addr(), method, params).unwrap()
}

/// A request's result; panics on an error.
fn result(chain: &ServedChain, method: &str, params: Value) -> Value {
    devnet::request(chain.addr(), method, params).unwrap()
}

/// The error code and message of a request that must fail.
fn refusal(chain: &ServedChain, method: &str, params: Value) -> (i64, String) {
    let answer = ask(chain, method, params.clone());
    let error = answer
        .get("error")
        .unwrap_or_else(|| panic!("{method} {params} was answered {answer}"));
    (
        error["code"].as_i64().unwrap(),
        error["message"].as_str().unwrap().to_owned(),
    )
}

fn block_number(chain: &ServedChain) -> Value {
    result(chain, "eth_blockNumber", json!([]))
}

/// `tx` signed by `key`, as the EIP-2718 bytes `eth_sendRawTransaction`
/// takes.
fn sign_1559(key: &SigningKey, tx: TxEip1559) -> String {
    let Signature(sig) = key.sign(&tx.signature_hash().0);
    let signature = alloy_primitives::Signature::from_bytes_and_parity(&sig[..64], sig[64] == 28);
    let raw = TxEnvelope::from(tx.into_signed(signature)).encoded_2718();
    format!("0x{}", hex::encode(raw))
}

/// A transfer of `value` wei to `to` from nonce `nonce`.
fn transfer(nonce: u64, to: Address, value: u64) -> TxEip1559 {
    TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10,
        max_priority_fee_per_gas: 2,
        to: TxKind::Call(alloy_primitives::Address::from(to.0)),
        value: U256::from(value),
        access_list: Default::default(),
        input: Bytes::new(),
    }
}

fn balance(chain: &ServedChain, who: Address) -> u128 {
    chain.balance(who)
}

#[test]
fn malformed_requests_get_their_json_rpc_errors() {
    let chain = served();
    let addr = chain.addr();
    let error = |body: &str| -> (u16, Value) {
        let (status, body) = post(addr, body);
        (status, serde_json::from_str(&body).unwrap())
    };
    let cases: [(&str, i64); 12] = [
        ("not json", -32700),
        ("{\"jsonrpc\":\"2.0\",\"id\":1,", -32700),
        ("42", -32600),
        ("[]", -32600),
        (r#"{"jsonrpc":"1.0","id":1,"method":"eth_chainId"}"#, -32600),
        (r#"{"jsonrpc":"2.0","id":1,"method":7}"#, -32600),
        (
            r#"{"jsonrpc":"2.0","id":{},"method":"eth_chainId"}"#,
            -32600,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":{"a":1}}"#,
            -32600,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_sendTransaction","params":[]}"#,
            -32601,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x12"]}"#,
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[1]}"#,
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["latest",true]}"#,
            -32602,
        ),
    ];
    for (body, code) in cases {
        let (status, answer) = error(body);
        assert_eq!(status, 200, "{body}");
        assert_eq!(answer["jsonrpc"], "2.0", "{body}");
        assert_eq!(answer["error"]["code"], code, "{body}: {answer}");
        assert!(answer["error"]["message"].is_string(), "{body}: {answer}");
        assert!(answer.get("result").is_none(), "{body}: {answer}");
    }
    // The id comes back as it was sent.
    let (_, answer) = error(r#"{"jsonrpc":"2.0","id":"x-7","method":"eth_chainId"}"#);
    assert_eq!(
        answer,
        json!({"jsonrpc": "2.0", "id": "x-7", "result": "0x7a69"})
    );
    // A batch: one answer per request, in order; a notification gets none.
    let (_, answer) = error(
        r#"[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},
            {"jsonrpc":"2.0","method":"eth_chainId"},
            {"jsonrpc":"2.0","id":2,"method":"nope"}]"#,
    );
    assert_eq!(answer[0]["result"], "0x7a69");
    assert_eq!(answer[1]["id"], 2);
    assert_eq!(answer[1]["error"]["code"], -32601);
    assert_eq!(answer.as_array().unwrap().len(), 2);
    let too_many = format!(
        "[{}]",
        vec![r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#; 101].join(",")
    );
    assert_eq!(error(&too_many).1["error"]["code"], -32600);
    // Only notifications: no content.
    let (status, body) = post(addr, r#"{"jsonrpc":"2.0","method":"evm_mine"}"#);
    assert_eq!((status, body.as_str()), (204, ""));
    // Anything but POST.
    let mut stream = connect(addr);
    write!(stream.get_mut(), "GET / HTTP/1.1\r\nhost: {addr}\r\n\r\n").unwrap();
    let (status, headers, _) = read_response(&mut stream);
    assert_eq!(status, 405);
    assert!(headers.contains(&("allow".into(), "POST".into())));
    // State at an older block is not kept; a block not yet mined is not
    // there.
    let sender = devnet::dev_key().unwrap().address().to_string();
    for at in [json!("0x0"), json!("0xffff")] {
        let (code, message) = refusal(&chain, "eth_getBalance", json!([sender, at]));
        assert_eq!(code, -32000, "{message}");
    }
    assert_eq!(
        result(&chain, "eth_getBlockByNumber", json!(["0xffff", false])),
        Value::Null
    );
}

#[test]
fn bad_raw_transactions_are_refused_and_change_nothing() {
    let chain = served();
    let rich = SigningKey::generate();
    let poor = SigningKey::generate();
    let someone = SigningKey::generate().address();
    chain.fund(rich.address(), 1_000_000_000).unwrap();
    let head = block_number(&chain);
    let good = transfer(0, someone, 1000);
    let mut trailing = sign_1559(&rich, good.clone());
    trailing.push_str("00");
    let legacy_unprotected = {
        let tx = TxLegacy {
            chain_id: None,
            nonce: 0,
            gas_price: 10,
            gas_limit: 21_000,
            to: TxKind::Call(alloy_primitives::Address::from(someone.0)),
            value: U256::from(1),
            input: Bytes::new(),
        };
        let Signature(sig) = rich.sign(&tx.signature_hash().0);
        let signature =
            alloy_primitives::Signature::from_bytes_and_parity(&sig[..64], sig[64] == 28);
        format!(
            "0x{}",
            hex::encode(TxEnvelope::from(tx.into_signed(signature)).encoded_2718())
        )
    };
    let cases: Vec<(&str, String, i64, &str)> = vec![
        ("garbage", "0xdeadbeef".into(), -32602, "does not decode"),
        ("not hex", "\"zz\"".into(), -32602, "parameter 0"),
        ("trailing bytes", trailing, -32602, "does not decode"),
        (
            "another chain",
            sign_1559(
                &rich,
                TxEip1559 {
                    chain_id: CHAIN_ID + 1,
                    ..good.clone()
                },
            ),
            -32000,
            "invalid chain id",
        ),
        ("no chain id", legacy_unprotected, -32000, "no chain id"),
        (
            "a nonce ahead",
            sign_1559(&rich, transfer(1, someone, 1000)),
            -32000,
            "nonce too high",
        ),
        (
            "an unfunded sender",
            sign_1559(&poor, good.clone()),
            -32000,
            "insufficient funds",
        ),
        (
            "more than the balance",
            sign_1559(&rich, transfer(0, someone, 1_000_000_000)),
            -32000,
            "insufficient funds",
        ),
        (
            "a gas limit over the cap",
            sign_1559(
                &rich,
                TxEip1559 {
                    gas_limit: 1 << 25,
                    ..good.clone()
                },
            ),
            -32000,
            "above the per-transaction cap",
        ),
        (
            "less gas than the intrinsic cost",
            sign_1559(
                &rich,
                TxEip1559 {
                    gas_limit: 20_000,
                    ..good.clone()
                },
            ),
            -32003,
            "refused",
        ),
        (
            "a priority fee above the max fee",
            sign_1559(
                &rich,
                TxEip1559 {
                    max_priority_fee_per_gas: 11,
                    ..good.clone()
                },
            ),
            -32003,
            "refused",
        ),
    ];
    let balances = || (balance(&chain, rich.address()), balance(&chain, someone));
    let before = balances();
    for (what, raw, code, says) in cases {
        let params = if raw.starts_with('"') {
            format!("[{raw}]")
        } else {
            format!("[\"{raw}\"]")
        };
        let (got, message) = refusal(
            &chain,
            "eth_sendRawTransaction",
            serde_json::from_str(&params).unwrap(),
        );
        assert_eq!(got, code, "{what}: {message}");
        assert!(message.contains(says), "{what}: {message}");
        assert_eq!(block_number(&chain), head, "{what}");
        assert_eq!(balances(), before, "{what}");
    }
    // The good one is mined; sent again, its nonce is used.
    let raw = sign_1559(&rich, good);
    let hash = result(&chain, "eth_sendRawTransaction", json!([raw]));
    let (code, message) = refusal(&chain, "eth_sendRawTransaction", json!([raw]));
    assert_eq!(code, -32000);
    assert!(message.contains("nonce too low"), "{message}");
    // Balances add up: the sender paid the value and 21000 gas at the
    // effective price (the 2-wei tip: the base fee is 0), the recipient
    // got the value, the block's beneficiary the fee.
    let receipt = result(&chain, "eth_getTransactionReceipt", json!([hash]));
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["gasUsed"], "0x5208");
    assert_eq!(receipt["effectiveGasPrice"], "0x2");
    assert_eq!(receipt["type"], "0x2");
    assert_eq!(balances(), (before.0 - 1000 - 2 * 21_000, before.1 + 1000));
    assert_eq!(balance(&chain, Address([0; 20])), 2 * 21_000);
    assert_eq!(
        result(
            &chain,
            "eth_getTransactionCount",
            json!([rich.address().to_string(), "pending"])
        ),
        "0x1"
    );
    // A transaction that reverts is mined, pays its gas, uses its nonce.
    let reverting = TxEip1559 {
        nonce: 1,
        gas_limit: 100_000,
        to: TxKind::Call(alloy_primitives::Address::from(chain.adjudicator().0)),
        value: U256::ZERO,
        input: Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]),
        ..transfer(1, someone, 0)
    };
    let hash = result(
        &chain,
        "eth_sendRawTransaction",
        json!([sign_1559(&rich, reverting)]),
    );
    let receipt = result(&chain, "eth_getTransactionReceipt", json!([hash]));
    assert_eq!(receipt["status"], "0x0");
    let mined = chain.transactions();
    let last = mined.last().unwrap();
    assert!(!last.success && last.gas_used > 21_000 && last.logs.is_empty());
    assert_eq!(last.selector(), Some([0xde, 0xad, 0xbe, 0xef]));
    assert_eq!(last.function(), None);
    // An unknown transaction has no receipt.
    assert_eq!(
        result(
            &chain,
            "eth_getTransactionReceipt",
            json!([format!("0x{}", "ab".repeat(32))])
        ),
        Value::Null
    );
}

#[test]
fn reverts_carry_their_data_as_anvil_gives_it() {
    let chain = served();
    let keys = [SigningKey::generate(), SigningKey::generate()];
    let p = ChannelParams {
        participants: keys.iter().map(SigningKey::address).collect(),
        nonce: 1,
        challenge_period: 60,
        contract_id: [0xc0; 32],
        asset: Address([0; 20]),
        adjudicator: chain.adjudicator(),
        chain_id: CHAIN_ID,
    };
    let calldata = EmbeddedChain::calldata(&p, &AnchorCall::Withdraw { party: 1 });
    let request = json!([{
        "from": devnet::dev_key().unwrap().address().to_string(),
        "to": chain.adjudicator().to_string(),
        "input": format!("0x{}", hex::encode(&calldata)),
    }]);
    for method in ["eth_estimateGas", "eth_call"] {
        let answer = ask(&chain, method, request.clone());
        let error = &answer["error"];
        assert_eq!(error["code"], 3, "{answer}");
        assert_eq!(error["message"], "execution reverted");
        // NothingToWithdraw(1): its selector, then the party as a word.
        let data = error["data"].as_str().unwrap();
        assert_eq!(data.len(), 2 + 2 * (4 + 32), "{data}");
        assert!(data.ends_with(&format!("{}1", "0".repeat(63))), "{data}");
    }
    // Through RpcChain: the typed error, and nothing sent.
    let head = block_number(&chain);
    let mut rpc = RpcChain::connect(
        chain.url(),
        devnet::dev_key().unwrap(),
        0,
        Some(chain.adjudicator()),
    )
    .unwrap();
    assert_eq!(
        rpc.submit(&p, &AnchorCall::Withdraw { party: 1 }),
        Err(AnchorError::NothingToWithdraw(1))
    );
    assert_eq!(block_number(&chain), head);
    // An estimate of a call that succeeds is enough to run it, and no more
    // than the cap.
    let deposit = EmbeddedChain::calldata(
        &p,
        &AnchorCall::Deposit {
            party: 0,
            amount: 5,
        },
    );
    let estimate = result(
        &chain,
        "eth_estimateGas",
        json!([{
            "from": devnet::dev_key().unwrap().address().to_string(),
            "to": chain.adjudicator().to_string(),
            "value": "0x5",
            "input": format!("0x{}", hex::encode(&deposit)),
        }]),
    );
    let estimate =
        u64::from_str_radix(estimate.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let receipt = rpc
        .submit(
            &p,
            &AnchorCall::Deposit {
                party: 0,
                amount: 5,
            },
        )
        .unwrap();
    let used = receipt.gas.unwrap();
    assert!(
        estimate >= used && estimate < 1 << 24,
        "{estimate} for {used}"
    );
}

#[test]
fn oversized_bodies_are_refused_before_they_are_read() {
    let chain = served();
    let addr = chain.addr();
    // Declared too long: refused without waiting for a byte of it.
    let mut stream = connect(addr);
    write!(
        stream.get_mut(),
        "POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        MAX_BODY + 1
    )
    .unwrap();
    let (status, headers, body) = read_response(&mut stream);
    assert_eq!(status, 413);
    assert!(headers.contains(&("connection".into(), "close".into())));
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["error"]["code"], -32600);
    // Streamed without a length: refused once it passes the limit.
    let mut stream = connect(addr);
    write!(
        stream.get_mut(),
        "POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\n\r\n"
    )
    .unwrap();
    // Exactly one byte too many and nothing after it, so the server has
    // read everything sent when it answers (unread bytes would make its
    // close a reset that could beat the answer).
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..MAX_BODY / chunk.len() {
        write!(stream.get_mut(), "{:x}\r\n", chunk.len()).unwrap();
        stream.get_mut().write_all(&chunk).unwrap();
        stream.get_mut().write_all(b"\r\n").unwrap();
    }
    stream.get_mut().write_all(b"1\r\n \r\n").unwrap();
    let (status, _, _) = read_response(&mut stream);
    assert_eq!(status, 413);
    // A body at the limit is read (and is not JSON).
    let (status, body) = post(addr, &" ".repeat(MAX_BODY));
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["error"]["code"], -32700);
    // The server still answers.
    assert_eq!(result(&chain, "eth_chainId", json!([])), "0x7a69");
}

#[test]
fn one_connection_carries_many_requests() {
    let chain = served();
    let addr = chain.addr();
    let mut stream = connect(addr);
    for i in 0..20 {
        let method = if i % 2 == 0 {
            "eth_blockNumber"
        } else {
            "evm_mine"
        };
        write_post(
            &mut stream,
            addr,
            &json!({"jsonrpc": "2.0", "id": i, "method": method}).to_string(),
        );
        let (status, headers, body) = read_response(&mut stream);
        assert_eq!(status, 200);
        assert!(!headers.contains(&("connection".into(), "close".into())));
        let answer: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["id"], i);
        if i % 2 == 0 {
            assert_eq!(answer["result"], format!("{:#x}", 1 + i / 2));
        }
    }
}

#[test]
fn the_development_methods_move_the_clock_and_set_balances() {
    let chain = served();
    let latest = || result(&chain, "eth_getBlockByNumber", json!(["latest", false]));
    let start = latest();
    let t0 = u64::from_str_radix(
        start["timestamp"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    assert_eq!(t0, EmbeddedChain::GENESIS_TIMESTAMP);
    // increaseTime moves the next block, not the latest.
    assert_eq!(result(&chain, "evm_increaseTime", json!([100])), 100);
    assert_eq!(result(&chain, "evm_increaseTime", json!(["0x10"])), 116);
    assert_eq!(latest(), start);
    assert_eq!(result(&chain, "evm_mine", json!([])), "0x0");
    let mined = latest();
    assert_eq!(chain.now(), t0 + 116);
    assert_eq!(mined["parentHash"], start["hash"]);
    assert_ne!(mined["hash"], start["hash"]);
    assert_eq!(mined["baseFeePerGas"], "0x0");
    let (code, _) = refusal(&chain, "evm_increaseTime", json!([u64::MAX]));
    assert_eq!(code, -32602);
    let (code, _) = refusal(&chain, "evm_mine", json!([12345]));
    assert_eq!(code, -32602);
    // The same block by hash and by number.
    assert_eq!(
        result(&chain, "eth_getBlockByHash", json!([mined["hash"], false])),
        mined
    );
    // anvil_setBalance sets, not adds.
    let who = SigningKey::generate().address();
    result(&chain, "anvil_setBalance", json!([who.to_string(), "0x64"]));
    result(&chain, "anvil_setBalance", json!([who.to_string(), "0x65"]));
    assert_eq!(chain.balance(who), 101);
    assert_eq!(
        result(&chain, "eth_getBalance", json!([who.to_string(), "latest"])),
        "0x65"
    );
    let (code, _) = refusal(&chain, "anvil_setBalance", json!([who.to_string()]));
    assert_eq!(code, -32602);
    // The host's view: its own advance mines too.
    chain.advance(50).unwrap();
    assert_eq!(chain.now(), t0 + 166);
    // Fee suggestions RpcChain's client asks for.
    let history = result(&chain, "eth_feeHistory", json!(["0x4", "latest", [20.0]]));
    assert_eq!(history["baseFeePerGas"].as_array().unwrap().len(), 5);
    assert_eq!(history["reward"].as_array().unwrap().len(), 4);
    assert_eq!(result(&chain, "eth_maxPriorityFeePerGas", json!([])), "0x1");
}

#[test]
fn a_chain_kept_in_a_file_is_served_again_after_a_restart() {
    let dir = scratch("restart");
    let path = dir.join("chain.json");
    let served = ServedChain::on_free_port(EmbeddedChain::open(&path, CHAIN_ID).unwrap()).unwrap();
    let addr = served.addr();
    // Deployed over JSON-RPC: a contract creation from a signed
    // transaction (the built-in adjudicator is at nonce 0).
    let mut rpc = RpcChain::connect(served.url(), devnet::dev_key().unwrap(), 0, None).unwrap();
    assert_ne!(rpc.adjudicator(), served.adjudicator());
    let deployment = served.transactions().last().unwrap().clone();
    assert_eq!(deployment.contract_address, Some(rpc.adjudicator()));
    assert_eq!(deployment.to, None);
    let keys = [SigningKey::generate(), SigningKey::generate()];
    let p = ChannelParams {
        participants: keys.iter().map(SigningKey::address).collect(),
        nonce: 1,
        challenge_period: 60,
        contract_id: [0xc0; 32],
        asset: Address([0; 20]),
        adjudicator: rpc.adjudicator(),
        chain_id: CHAIN_ID,
    };
    for party in 0..2 {
        rpc.submit(&p, &AnchorCall::Deposit { party, amount: 7 })
            .unwrap();
    }
    let events = rpc.events(&p.channel_id(), 0).unwrap();
    let mined = served.transactions();
    let head = block_number(&served);
    let block = result(&served, "eth_getBlockByNumber", json!([head, false]));
    let receipt = result(
        &served,
        "eth_getTransactionReceipt",
        json!([format!("0x{}", hex::encode(mined.last().unwrap().hash))]),
    );
    drop(rpc);
    served.stop();

    // The same file, the same port.
    let chain = EmbeddedChain::open(&path, CHAIN_ID).unwrap();
    let served = ServedChain::start(chain, addr).unwrap();
    assert_eq!(served.transactions(), mined);
    assert_eq!(block_number(&served), head);
    assert_eq!(
        result(&served, "eth_getBlockByNumber", json!([head, false])),
        block
    );
    assert_eq!(
        result(
            &served,
            "eth_getTransactionReceipt",
            json!([receipt["transactionHash"]])
        ),
        receipt
    );
    let mut rpc = RpcChain::connect_with(
        served.url(),
        devnet::dev_key().unwrap(),
        &RpcOptions {
            adjudicator: Some(p.adjudicator),
            ..RpcOptions::default()
        },
    )
    .unwrap();
    assert_eq!(rpc.events(&p.channel_id(), 0).unwrap(), events);
    // The nonce goes on where it stopped.
    rpc.submit(
        &p,
        &AnchorCall::Deposit {
            party: 0,
            amount: 1,
        },
    )
    .unwrap();
    assert_eq!(
        rpc.events(&p.channel_id(), 2).unwrap().0,
        [ChainEvent::Deposited { party: 0, total: 8 }]
    );
    drop(served);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_clients_with_two_keys_share_the_chain_and_see_each_others_events() {
    let served = served();
    let key = |b: u8| SigningKey::from_bytes(&[b; 32]).unwrap();
    let keys = [key(0x41), key(0x42)];
    for key in &keys {
        served.fund(key.address(), 10u128.pow(18)).unwrap();
    }
    let mut a = RpcChain::connect(served.url(), key(0x41), 0, Some(served.adjudicator())).unwrap();
    let mut b = RpcChain::connect(served.url(), key(0x42), 0, Some(served.adjudicator())).unwrap();
    let p = ChannelParams {
        participants: keys.iter().map(SigningKey::address).collect(),
        nonce: 9,
        challenge_period: 60,
        contract_id: [0xc0; 32],
        asset: Address([0; 20]),
        adjudicator: served.adjudicator(),
        chain_id: CHAIN_ID,
    };
    let id = p.channel_id();
    a.submit(
        &p,
        &AnchorCall::Deposit {
            party: 0,
            amount: 30,
        },
    )
    .unwrap();
    b.submit(
        &p,
        &AnchorCall::Deposit {
            party: 1,
            amount: 20,
        },
    )
    .unwrap();
    let deposits = vec![
        ChainEvent::Deposited {
            party: 0,
            total: 30,
        },
        ChainEvent::Deposited {
            party: 1,
            total: 20,
        },
    ];
    assert_eq!(a.events(&id, 0).unwrap(), (deposits.clone(), 2));
    assert_eq!(b.events(&id, 0).unwrap(), (deposits, 2));
    // B disputes; A sees it, refutes with a later state; both see that.
    let sign = |s: &State| keys.iter().map(|k| k.sign(&s.digest())).collect::<Vec<_>>();
    let state = |version: u64, allocation: [u64; 2]| State {
        channel_id: id,
        version,
        commitment: [version as u8; 32],
        allocation: allocation.to_vec(),
        is_final: false,
    };
    let (stale, latest) = (state(1, [10, 40]), state(2, [35, 15]));
    b.submit(
        &p,
        &AnchorCall::Register {
            state: stale.clone(),
            signatures: sign(&stale),
        },
    )
    .unwrap();
    let (seen, _) = a.events(&id, 2).unwrap();
    assert!(matches!(&seen[..], [ChainEvent::Registered { state, .. }] if *state == stale));
    a.submit(
        &p,
        &AnchorCall::Register {
            state: latest.clone(),
            signatures: sign(&latest),
        },
    )
    .unwrap();
    let (seen, _) = b.events(&id, 3).unwrap();
    assert!(matches!(&seen[..], [ChainEvent::Registered { state, .. }] if *state == latest));
    // The host saw each key's transactions, in order.
    let senders: Vec<_> = served
        .transactions()
        .iter()
        .skip(1)
        .map(|t| (t.from, t.function().unwrap()))
        .collect();
    assert_eq!(
        senders,
        [
            (keys[0].address(), "deposit"),
            (keys[1].address(), "deposit"),
            (keys[1].address(), "register"),
            (keys[0].address(), "register"),
        ]
    );
    // eth_getLogs by topic and range, as a third client would ask.
    let logs = result(
        &served,
        "eth_getLogs",
        json!([{
            "address": served.adjudicator().to_string(),
            "topics": [null, format!("0x{}", hex::encode(id))],
            "fromBlock": "0x0",
            "toBlock": "latest",
        }]),
    );
    let logs = logs.as_array().unwrap();
    assert_eq!(logs.len(), 4);
    let blocks: Vec<_> = logs.iter().map(|l| l["blockNumber"].clone()).collect();
    assert!(blocks.windows(2).all(|w| w[0] != w[1]), "{blocks:?}");
    let (code, _) = refusal(
        &served,
        "eth_getLogs",
        json!([{"fromBlock": "0x5", "toBlock": "0x2"}]),
    );
    assert_eq!(code, -32602);
}

#[test]
fn the_server_listens_on_loopback_only_and_says_when_the_port_is_taken() {
    let chain = || EmbeddedChain::new(CHAIN_ID).unwrap();
    let everywhere: SocketAddr = "0.0.0.0:0".parse().unwrap();
    assert!(matches!(
        ServedChain::start(chain(), everywhere),
        Err(ServeError::NotLoopback(a)) if a == everywhere
    ));
    let first = ServedChain::on_free_port(chain()).unwrap();
    let taken = ServedChain::start(chain(), first.addr());
    assert!(
        matches!(&taken, Err(ServeError::Listen { addr, .. }) if *addr == first.addr()),
        "{taken:?}"
    );
    // Stopped, it stops answering.
    let addr = first.addr();
    first.stop();
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}
