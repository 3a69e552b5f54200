//! A local development chain: anvil, started and stopped by this process.
//!
//! The tests of the JSON-RPC anchor chain and of nodes talking over the
//! network need a real EVM node both sides share; this starts the anvil the
//! repository installs (`npm ci --prefix tools/evm`) on 127.0.0.1 and a
//! port anvil picks itself, and kills it when the handle is dropped.

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use thiserror::Error;

use crate::state::{Address, SigningKey};

/// Anvil's first development account's key (from its default mnemonic;
/// public knowledge, funded with 10 000 ether on every anvil).
pub const DEV_KEY: [u8; 32] = [
    0xac, 0x09, 0x74, 0xbe, 0xc3, 0x9a, 0x17, 0xe3, 0x6b, 0xa4, 0xa6, 0xb4, 0xd2, 0x38, 0xff, 0x94,
    0x4b, 0xac, 0xb4, 0x78, 0xcb, 0xed, 0x5e, 0xfc, 0xae, 0x78, 0x4d, 0x7b, 0xf4, 0xf2, 0xff, 0x80,
];

/// Anvil's first development account.
pub fn dev_key() -> Option<SigningKey> {
    SigningKey::from_bytes(&DEV_KEY)
}

/// Why anvil could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DevnetError {
    /// The binary is not installed.
    #[error("anvil is not installed at {0}: run `npm ci --prefix tools/evm`")]
    NotInstalled(String),
    /// It did not start, or did not say where it listens.
    #[error("anvil did not start: {0}")]
    Start(String),
    /// A request failed or was refused.
    #[error("JSON-RPC: {0}")]
    Request(String),
}

/// Where `npm ci --prefix tools/evm` puts anvil, under the repository at
/// `root`.
pub fn anvil_in(root: &Path) -> PathBuf {
    root.join("tools/evm/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
}

/// A running anvil, killed (by its PID) when dropped.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its JSON-RPC URL.
    pub url: String,
}

impl Anvil {
    /// Starts the anvil binary at `bin` on 127.0.0.1 and a port it picks
    /// itself (`--port 0`: free by construction), read from its
    /// "Listening on" line.
    pub fn start(bin: &Path) -> Result<Anvil, DevnetError> {
        Anvil::start_with(bin, &[])
    }

    /// As [`Anvil::start`], with more of anvil's arguments (`--chain-id
    /// 31338` for a second chain).
    pub fn start_with(bin: &Path, extra: &[&str]) -> Result<Anvil, DevnetError> {
        if !bin.is_file() {
            return Err(DevnetError::NotInstalled(bin.display().to_string()));
        }
        let mut child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| DevnetError::Start(e.to_string()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| DevnetError::Start("no stdout".into()))?;
        // From here on the guard kills anvil, whatever happens.
        let mut anvil = Anvil {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            url: String::new(),
        };
        // Anvil logs every request to stdout: keep draining it after the
        // address, so that it never blocks on a full pipe.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(addr) = line.strip_prefix("Listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let listening = rx
            .recv_timeout(Duration::from_secs(20))
            .map_err(|_| DevnetError::Start(format!("{:?}", anvil.child.try_wait())))?;
        anvil.addr = listening
            .parse()
            .map_err(|_| DevnetError::Start(format!("it listens on `{listening}`")))?;
        anvil.url = format!("http://{}", anvil.addr);
        let answer = anvil.request("web3_clientVersion", serde_json::json!([]))?;
        if !answer
            .as_str()
            .is_some_and(|v| v.to_ascii_lowercase().contains("anvil"))
        {
            return Err(DevnetError::Start(format!(
                "{} answers as {answer}",
                anvil.url
            )));
        }
        Ok(anvil)
    }

