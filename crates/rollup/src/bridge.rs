//! Settlement between the layers, as the L2 node and its tools see it: output roots of L2 blocks,
//! the proposer that posts them to L1's OutputOracle, the finalized head that follows final
//! outputs, and where a withdrawal stands with the proof that pays it out on L1.
use crate::{
    Error, Result,
    l1::{L1Client, L1Error},
};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::SolEvent;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tandem_execution::system::{
    IL2ToL1MessagePasser, IOutputOracle, IPortal, message_passer::sent_message_slot,
};
use tandem_primitives::protocol::{OUTPUT_VERSION, Withdrawal, blocks_root, output_root};
use tandem_primitives::{
    dev::DevAccount,
    system::{L2_TO_L1_MESSAGE_PASSER, OUTPUT_ORACLE, PORTAL},
};
use tandem_storage::{Reader, Storage};
use tokio::sync::watch;

/// An L2 block's output root and its preimage.
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

/// The output of L2 block `number`; `None` if the block is unknown. Fails if its state was pruned.
pub fn output_at(reader: &Reader, number: u64) -> Result<Option<Output>> {
    let Some(block) = reader.block(number)? else {
        return Ok(None);
    };
    let state_root = block.header().state_root;
    let proof = tandem_state::prove(reader, state_root, L2_TO_L1_MESSAGE_PASSER, &[])
        .map_err(|e| Error::Corrupt(format!("state of L2 block {number}: {e}")))?;
    let storage_root = proof
        .account
        .map(|a| a.storage_root)
        .unwrap_or(alloy_trie::EMPTY_ROOT_HASH);
    Ok(Some(Output {
        block_number: number,
        version: OUTPUT_VERSION,
        state_root,
        message_passer_storage_root: storage_root,
        block_hash: block.hash,
        output_root: output_root(state_root, storage_root, block.hash),
    }))
}

/// What a proposer posts for L2 blocks `first..=last`: the last block's output and the Merkle
/// root of every block's output.
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

