//! A devnet (and a `tandem dev` node) in its own process, for `tandem bench compare` when no nodes
//! are given.
use std::{path::Path, time::Duration};

/// Why the devnet did not start.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("starting a devnet: {0}")]
    Start(#[from] std::io::Error),
    #[error("the devnet: {0}")]
    Output(String),
}

/// A `tandem devnet` or `tandem dev` process, stopped (SIGINT, then SIGKILL) when dropped.
pub struct Devnet {
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            // SIGINT: a clean shutdown.
            let _ = std::process::Command::new("kill")
                .arg("-INT")
                .arg(self.child.id().to_string())
                .status();
            for _ in 0..100 {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tandem devnet` from the binary `tandem` on free ports and a temporary directory; returns
/// it with its L1 and L2 JSON-RPC URLs, read from its start-up line.
pub fn spawn(tandem: &Path) -> Result<(Devnet, String, String), SpawnError> {
    let p2p = 20_000 + (std::process::id() % 20_000) as u16;
    let args = [
        "devnet",
        "--port",
        "0",
        "--l2-port",
        "0",
        "--verifier-port",
        "0",
        "--p2p-port",
        &p2p.to_string(),
    ];
    let (devnet, started) = start(tandem, &args)?;
    let l2 = started
        .l2
        .ok_or_else(|| SpawnError::Output("no L2 RPC".into()))?
        .rpc;
    Ok((devnet, started.endpoint.rpc, l2))
}

/// Starts `tandem dev` on a free port, mining on each transaction or every `block_time` seconds
/// (as `anvil --block-time` does); returns it with its JSON-RPC URL.
pub fn spawn_dev(tandem: &Path, block_time: Option<f64>) -> Result<(Devnet, String), SpawnError> {
    let every = block_time.map(|s| s.to_string());
    let mut args = vec!["dev", "--port", "0"];
    if let Some(every) = &every {
        args.extend(["--block-time", every.as_str()]);
    }
    let (dev, started) = start(tandem, &args)?;
    Ok((dev, started.endpoint.rpc))
}

/// Runs `tandem ARGS --json --log warn --data-dir TMP` and reads its start-up line.
fn start(
    tandem: &Path,
    args: &[&str],
) -> Result<(Devnet, tandem_client::started::Started), SpawnError> {
    use std::io::BufRead;
    let dir = tempfile::Builder::new().prefix("tandem-bench-").tempdir()?;
    let mut child = std::process::Command::new(tandem)
        .args(args)
        .args(["--json", "--log", "warn", "--data-dir"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| SpawnError::Output("no output".into()))?;
    let process = Devnet { child, _dir: dir };
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let started = serde_json::from_str(&line)
        .map_err(|e| SpawnError::Output(format!("its start-up line {line:?}: {e}")))?;
    Ok((process, started))
}
