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
    0xac, 0x09, 0x74, 0xbe, 0xc3, 0x9a, 0x17, 0xe3, 0x6b, 0xa4, 0xa6, 0xb4, 0xd2, 0x38, 0xff,
    0x94, 0x4b, 0xac, 0xb4, 0x78, 0xcb, 0xed, 0x5e, 0xfc, 0xae, 0x78, 0x4d, 0x7b, 0xf4, 0xf2,
    0xff, 0x80,
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
    #[error("anvil: {0}")]
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
        if !bin.is_file() {
            return Err(DevnetError::NotInstalled(bin.display().to_string()));
        }
        let mut child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", "0"])
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

    /// One JSON-RPC request over a bare HTTP/1.1 connection (for anvil's
    /// own methods); its `result`.
    pub fn request(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, DevnetError> {
        let fail = |m: String| DevnetError::Request(format!("{method}: {m}"));
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2))
            .map_err(|e| fail(e.to_string()))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| fail(e.to_string()))?;
        let body =
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
                .to_string();
        write!(
            stream,
            "POST / HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            self.addr,
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
        let json: serde_json::Value =
            serde_json::from_str(body).map_err(|e| fail(e.to_string()))?;
        if let Some(e) = json.get("error") {
            return Err(fail(e.to_string()));
        }
        Ok(json
            .get("result")
            .cloned()
            .unwrap_or(serde_json::Value::Null))
    }

    /// Sets `who`'s balance (`anvil_setBalance`).
    pub fn set_balance(&self, who: Address, wei: u128) -> Result<(), DevnetError> {
        self.request(
            "anvil_setBalance",
            serde_json::json!([who.to_string(), format!("{wei:#x}")]),
        )
        .map(drop)
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
