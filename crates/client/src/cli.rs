//! The flags and the output that tandem's commands share: who signs, where the layers are, where a
//! node listens and keeps its data, durations in seconds, and how a result or a start-up summary
//! is printed (JSON for scripts, text for people).
use crate::started::Started;
use indicatif::{ProgressBar, ProgressStyle};
use std::{
    net::IpAddr,
    path::{Path, PathBuf},
    time::Duration,
};
use tandem_primitives::dev::{self, DevAccount};

/// A flag that names no key, or a key that is not one. The message never repeats the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FlagError(pub String);

/// A node's data directory: the given one, or a temporary one removed when this is dropped.
pub struct DataDir {
    pub path: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl DataDir {
    pub fn new(given: Option<&Path>, prefix: &str) -> std::io::Result<Self> {
        Ok(match given {
            Some(dir) => Self {
                path: dir.to_path_buf(),
                _temp: None,
            },
            None => {
                let temp = tempfile::Builder::new().prefix(prefix).tempdir()?;
                Self {
                    path: temp.path().to_path_buf(),
                    _temp: Some(temp),
                }
            }
        })
    }
}

/// Who signs: the flags every signing command shares. A command names the environment variable
/// `--private-key` reads (`mut_arg`), TANDEM_PRIVATE_KEY unless it says otherwise.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    /// The signer's private key (hex).
    #[arg(
        long,
        env = "TANDEM_PRIVATE_KEY",
        value_name = "HEX",
        hide_env_values = true
    )]
    private_key: Option<String>,
    /// Dev account N of the standard dev mnemonic instead (dev chains only).
    #[arg(long, value_name = "N", conflicts_with = "private_key")]
    mnemonic_index: Option<usize>,
}

impl KeyArgs {
    /// The signer, else dev account `fallback`.
    pub fn key(&self, fallback: Option<usize>) -> Result<DevAccount, FlagError> {
        let (hex, index) = (self.private_key.as_deref(), self.mnemonic_index);
        key("--private-key", hex, index, fallback)
    }

    pub fn given(&self) -> bool {
        self.private_key.is_some() || self.mnemonic_index.is_some()
    }
}

/// The signer from a key flag (`flag` names it) or `--mnemonic-index`, else dev account
/// `fallback`. Errors never repeat the key.
pub fn key(
    flag: &str,
    hex: Option<&str>,
    index: Option<usize>,
    fallback: Option<usize>,
) -> Result<DevAccount, FlagError> {
    let refused = match dev::signer(hex, index, fallback) {
        Some(Ok(key)) => return Ok(key),
        Some(Err(e @ dev::KeyError::NoDevAccount(_))) => format!("--mnemonic-index: {e}"),
        Some(Err(e)) => format!("{flag}: {e}"),
        None => format!("give {flag} (or --mnemonic-index N on a dev chain)"),
    };
    Err(FlagError(refused))
}

/// Where the layers are: the flags the commands that talk to both share.
#[derive(Debug, clap::Args)]
pub struct Layers {
    /// L1's JSON-RPC URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8545")]
    pub l1_rpc: String,
    /// An L2 node's JSON-RPC URL (sequencer or verifier).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9545")]
    pub l2_rpc: String,
}

/// Where a node listens and keeps its data: the flags every node command shares.
#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// JSON-RPC listen address.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Keep the chain in this directory across restarts (a fresh temporary directory otherwise).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print the start-up summary as one JSON object on stdout, for scripts.
    #[arg(long)]
    pub json: bool,
}

/// Prints `result` as one line of JSON, for scripts, or as text for people.
pub fn report(
    json: bool,
    result: &(impl serde::Serialize + std::fmt::Display),
) -> serde_json::Result<()> {
    match json {
        true => println!("{}", serde_json::to_string(result)?),
        false => print!("{result}"),
    }
    Ok(())
}

/// A spinner on a terminal, unless the output is JSON.
pub fn spinner(json: bool, message: String) -> ProgressBar {
    if json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    let style = ProgressStyle::with_template("{spinner} {msg} ({elapsed})");
    bar.set_style(style.expect("a valid template"));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.set_message(message);
    bar
}

/// A positive number of seconds, for clap.
pub fn positive_seconds(text: &str) -> Result<Duration, String> {
    match seconds(text)? {
        d if d.is_zero() => Err("must be more than zero seconds".into()),
        d => Ok(d),
    }
}

/// A number of seconds (fractions allowed, zero too), for clap.
pub fn seconds(text: &str) -> Result<Duration, String> {
    let s: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(s).map_err(|_| format!("{text:?} is not a number of seconds"))
}

/// Prints what a command started: one JSON line with `--json`, else `title` and the summary.
pub fn announce(json: bool, started: &Started, title: &str) {
    match json {
        true => println!("{}", serde_json::to_value(started).unwrap_or_default()),
        false => print!("{title}\n\n{started}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_take_fractions_and_refuse_the_rest() {
        assert_eq!(positive_seconds("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(seconds("0"), Ok(Duration::ZERO));
        for bad in ["0", "-1", "nan", "inf", "soon"] {
            assert!(positive_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_errors_name_the_flag_and_never_repeat_the_key() {
        let hex = dev::accounts()[4].secret_hex();
        let typo = format!("{}g", &hex[..hex.len() - 1]);
        let refused = key("--batcher-key", Some(&typo), None, None)
            .unwrap_err()
            .to_string();
        assert!(refused.starts_with("--batcher-key") && !refused.contains(&hex[2..10]));
        let refused = key("--batcher-key", None, Some(10), None)
            .unwrap_err()
            .to_string();
        assert!(refused.starts_with("--mnemonic-index"), "{refused}");
        assert!(key("--batcher-key", None, None, None).is_err());
    }
}