/// The proposal for blocks `first..=last`; `None` if L2 does not have them all.
pub fn proposal(reader: &Reader, first: u64, last: u64) -> Result<Option<Proposal>> {
    if first > last || last - first > 100_000 {
        return Err(Error::Config(format!(
            "no proposal spans blocks {first}..={last}"
        )));
    }
    let mut roots = Vec::with_capacity((last - first + 1) as usize);
    let mut output = None;
    for number in first..=last {
        let Some(o) = output_at(reader, number)? else {
            return Ok(None);
        };
        roots.push(o.output_root);
        output = Some(o);
    }
    Ok(output.map(|output| Proposal {
        output,
        first_block: first,
        blocks_root: blocks_root(&roots),
        block_roots: roots,
    }))
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

/// L1's OutputOracle, read over JSON-RPC.
#[derive(Debug, Clone)]
pub struct Oracle {
    l1: L1Client,
}

impl Oracle {
    pub fn new(l1: L1Client) -> Self {
        Self { l1 }
    }

    pub async fn count(&self) -> Result<u64> {
        Ok(self
            .l1
            .call_sol(OUTPUT_ORACLE, &IOutputOracle::outputCountCall {})
            .await?
            .saturating_to())
    }

    pub async fn finalized_count(&self) -> Result<u64> {
        Ok(self
            .l1
            .call_sol(OUTPUT_ORACLE, &IOutputOracle::finalizedCountCall {})
            .await?
            .saturating_to())
    }

    pub async fn window(&self) -> Result<u64> {
        Ok(self
            .l1
            .call_sol(OUTPUT_ORACLE, &IOutputOracle::challengeWindowCall {})
            .await?)
    }

    pub async fn interval(&self) -> Result<u64> {
        Ok(self
            .l1
            .call_sol(OUTPUT_ORACLE, &IOutputOracle::intervalCall {})
            .await?)
    }

    /// The output root the next output builds on: the newest output's, or the L2 genesis output
    /// (the DisputeGame's) before the first, with the L2 block it is for.
    pub async fn parent_of_next(&self) -> Result<(u64, B256)> {
        match self.count().await?.checked_sub(1) {
            Some(last) => {
                let o = self.output(last, 0).await?;
                Ok((o.l2_block_number, o.output_root))
            }
            None => Ok((
                0,
                self.l1
                    .call_sol(
                        tandem_primitives::system::DISPUTE_GAME,
                        &tandem_execution::system::IDisputeGame::genesisOutputRootCall {},
                    )
                    .await?,
            )),
        }
    }

    pub async fn output(&self, index: u64, window: u64) -> Result<PostedOutput> {
        let o = self
            .l1
            .call_sol(
                OUTPUT_ORACLE,
                &IOutputOracle::getOutputCall {
                    index: U256::from(index),
                },
            )
            .await?;
        Ok(PostedOutput {
            index,
            output_root: o.outputRoot,
            l2_block_number: o.l2BlockNumber,
            timestamp: o.timestamp,
            final_at: o.timestamp.saturating_add(window),
            proposer: o.proposer,
        })
    }

    /// The first output that covers L2 block `number`, if one was posted.
    pub async fn covering(&self, number: u64) -> Result<Option<PostedOutput>> {
        let (count, interval, window) = (
            self.count().await?,
            self.interval().await?,
            self.window().await?,
        );
        // Outputs are every `interval` blocks from block `interval` on.
        let index = number.max(1).div_ceil(interval.max(1)) - 1;
        if index >= count {
            return Ok(None);
        }
        Ok(Some(self.output(index, window).await?))
    }
}

/// Follows L1's final outputs and moves the node's finalized head to the newest one, once the
/// node's own output at that block matches it. A final output the node disagrees with is logged
/// and never followed.
pub async fn follow_finalized(
    storage: std::sync::Arc<Storage>,
    l1: L1Client,
    mut stop: watch::Receiver<bool>,
) {
    let oracle = Oracle::new(l1);
    let mut followed = 0u64;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let step = async {
            let finalized = oracle.finalized_count().await?;
            let Some(last) = finalized.checked_sub(1) else {
                return Ok::<_, Error>(());
            };
            let output = oracle.output(last, 0).await?;
            if output.l2_block_number <= followed {
                return Ok(());
            }
            let reader = storage.read()?;
            let Some(ours) = output_at(&reader, output.l2_block_number)? else {
                return Ok(()); // not derived that far yet
            };
            if ours.output_root != output.output_root {
                tracing::error!(target: "rollup::bridge", index = last, l2_block = output.l2_block_number, posted = %output.output_root, ours = %ours.output_root, "a final output disagrees with this node: not following it");
                return Ok(());
            }
            drop(reader);
            storage.set_finalized(output.l2_block_number)?;
            followed = output.l2_block_number;
            Ok(())
        };
        if let Err(e) = step.await {
            tracing::debug!(target: "rollup::bridge", error = %e, "cannot follow final outputs");
        }
    }
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

/// One withdrawal a transaction initiated, with its stage.
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

/// The withdrawals `tx_hash` initiated on L2 (empty if it initiated none); an error if L2 does
/// not have the transaction.
pub fn withdrawals_of(reader: &Reader, tx_hash: B256) -> Result<(u64, Vec<Withdrawal>)> {
    let Some(tandem_storage::TxLocation {
        block: number,
        index,
    }) = reader.tx_location(tx_hash)?
    else {
        return Err(Error::Config(format!("L2 has no transaction {tx_hash}")));
    };
    let receipts = reader
        .receipts(number)?
        .ok_or_else(|| Error::Corrupt(format!("receipts of L2 block {number} missing")))?;
    let receipt = receipts
        .get(index as usize)
        .ok_or_else(|| Error::Corrupt(format!("receipt {index} of L2 block {number} missing")))?;
    let withdrawals = receipt
        .logs()
        .iter()
        .filter(|log| log.address == L2_TO_L1_MESSAGE_PASSER)
        .filter_map(|log| IL2ToL1MessagePasser::MessagePassed::decode_log_data(&log.data).ok())
        .map(|event| Withdrawal::from_event(&event))
        .collect();
    Ok((number, withdrawals))
}

/// The stage of each withdrawal `tx_hash` initiated.
pub async fn withdrawal_status(
    storage: &Storage,
    l1: &L1Client,
    tx_hash: B256,
) -> Result<Vec<WithdrawalStatus>> {
    let (number, withdrawals) = withdrawals_of(&storage.read()?, tx_hash)?;
    let oracle = Oracle::new(l1.clone());
    let output = oracle.covering(number).await?;
    let finalized_count = oracle.finalized_count().await?;
    let mut out = Vec::with_capacity(withdrawals.len());
    for w in withdrawals {
        let hash = w.hash();
        let paid = l1
            .call_sol(
                PORTAL,
                &IPortal::finalizedWithdrawalsCall {
                    withdrawalHash: hash,
                },
            )
            .await?;
        let stage = match output {
            _ if paid => Stage::Finalized,
            Some(o) if o.index < finalized_count => Stage::Finalizable,
            Some(_) => Stage::InOutput,
            None => Stage::Initiated,
        };
        out.push(WithdrawalStatus {
            transaction_hash: tx_hash,
            l2_block: number,
            withdrawal_hash: hash,
            nonce: w.nonce,
            sender: w.sender,
            target: w.target,
            value: w.value,
            gas_limit: w.gas_limit,
            stage,
            output,
            challenge_window_ends_at: output.map(|o| o.final_at),
        });
    }
    Ok(out)
}

/// Everything `Portal.finalizeWithdrawal` takes, for one withdrawal.
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

/// The proofs of the withdrawals `tx_hash` initiated against output `output_index` (by default
/// the newest final output, whose block this node surely still has the state of).
pub async fn withdrawal_proofs(
    storage: &Storage,
    l1: &L1Client,
    tx_hash: B256,
    output_index: Option<u64>,
) -> Result<Vec<WithdrawalProof>> {
    let (number, withdrawals) = withdrawals_of(&storage.read()?, tx_hash)?;
    let oracle = Oracle::new(l1.clone());
    let index = match output_index {
        Some(index) => index,
        None => {
            let finalized = oracle.finalized_count().await?;
            finalized.checked_sub(1).ok_or_else(|| {
                Error::Config("no output is final yet: wait for the challenge window".into())
            })?
        }
    };
    let posted = oracle.output(index, 0).await?;
    if posted.l2_block_number < number {
        return Err(Error::Config(format!(
            "output {index} covers L2 blocks up to {}, the withdrawal is in block {number}: wait for a later output",
            posted.l2_block_number
        )));
    }
    let reader = storage.read()?;
    let output = output_at(&reader, posted.l2_block_number)?.ok_or_else(|| {
        Error::Config(format!(
            "this node does not have L2 block {}",
            posted.l2_block_number
        ))
    })?;
    let slots: Vec<B256> = withdrawals
        .iter()
        .map(|w| B256::from(sent_message_slot(w.hash())))
        .collect();
    let proof = tandem_state::prove(&reader, output.state_root, L2_TO_L1_MESSAGE_PASSER, &slots)
        .map_err(|e| {
            Error::Config(format!(
                "cannot prove against L2 block {}: {e}",
                output.block_number
            ))
        })?;
    Ok(withdrawals
        .into_iter()
        .zip(proof.storage)
        .map(|(w, slot)| WithdrawalProof {
            withdrawal: WithdrawalArgs {
                nonce: w.nonce,
                sender: w.sender,
                target: w.target,
                value: w.value,
                gas_limit: w.gas_limit,
                data: w.data,
            },
            output_index: index,
            output_root_proof: output,
            withdrawal_proof: slot.proof,
        })
        .collect())
}

/// The proposer: posts the output of every `interval`-th L2 block once the L2 node it reads
/// (`l2`, over JSON-RPC) has it safe, with the minimum bond.
#[derive(Debug, Clone)]
pub struct ProposerConfig {
    pub key: DevAccount,
    /// How often to check for a due output.
    pub poll: Duration,
    /// Testing only: get every output wrong this way (the challenger should remove them).
    pub fault: Option<crate::fault::OutputFault>,
}

/// What the proposer reports.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposerStatus {
    pub proposed: u64,
    pub last_l2_block: Option<u64>,
    pub last_error: Option<String>,
}

