//! What tandem's nodes answer, as both the server that builds it and the clients that read it
//! see it: the Ethereum shapes tandem serves, and the answers of tandem's own methods.
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rpc_types_eth::{Block, Log, Transaction, TransactionReceipt};
use alloy_serde::WithOtherFields;
use serde::{Deserialize, Serialize};
use tandem_primitives::{ReceiptEnvelope, TxEnvelope, abi::IPortal};

/// A transaction as served. A deposit (0x7E) carries OP Stack's fields (`sourceHash`, `mint`,
/// `isSystemTx`) and a zero signature (`v`, `r`, `s` = 0x0), as op-geth serves it.
pub type RpcTransaction = WithOtherFields<Transaction<TxEnvelope>>;
/// A block as served.
pub type RpcBlock = Block<RpcTransaction>;
/// A receipt as served; on L2 its other fields carry the L1 data fee (`l1Fee`, `l1GasUsed`, ...).
pub type RpcReceipt = WithOtherFields<TransactionReceipt<ReceiptEnvelope<Log>>>;

/// An L2 block's output root and its preimage (`tandem_outputAtBlock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub block_number: u64,
    pub version: B256,
    pub state_root: B256,
    pub message_passer_storage_root: B256,
    pub block_hash: B256,
    pub output_root: B256,
}

/// What a proposer posts for L2 blocks `first..=last` (`tandem_outputProposal`): the last
/// block's output and the Merkle root of every block's output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    #[serde(flatten)]
    pub output: Output,
    pub first_block: u64,
    pub blocks_root: B256,
    /// The output root of every block `first_block..=` the output's.
    pub block_roots: Vec<B256>,
}

/// One output as OutputOracle holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostedOutput {
    pub index: u64,
    pub output_root: B256,
    pub l2_block_number: u64,
    pub timestamp: u64,
    pub final_at: u64,
    pub proposer: Address,
}

/// Where a withdrawal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Recorded on L2; no output covers it yet.
    Initiated,
    /// An output covers it; its challenge window is running.
    InOutput,
    /// The covering output is final: it can be paid out on L1.
    Finalizable,
    /// Paid out on L1.
    Finalized,
}

/// One withdrawal a transaction initiated, with its stage (`tandem_withdrawalStatus`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalStatus {
    pub transaction_hash: B256,
    pub l2_block: u64,
    pub withdrawal_hash: B256,
    pub nonce: U256,
    pub sender: Address,
    pub target: Address,
    pub value: U256,
    pub gas_limit: U256,
    pub stage: Stage,
    /// The first output covering it.
    pub output: Option<PostedOutput>,
    /// When its challenge window ends (L1 timestamp, seconds).
    pub challenge_window_ends_at: Option<u64>,
}

impl WithdrawalStatus {
    /// One line for people: the amount, the target and the stage, with the time left in the
    /// challenge window as of `now` (unix seconds).
    pub fn describe(&self, now: u64) -> String {
        let stage = match self.stage {
            Stage::Initiated => "initiated: waiting for an output root that covers it".to_string(),
            Stage::InOutput => {
                let ends = self.challenge_window_ends_at.unwrap_or_default();
                format!(
                    "in output {}: challenge window ends at {ends} (in {} s)",
                    self.output.map(|o| o.index).unwrap_or_default(),
                    ends.saturating_sub(now)
                )
            }
            Stage::Finalizable => "finalizable: the output is final".into(),
            Stage::Finalized => "finalized: paid out on L1".into(),
        };
        let value = alloy_primitives::utils::format_ether(self.value);
        format!(
            "{value} ETH to {} ({}): {stage}",
            self.target, self.withdrawal_hash
        )
    }
}

/// Everything `Portal.finalizeWithdrawal` takes, for one withdrawal (`tandem_withdrawalProof`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalProof {
    pub withdrawal: WithdrawalArgs,
    pub output_index: u64,
    pub output_root_proof: Output,
    pub withdrawal_proof: Vec<Bytes>,
}

/// The withdrawal tuple as the Portal's ABI takes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalArgs {
    pub nonce: U256,
    pub sender: Address,
    pub target: Address,
    pub value: U256,
    pub gas_limit: U256,
    pub data: Bytes,
}

impl WithdrawalProof {
    /// Whether this withdrawal is a message from the L2 messenger to the L1 messenger, which the
    /// L1 messenger relays (the Portal pays a withdrawal with data only to its target's call).
    pub fn is_message(&self) -> bool {
        self.withdrawal.sender == tandem_primitives::system::L2_MESSENGER
            && self.withdrawal.target == tandem_primitives::system::L1_MESSENGER
    }

    /// The L1 transaction that completes this withdrawal: `L1CrossDomainMessenger.relayMessageWithProof`
    /// for a message, `Portal.finalizeWithdrawal` for anything else. Both take the same arguments.
    pub fn call(&self) -> (Address, Bytes) {
        use alloy_sol_types::SolCall;
        let calldata = self.calldata();
        if !self.is_message() {
            return (tandem_primitives::system::PORTAL, calldata);
        }
        let selector =
            tandem_primitives::abi::IL1CrossDomainMessenger::relayMessageWithProofCall::SELECTOR;
        let mut relay = selector.to_vec();
        relay.extend_from_slice(&calldata[4..]);
        (tandem_primitives::system::L1_MESSENGER, relay.into())
    }

