//! What a tandem command prints once it has started: one JSON line with `--json` (scripts, the
//! bench and the end-to-end tests read it), or the same facts as lines for people.
use alloy_primitives::Address;
use serde::{Deserialize, Serialize};
use std::{fmt, net::SocketAddr, path::PathBuf};
use tandem_primitives::{
    dev::{self, DevAccount},
    system,
};

/// Where a node serves JSON-RPC, over HTTP and WebSocket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub rpc: String,
    pub ws: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<u64>,
}

impl Endpoint {
    pub fn at(addr: SocketAddr) -> Self {
        let (rpc, ws) = (format!("http://{addr}"), format!("ws://{addr}"));
        Self {
            rpc,
            ws,
            chain_id: None,
        }
    }
}

/// A dev account with its key (dev modes only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub address: Address,
    pub private_key: String,
}

/// The settlement contracts and rules of a devnet's L2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settlement {
    pub portal: Address,
    pub output_oracle: Address,
    pub batch_inbox: Address,
    pub l2_to_l1_message_passer: Address,
    pub dispute_game: Address,
    /// Seconds of L1 time until an output is final.
    pub challenge_window: u64,
    /// L2 blocks between outputs.
    pub output_interval: u64,
    pub proposer: Address,
    pub challenger: Address,
}

impl Settlement {
    /// The system contracts with these rules, and the dev accounts that propose and challenge.
    pub fn dev(challenge_window: u64, output_interval: u64) -> Self {
        use tandem_primitives::dev::{DEV_CHALLENGER, DEV_PROPOSER, accounts};
        Self {
            portal: system::PORTAL,
            output_oracle: system::OUTPUT_ORACLE,
            batch_inbox: system::BATCH_INBOX,
            l2_to_l1_message_passer: system::L2_TO_L1_MESSAGE_PASSER,
            dispute_game: system::DISPUTE_GAME,
            challenge_window,
            output_interval,
            proposer: accounts()[DEV_PROPOSER].address,
            challenger: accounts()[DEV_CHALLENGER].address,
        }
    }
}

/// What a started node (or a whole devnet) reports. Fields a command does not have stay out of
/// its JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// The L1 node (or the L2 node, for an L2 role).
    #[serde(flatten)]
    pub endpoint: Endpoint,
    pub chain_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// The dev accounts it funds and signs for, with their keys (dev modes only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<Account>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mnemonic: Option<String>,
    /// `sequencer`, `verifier` or `challenger` for an L2 node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The L1 an L2 node reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l1_rpc: Option<String>,
    /// A validator's public key (`tandem node`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<String>,
    /// How many validators a devnet runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validators: Option<u16>,
    /// A devnet's L2 sequencer and verifier, and its settlement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l2: Option<Endpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l2_verifier: Option<Endpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<Settlement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explorer: Option<String>,
    /// Lines for people only (block time, mining, ...), after the accounts.
    #[serde(skip)]
    pub details: Vec<String>,
}

impl Started {
    /// A node at `rpc` on chain `chain_id`, nothing else known yet.
    pub fn node(rpc: SocketAddr, chain_id: u64) -> Self {
        Self {
            endpoint: Endpoint::at(rpc),
            chain_id,
            ..Self::default()
        }
    }

    /// With these dev accounts and their keys listed.
    pub fn with_accounts(mut self, accounts: &[DevAccount]) -> Self {
        let list = accounts.iter().map(|a| Account {
            address: a.address,
            private_key: a.secret_hex(),
        });
        self.accounts = list.collect();
        self
    }
}

/// The lines every start-up banner ends with: the dev accounts with their keys when it runs on
/// the dev mnemonic (as anvil lists them), the chain, the data directory and the endpoints.
impl fmt::Display for Started {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(mnemonic) = &self.mnemonic {
            writeln!(f, "Available Accounts\n==================")?;
            for (i, a) in self.accounts.iter().enumerate() {
                writeln!(f, "({i}) {} ({} ETH)", a.address, dev::DEV_BALANCE_ETH)?;
            }
            writeln!(f, "\nPrivate Keys\n==================")?;
            for (i, a) in self.accounts.iter().enumerate() {
                writeln!(f, "({i}) {}", a.private_key)?;
            }
            writeln!(
                f,
                "\nWallet\n==================\nMnemonic:          {mnemonic}"
            )?;
            writeln!(f, "Derivation path:   m/44'/60'/0'/0/\n")?;
        }
        for line in &self.details {
            writeln!(f, "{line}")?;
        }
        writeln!(f, "Chain ID:          {}", self.chain_id)?;
        if let Some(dir) = &self.data_dir {
            writeln!(f, "Data directory:    {}", dir.display())?;
        }
        let (rpc, ws) = (&self.endpoint.rpc, &self.endpoint.ws);
        writeln!(f, "\nListening on {rpc} and {ws}")?;
        if let Some(l2) = &self.l2 {
            let chain = l2.chain_id.unwrap_or_default();
            writeln!(
                f,
                "L2 (chain {chain}) sequencer on {} and {}",
                l2.rpc, l2.ws
            )?;
        }
        if let Some(verifier) = &self.l2_verifier {
            writeln!(f, "L2 verifier (from L1 data alone) on {}", verifier.rpc)?;
        }
        if let Some(explorer) = &self.explorer {
            writeln!(f, "Explorer:          {explorer}")?;
        }
        if let Some(b) = &self.bridge {
            let (window, interval) = (b.challenge_window, b.output_interval);
            writeln!(
                f,
                "Bridge:            Portal {} and OutputOracle {} on L1; an output every {interval} L2 blocks, final after {window} s",
                b.portal, b.output_oracle
            )?;
            writeln!(
                f,
                "Fault proofs:      a challenger ({}) removes wrong outputs through the DisputeGame {}",
                b.challenger, b.dispute_game
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_reads_back_and_leaves_out_what_a_command_lacks() {
        let rpc: SocketAddr = "127.0.0.1:8545".parse().unwrap();
        let mut started =
            Started::node(rpc, 900).with_accounts(&tandem_primitives::dev::accounts()[..1]);
        started.l2 = Some(Endpoint {
            chain_id: Some(901),
            ..Endpoint::at(rpc)
        });
        started.bridge = Some(Settlement::dev(60, 20));
        let json = serde_json::to_value(&started).unwrap();
        assert_eq!(json["rpc"], "http://127.0.0.1:8545");
        assert_eq!(json["ws"], "ws://127.0.0.1:8545");
        assert_eq!(json["l2"]["chainId"], 901);
        assert_eq!(json["bridge"]["challengeWindow"], 60);
        assert_eq!(
            json["accounts"][0]["privateKey"],
            tandem_primitives::dev::accounts()[0].secret_hex()
        );
        assert!(json.get("role").is_none() && json.get("l2Verifier").is_none());
        assert_eq!(serde_json::from_value::<Started>(json).unwrap(), started);
    }
}