    /// One JSON-RPC request ([`request`]).
    pub fn request(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, DevnetError> {
        request(self.addr, method, params)
    }

    /// Sets `who`'s balance ([`set_balance`]).
    pub fn set_balance(&self, who: Address, wei: u128) -> Result<(), DevnetError> {
        set_balance(self.addr, who, wei)
    }
}

/// One JSON-RPC request to the node at `addr` over a bare HTTP/1.1
/// connection (anvil, or a served embedded chain); its `result`, or its
/// error as [`DevnetError::Request`].
pub fn request(
    addr: SocketAddr,
    method: &str,
    params: serde_json::Value,
) -> Result<serde_json::Value, DevnetError> {
    let json = exchange(addr, method, params)?;
    if let Some(e) = json.get("error") {
        return Err(DevnetError::Request(format!("{method}: {e}")));
    }
    Ok(json
        .get("result")
        .cloned()
        .unwrap_or(serde_json::Value::Null))
}

/// One JSON-RPC request to the node at `addr`; the whole answer object
/// (`result` or `error`), for tests of refusals.
pub fn exchange(
    addr: SocketAddr,
    method: &str,
    params: serde_json::Value,
) -> Result<serde_json::Value, DevnetError> {
    let fail = |m: String| DevnetError::Request(format!("{method}: {m}"));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| fail(e.to_string()))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| fail(e.to_string()))?;
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        .to_string();
    write!(
        stream,
        "POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| fail(e.to_string()))?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| fail(e.to_string()))?;
    let (_, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| fail("no HTTP body".into()))?;
    serde_json::from_str(body).map_err(|e| fail(e.to_string()))
}

/// Sets `who`'s balance on the development node at `addr`
/// (`anvil_setBalance`, which anvil and `sotto chain serve` answer).
pub fn set_balance(addr: SocketAddr, who: Address, wei: u128) -> Result<(), DevnetError> {
    request(
        addr,
        "anvil_setBalance",
        serde_json::json!([who.to_string(), format!("{wei:#x}")]),
    )
    .map(drop)
}

/// The socket address of a plain `http://HOST:PORT[/...]` URL.
pub fn http_addr(url: &str) -> Result<SocketAddr, DevnetError> {
    use std::net::ToSocketAddrs as _;
    let bad = || DevnetError::Request(format!("{url}: not an http://HOST:PORT URL"));
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let host = rest.split('/').next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    let with_port = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:80")
    };
    with_port
        .to_socket_addrs()
        .map_err(|e| DevnetError::Request(format!("{url}: {e}")))?
        .next()
        .ok_or_else(bad)
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `sotto node` process, killed (by its PID) when dropped.
#[derive(Debug)]
pub struct NodeProcess {
    child: Child,
    /// Its data directory.
    pub dir: PathBuf,
    /// What it printed when it was ready ([`crate::node::NodeInfo`]).
    pub info: serde_json::Value,
    /// Its log lines so far (stderr), if kept.
    pub logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl NodeProcess {
    /// Starts `sotto node` (the binary at `sotto`) in `dir`, listening on
    /// `listen`, on the JSON-RPC chain at `chain` with its adjudicator at
    /// `adjudicator`, with `extra` arguments; waits for its ready line.
    /// `echo`: copy its logs to this process's stderr, prefixed with the
    /// directory's name.
    pub fn start(
        sotto: &Path,
        dir: &Path,
        listen: &str,
        chain: &str,
        adjudicator: &str,
        extra: &[&str],
        echo: bool,
    ) -> Result<NodeProcess, DevnetError> {
        NodeProcess::spawn(sotto, dir, listen, chain, adjudicator, extra, echo, false)
    }

    /// [`NodeProcess::start`], the node tied to the calling thread: the
    /// kernel sends it SIGTERM when the thread ends, however it ends (a
    /// signal included), so no node outlives the program that started it.
    pub fn start_tied(
        sotto: &Path,
        dir: &Path,
        listen: &str,
        chain: &str,
        adjudicator: &str,
        extra: &[&str],
        echo: bool,
    ) -> Result<NodeProcess, DevnetError> {
        NodeProcess::spawn(sotto, dir, listen, chain, adjudicator, extra, echo, true)
    }

    #[allow(clippy::too_many_arguments, reason = "the two constructors' arguments")]
    fn spawn(
        sotto: &Path,
        dir: &Path,
        listen: &str,
        chain: &str,
        adjudicator: &str,
        extra: &[&str],
        echo: bool,
        tied: bool,
    ) -> Result<NodeProcess, DevnetError> {
        let mut command = Command::new(sotto);
        command
            .args(["node", "--node"])
            .arg(dir)
            .args([
                "--listen",
                listen,
                "--chain",
                chain,
                "--adjudicator",
                adjudicator,
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if tied {
            tie_to_parent(&mut command);
        }
        let mut child = command
            .spawn()
            .map_err(|e| DevnetError::Start(format!("{}: {e}", sotto.display())))?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            let _ = child.kill();
            return Err(DevnetError::Start("no stdout or stderr".into()));
        };
        let name = dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = logs.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if echo {
                    eprintln!("[{name}] {line}");
                }
                if let Ok(mut l) = kept.lock() {
                    l.push(line);
                }
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let mut node = NodeProcess {
            child,
            dir: dir.to_path_buf(),
            info: serde_json::Value::Null,
            logs,
        };
        let line = rx.recv_timeout(Duration::from_secs(60)).map_err(|_| {
            let logs = node.logs.lock().map(|l| l.join("\n")).unwrap_or_default();
            DevnetError::Start(format!("the node did not start: {logs}"))
        })?;
        node.info = serde_json::from_str(&line)
            .map_err(|e| DevnetError::Start(format!("its ready line `{line}`: {e}")))?;
        Ok(node)
    }

    /// Its channel identity.
    pub fn address(&self) -> Option<Address> {
        self.info["address"].as_str()?.parse().ok()
    }

    /// `NODEID@HOST:PORT`.
    pub fn node(&self) -> String {
        self.info["node"].as_str().unwrap_or_default().to_owned()
    }

    /// A control request ([`crate::node::control`]).
    pub fn ask(
        &self,
        request: &serde_json::Value,
    ) -> Result<serde_json::Value, crate::node::control::ClientError> {
        crate::node::control::request(&self.dir, request, Duration::from_secs(600))
    }

    /// Kills it with SIGKILL and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Its resident memory, in bytes (`VmRSS` of /proc).
    pub fn rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Has the child of `command` receive SIGTERM when the thread that
/// spawns it ends (Linux's `PR_SET_PDEATHSIG`).
#[allow(
    unsafe_code,
    reason = "pre_exec runs between fork and exec; the closure only calls prctl, which is async-signal-safe"
)]
fn tie_to_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: the closure calls only `prctl`, async-signal-safe, and
    // touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Two nodes on one anvil: node A in this process (on a runtime of its
/// own), node B a `sotto node` child process that accepts every
/// invitation. What the network benchmarks measure between.
pub struct TwoNodes {
    /// The runtime node A runs on.
    pub runtime: tokio::runtime::Runtime,
    /// Node A.
    pub a: crate::node::Node,
    /// Node B.
    pub b: NodeProcess,
    b_address: Address,
    _anvil: Anvil,
    dir: PathBuf,
}

impl std::fmt::Debug for TwoNodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoNodes").finish_non_exhaustive()
    }
}