/// Claims back the bonds of this proposer's outputs that became final, from index `*next` on.
async fn claim_bonds(l1: &L1Client, key: &DevAccount, next: &mut u64) -> Result<()> {
    let oracle = Oracle::new(l1.clone());
    let finalized = oracle.finalized_count().await?;
    while *next < finalized {
        let index = *next;
        let output = oracle.output(index, 0).await?;
        if output.proposer == key.address {
            let call = IOutputOracle::claimBondCall {
                index: U256::from(index),
            };
            let input = alloy_sol_types::SolCall::abi_encode(&call);
            // A bond claimed before (say, by an earlier run) fails the estimate: nothing to do.
            match l1
                .transact(
                    key,
                    OUTPUT_ORACLE,
                    U256::ZERO,
                    input.into(),
                    Duration::from_secs(60),
                )
                .await
            {
                Ok(receipt) => {
                    tracing::debug!(target: "rollup::proposer", index, l1_tx = %receipt.transaction_hash, "claimed bond")
                }
                Err(e) => {
                    tracing::debug!(target: "rollup::proposer", index, error = %e, "bond not claimed")
                }
            }
        }
        *next += 1;
    }
    Ok(())
}

/// Runs the proposer until `stop` turns true. It also claims back its bonds once outputs are final.
pub async fn run_proposer(
    l1: L1Client,
    l2: L1Client,
    config: ProposerConfig,
    status: std::sync::Arc<parking_lot::Mutex<ProposerStatus>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut claim_from = 0u64;
    loop {
        if let Err(e) = claim_bonds(&l1, &config.key, &mut claim_from).await {
            tracing::debug!(target: "rollup::proposer", error = %e, "cannot claim bonds");
        }
        let step = async {
            let next: u64 = l1
                .call_sol(OUTPUT_ORACLE, &IOutputOracle::nextBlockNumberCall {})
                .await?;
            let interval: u64 = l1
                .call_sol(OUTPUT_ORACLE, &IOutputOracle::intervalCall {})
                .await?;
            let safe = l2
                .origin(alloy_eips::BlockNumberOrTag::Safe)
                .await?
                .map(|b| b.number)
                .unwrap_or_default();
            // A valid-after-wrong proposer waits until it has two outputs to post.
            let count = match config.fault {
                Some(crate::fault::OutputFault::ValidAfterWrong) => 2,
                _ => 1,
            };
            let numbers: Vec<u64> = (0..count).map(|i| next + i * interval).collect();
            let last = numbers[numbers.len() - 1];
            if safe < last {
                return Ok::<bool, Error>(false);
            }
            // L1 holds at most so many outputs that are not final yet: wait for the oldest.
            let pending = l1
                .call_sol(OUTPUT_ORACLE, &IOutputOracle::outputCountCall {})
                .await?
                .saturating_sub(
                    l1.call_sol(OUTPUT_ORACLE, &IOutputOracle::finalizedCountCall {})
                        .await?,
                );
            let most: u64 = l1
                .call_sol(OUTPUT_ORACLE, &IOutputOracle::maxPendingOutputsCall {})
                .await?;
            if pending.saturating_add(U256::from(count)) > U256::from(most) {
                return Ok(false);
            }
            // The honest proposer's rule: never build on an output its own chain disagrees
            // with (it waits for the challenger to remove it). L1 checks the same when the
            // proposal lands (`WrongParent`), so no race can put it on top of one.
            let (parent_block, on_l1) = Oracle::new(l1.clone()).parent_of_next().await?;
            let own = l2
                .request_json::<Option<Proposal>, _>(
                    "tandem_outputProposal",
                    (parent_block, parent_block),
                )
                .await?
                .map(|p| p.output.output_root);
            let mut parent = match (config.fault, own) {
                (None, Some(own)) if own != on_l1 => {
                    return Err(L1Error::Unexpected(format!(
                        "the newest output on L1 claims {on_l1} for L2 block {parent_block}, \
                         this node has {own}: waiting for it to be challenged"
                    ))
                    .into());
                }
                (None, Some(own)) => own,
                (None, None) => {
                    return Err(L1Error::Unexpected(format!(
                        "the L2 node has no output for block {parent_block}"
                    ))
                    .into());
                }
                // A faulty proposer builds on whatever L1 holds.
                (Some(_), _) => on_l1,
            };
            let bond = l1
                .call_sol(OUTPUT_ORACLE, &IOutputOracle::minBondCall {})
                .await?;
            let mut calls = Vec::new();
            for &n in &numbers {
                let first = n + 1 - interval.max(1).min(n);
                let proposal: Option<Proposal> =
                    l2.request_json("tandem_outputProposal", (first, n)).await?;
                let mut proposal = proposal.ok_or_else(|| {
                    L1Error::Unexpected(format!("the L2 node has no output for block {n}"))
                })?;
                if let (Some(fault), true) = (config.fault, n == next) {
                    proposal = fault.apply(proposal);
                }
                let input =
                    alloy_sol_types::SolCall::abi_encode(&IOutputOracle::proposeOutputCall {
                        outputRoot: proposal.output.output_root,
                        l2BlockNumber: n,
                        parentOutputRoot: parent,
                        blockRoots: proposal.block_roots,
                    });
                parent = proposal.output.output_root;
                calls.push((OUTPUT_ORACLE, bond, input.into()));
            }
            let receipts = l1
                .transact_all(&config.key, &calls, Duration::from_secs(60))
                .await?;
            for (receipt, n) in receipts.iter().zip(&numbers) {
                if !crate::l1::succeeded(receipt) {
                    return Err(L1Error::Unexpected(format!(
                        "proposing the output of L2 block {n} reverted ({})",
                        receipt.transaction_hash
                    ))
                    .into());
                }
                tracing::info!(target: "rollup::proposer", l2_block = n, l1_tx = %receipt.transaction_hash, "proposed output");
            }
            let mut s = status.lock();
            s.proposed += count;
            s.last_l2_block = Some(last);
            Ok(true)
        };
        let more = match step.await {
            Ok(more) => {
                status.lock().last_error = None;
                more
            }
            Err(e) => {
                tracing::warn!(target: "rollup::proposer", error = %e, "proposing failed; retrying");
                status.lock().last_error = Some(e.to_string());
                false
            }
        };
        if *stop.borrow() {
            return;
        }
        if !more {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(config.poll) => {}
            }
        }
    }
}