    /// The calldata of `Portal.finalizeWithdrawal` with this proof.
    pub fn calldata(&self) -> Bytes {
        use alloy_sol_types::SolCall;
        let w = &self.withdrawal;
        let o = &self.output_root_proof;
        IPortal::finalizeWithdrawalCall {
            withdrawal: IPortal::Withdrawal {
                nonce: w.nonce,
                sender: w.sender,
                target: w.target,
                value: w.value,
                gasLimit: w.gas_limit,
                data: w.data.clone(),
            },
            outputIndex: U256::from(self.output_index),
            outputRootProof: IPortal::OutputRootProof {
                version: o.version,
                stateRoot: o.state_root,
                messagePasserStorageRoot: o.message_passer_storage_root,
                blockHash: o.block_hash,
            },
            withdrawalProof: self.withdrawal_proof.clone(),
        }
        .abi_encode()
        .into()
    }
}

/// A batch the batcher posted and L1 included.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostedBatch {
    pub sequence: u64,
    pub first_block: u64,
    pub last_block: u64,
    pub transactions: usize,
    pub bytes: usize,
    pub l1_block: u64,
    pub l1_transaction: B256,
}

/// What the batcher reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatcherStatus {
    /// The last L2 block in a batch L1 has included.
    pub posted_block: u64,
    /// Sealed L2 blocks not yet posted, and their size as the next batch.
    pub pending_blocks: u64,
    pub pending_batch_bytes: usize,
    pub last_batch: Option<PostedBatch>,
    pub last_error: Option<String>,
}

/// What a verifier's derivation reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DerivationStatus {
    /// The next L1 block to read.
    pub l1_cursor: u64,
    /// The newest finalized L1 block seen.
    pub l1_finalized: u64,
    pub batches_applied: u64,
    pub batches_skipped: u64,
    pub last_skip: Option<String>,
    pub last_error: Option<String>,
}

/// What the challenger reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengerStatus {
    /// Outputs found right, and challenges sent and won.
    pub agreed: u64,
    pub challenged: u64,
    pub won: u64,
    /// The last challenge: output index, L2 block and L1 transaction.
    pub last_challenge: Option<(u64, u64, B256)>,
    pub last_error: Option<String>,
}

/// What the proposer reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposerStatus {
    pub proposed: u64,
    pub last_l2_block: Option<u64>,
    pub last_error: Option<String>,
}

/// One of an L2 node's heads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Head {
    pub number: u64,
    pub hash: Option<B256>,
    /// The L1 block it derives from.
    pub l1_origin: Option<u64>,
}

/// What `tandem_rollupStatus` answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollupStatus {
    /// "sequencer" or "verifier".
    pub role: String,
    pub chain_id: u64,
    pub l1_rpc: String,
    #[serde(rename = "unsafe")]
    pub unsafe_head: Head,
    pub safe: Head,
    pub finalized: Head,
    /// Transactions preconfirmed in the open block.
    pub preconfirmed: usize,
    pub batcher: Option<BatcherStatus>,
    pub derivation: Option<DerivationStatus>,
    pub challenger: Option<ChallengerStatus>,
}

/// The status as `tandem l2 status` prints it.
impl std::fmt::Display for RollupStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let head = |h: &Head| {
            format!(
                "{:>8}  {}  (L1 origin {})",
                h.number,
                h.hash.map(|h| h.to_string()).unwrap_or("-".into()),
                h.l1_origin.map(|o| o.to_string()).unwrap_or("null".into())
            )
        };
        writeln!(
            f,
            "L2 {} on chain {} (L1 {})",
            self.role, self.chain_id, self.l1_rpc
        )?;
        writeln!(f, "unsafe     {}", head(&self.unsafe_head))?;
        writeln!(f, "safe       {}", head(&self.safe))?;
        writeln!(f, "finalized  {}", head(&self.finalized))?;
        if let Some(b) = &self.batcher {
            writeln!(
                f,
                "pending    {} blocks, {} bytes as the next batch",
                b.pending_blocks, b.pending_batch_bytes
            )?;
            match &b.last_batch {
                Some(last) => writeln!(
                    f,
                    "last batch #{}: L2 blocks {}..={}, {} txs, {} bytes, in L1 block {} ({})",
                    last.sequence,
                    last.first_block,
                    last.last_block,
                    last.transactions,
                    last.bytes,
                    last.l1_block,
                    last.l1_transaction
                ),
                None => writeln!(f, "last batch none posted since start"),
            }?;
            if let Some(e) = &b.last_error {
                writeln!(f, "error      {e}")?;
            }
        }
        if let Some(c) = &self.challenger {
            writeln!(
                f,
                "challenger {} outputs found right, {} challenged, {} won",
                c.agreed, c.challenged, c.won
            )?;
            if let Some(e) = &c.last_error {
                writeln!(f, "error      {e}")?;
            }
        }
        if let Some(d) = &self.derivation {
            writeln!(
                f,
                "derivation L1 cursor {} of finalized {}, {} batches applied, {} skipped",
                d.l1_cursor, d.l1_finalized, d.batches_applied, d.batches_skipped
            )?;
            if let Some(skip) = &d.last_skip {
                writeln!(f, "last skip  {skip}")?;
            }
        }
        Ok(())
    }
}