impl Drop for TwoNodes {
    fn drop(&mut self) {
        self.a.shutdown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How long [`TwoNodes`] waits for a channel to open or a call to be
/// signed.
const PAIR_WAIT: Duration = Duration::from_secs(300);

fn node_error(e: impl std::fmt::Display) -> DevnetError {
    DevnetError::Request(e.to_string())
}

impl TwoNodes {
    /// Starts anvil (from the repository at `root`), deploys the
    /// adjudicator, starts node B from the `sotto` binary and node A here,
    /// funds both and connects A to B.
    pub fn start(root: &Path, sotto: &Path) -> Result<TwoNodes, DevnetError> {
        use crate::node::{ChainChoice, Node, NodeConfig};
        let anvil = Anvil::start(&anvil_in(root))?;
        let deployer = crate::anchor::RpcChain::connect(
            &anvil.url,
            dev_key().ok_or_else(|| node_error("the development key"))?,
            0,
            None,
        )
        .map_err(node_error)?;
        let adjudicator = deployer.adjudicator();
        let dir = std::env::temp_dir().join(format!("sotto-two-nodes-{}", std::process::id()));
        let b = NodeProcess::start(
            sotto,
            &dir.join("b"),
            "127.0.0.1:0",
            &anvil.url,
            &adjudicator.to_string(),
            &["--auto-accept", "--poll-ms", "100", "--log", "error"],
            false,
        )?;
        let b_address = b.address().ok_or_else(|| node_error("node B's address"))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(node_error)?;
        let mut config = NodeConfig::new(dir.join("a"));
        config.chain = ChainChoice::Rpc {
            url: anvil.url.clone(),
            options: crate::anchor::RpcOptions {
                adjudicator: Some(adjudicator),
                ..Default::default()
            },
        };
        // Each poll reads every watched channel's events from anvil: not
        // so often that the chain competes with the channels for the cores.
        config.poll = Duration::from_millis(100);
        let a = runtime.block_on(Node::start(config)).map_err(node_error)?;
        let a_address: Address = a.info().address.parse().map_err(node_error)?;
        for who in [b_address, a_address] {
            anvil.set_balance(who, 1_000_000_000_000_000_000_000)?;
        }
        let peer = b.node().parse().map_err(node_error)?;
        runtime.block_on(a.connect(peer)).map_err(node_error)?;
        Ok(TwoNodes {
            runtime,
            a,
            b,
            b_address,
            _anvil: anvil,
            dir,
        })
    }

    /// Opens a channel of the contract `module` with B, A as party `me`
    /// with its private initial values; waits until it is funded.
    pub fn open(
        &self,
        module: &[u8],
        me: u32,
        deposits: Vec<u64>,
        private: std::collections::BTreeMap<u32, u64>,
    ) -> Result<[u8; 32], DevnetError> {
        let id = self
            .runtime
            .block_on(self.a.open(crate::node::OpenRequest {
                peers: vec![self.b_address],
                module: module.to_vec(),
                deposits,
                me,
                private,
                challenge_period: 3600,
            }))
            .map_err(node_error)?;
        self.runtime
            .block_on(self.a.wait_for(&id, PAIR_WAIT, |s| s.phase == "open"))
            .map_err(node_error)?;
        Ok(id)
    }

    /// Opens `count` payment-like channels of `module` with B at once (A
    /// party 0, no private value); waits until every one is funded.
    pub fn open_many(
        &self,
        module: &[u8],
        count: usize,
        deposits: &[u64],
    ) -> Result<Vec<[u8; 32]>, DevnetError> {
        self.runtime
            .block_on(async {
                let mut ids = Vec::with_capacity(count);
                for _ in 0..count {
                    ids.push(
                        self.a
                            .open(crate::node::OpenRequest {
                                peers: vec![self.b_address],
                                module: module.to_vec(),
                                deposits: deposits.to_vec(),
                                me: 0,
                                private: std::collections::BTreeMap::new(),
                                challenge_period: 3600,
                            })
                            .await?,
                    );
                }
                for id in &ids {
                    self.a
                        .wait_for(id, PAIR_WAIT, |s| s.phase == "open")
                        .await?;
                }
                Ok::<_, crate::node::NodeError>(ids)
            })
            .map_err(node_error)
    }

    /// Calls `function(args)` at A and waits until it is fully signed.
    pub fn call(
        &self,
        id: &[u8; 32],
        function: &str,
        args: Vec<sotto_contracts::abi::Value>,
    ) -> Result<(), DevnetError> {
        self.runtime
            .block_on(async {
                let before = self.a.status(id)?.version.unwrap_or(0);
                self.a.call(id, function, args).await?;
                self.a
                    .wait_for(id, PAIR_WAIT, |s| s.idle && s.version.unwrap_or(0) > before)
                    .await
            })
            .map(drop)
            .map_err(node_error)
    }

    /// Queues `count` `pay_bob(1)` calls (the payment contract) on each
    /// channel at once; returns the time until every one is fully signed.
    pub fn flood(&self, ids: &[[u8; 32]], count: u64) -> Result<Duration, DevnetError> {
        fn payments(s: &crate::node::ChannelStatus) -> u64 {
            s.public
                .get("payments")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        }
        self.runtime
            .block_on(async {
                let mut targets = Vec::new();
                for id in ids {
                    let s = self.a.status(id)?;
                    targets.push((payments(&s) + count, s.failures));
                }
                let started = std::time::Instant::now();
                for id in ids {
                    for _ in 0..count {
                        self.a
                            .call(id, "pay_bob", vec![sotto_contracts::abi::Value::U64(1)])
                            .await?;
                    }
                }
                for (id, (target, failures)) in ids.iter().zip(targets) {
                    // A call that failed never lands: stop at the failure.
                    let s = self
                        .a
                        .wait_for(id, PAIR_WAIT, |s| {
                            s.idle && (payments(s) >= target || s.failures > failures)
                        })
                        .await?;
                    if payments(&s) < target {
                        return Err(crate::node::NodeError::Request(format!(
                            "{} of the payments failed: {}",
                            target - payments(&s),
                            s.last_failure.unwrap_or_default()
                        )));
                    }
                }
                Ok::<_, crate::node::NodeError>(started.elapsed())
            })
            .map_err(node_error)
    }
}
