//! The proposer: posts the output of every `interval`-th L2 block to L1's OutputOracle once the L2
//! node it reads has it safe, and claims its bonds back once outputs are final.
use crate::{
    Result,
    outputs::{Oracle, Proposal},
    service::{Pace, Service},
};
use alloy_primitives::U256;
use parking_lot::Mutex;
use std::{sync::Arc, time::Duration};
pub use tandem_client::types::ProposerStatus;
use tandem_client::{Client, ClientError, L1};
use tandem_execution::system::IOutputOracle;
use tandem_primitives::{dev::DevAccount, system::OUTPUT_ORACLE};

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

/// Claims back the bonds of this proposer's outputs that became final, from index `*next` on.
async fn claim_bonds<L: L1>(
    oracle: &Oracle<L>,
    l1: &L,
    key: &DevAccount,
    next: &mut u64,
) -> Result<()> {
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

/// The proposer of outputs read from the L2 node `l2` (over JSON-RPC; best a verifier, which
/// derives from L1 alone).
pub struct Proposer<L> {
    l1: L,
    oracle: Oracle<L>,
    l2: Client,
    config: ProposerConfig,
    status: Arc<Mutex<ProposerStatus>>,
    /// The first output whose bond may still be claimed.
    claim_from: u64,
}

impl<L: L1> Proposer<L> {
    pub fn new(l1: L, l2: Client, config: ProposerConfig) -> Self {
        Self {
            oracle: Oracle::new(l1.clone()),
            l1,
            l2,
            config,
            status: Arc::default(),
            claim_from: 0,
        }
    }

    /// Proposes the next due output(s); whether it did.
    async fn propose(&mut self) -> Result<bool> {
        let next: u64 = self
            .l1
            .call_sol(OUTPUT_ORACLE, &IOutputOracle::nextBlockNumberCall {})
            .await?;
        let interval: u64 = self
            .l1
            .call_sol(OUTPUT_ORACLE, &IOutputOracle::intervalCall {})
            .await?;
        let safe = self
            .l2
            .origin(alloy_eips::BlockNumberOrTag::Safe)
            .await?
            .map(|b| b.number)
            .unwrap_or_default();
        // A valid-after-wrong proposer waits until it has two outputs to post.
        let count = match self.config.fault {
            Some(crate::fault::OutputFault::ValidAfterWrong) => 2,
            _ => 1,
        };
        let numbers: Vec<u64> = (0..count).map(|i| next + i * interval).collect();
        let last = numbers[numbers.len() - 1];
        if safe < last {
            return Ok(false);
        }
        // L1 holds at most so many outputs that are not final yet: wait for the oldest.
        let pending = self
            .l1
            .call_sol(OUTPUT_ORACLE, &IOutputOracle::outputCountCall {})
            .await?
            .saturating_sub(
                self.l1
                    .call_sol(OUTPUT_ORACLE, &IOutputOracle::finalizedCountCall {})
                    .await?,
            );
        let most: u64 = self
            .l1
            .call_sol(OUTPUT_ORACLE, &IOutputOracle::maxPendingOutputsCall {})
            .await?;
        if pending.saturating_add(U256::from(count)) > U256::from(most) {
            return Ok(false);
        }
        // The honest proposer's rule: never build on an output its own chain disagrees
        // with (it waits for the challenger to remove it). L1 checks the same when the
        // proposal lands (`WrongParent`), so no race can put it on top of one.
        let (parent_block, on_l1) = self.oracle.parent_of_next().await?;
        let own = self
            .l2
            .request_json::<Option<Proposal>, _>(
                "tandem_outputProposal",
                (parent_block, parent_block),
            )
            .await?
            .map(|p| p.output.output_root);
        let mut parent = match (self.config.fault, own) {
            (None, Some(own)) if own != on_l1 => {
                return Err(ClientError::Unexpected(format!(
                    "the newest output on L1 claims {on_l1} for L2 block {parent_block}, \
                     this node has {own}: waiting for it to be challenged"
                ))
                .into());
            }
            (None, Some(own)) => own,
            (None, None) => {
                return Err(ClientError::Unexpected(format!(
                    "the L2 node has no output for block {parent_block}"
                ))
                .into());
            }
            // A faulty proposer builds on whatever L1 holds.
            (Some(_), _) => on_l1,
        };
        let bond = self
            .l1
            .call_sol(OUTPUT_ORACLE, &IOutputOracle::minBondCall {})
            .await?;
        let mut calls = Vec::new();
        for &n in &numbers {
            let first = n + 1 - interval.max(1).min(n);
            let proposal: Option<Proposal> = self
                .l2
                .request_json("tandem_outputProposal", (first, n))
                .await?;
            let mut proposal = proposal.ok_or_else(|| {
                ClientError::Unexpected(format!("the L2 node has no output for block {n}"))
            })?;
            if let (Some(fault), true) = (self.config.fault, n == next) {
                proposal = fault.apply(proposal);
            }
            let input = alloy_sol_types::SolCall::abi_encode(&IOutputOracle::proposeOutputCall {
                outputRoot: proposal.output.output_root,
                l2BlockNumber: n,
                parentOutputRoot: parent,
                blockRoots: proposal.block_roots,
            });
            parent = proposal.output.output_root;
            calls.push((OUTPUT_ORACLE, bond, input.into()));
        }
        let receipts = self
            .l1
            .transact_all(&self.config.key, &calls, Duration::from_secs(60))
            .await?;
        for (receipt, n) in receipts.iter().zip(&numbers) {
            if !tandem_client::succeeded(receipt) {
                return Err(ClientError::Unexpected(format!(
                    "proposing the output of L2 block {n} reverted ({})",
                    receipt.transaction_hash
                ))
                .into());
            }
            tracing::info!(target: "rollup::proposer", l2_block = n, l1_tx = %receipt.transaction_hash, "proposed output");
        }
        let mut s = self.status.lock();
        s.proposed += count;
        s.last_l2_block = Some(last);
        Ok(true)
    }
}

impl<L: L1> Service for Proposer<L> {
    type Status = ProposerStatus;
    const NAME: &'static str = "proposer";

    fn poll(&self) -> Duration {
        self.config.poll
    }

    fn status(&self) -> &Arc<Mutex<ProposerStatus>> {
        &self.status
    }

    async fn round(&mut self) -> Result<Pace> {
        if let Err(e) = claim_bonds(
            &self.oracle,
            &self.l1,
            &self.config.key,
            &mut self.claim_from,
        )
        .await
        {
            tracing::debug!(target: "rollup::proposer", error = %e, "cannot claim bonds");
        }
        let proposed = self.propose().await?;
        self.status.lock().last_error = None;
        Ok(match proposed {
            true => Pace::Again,
            false => Pace::Wait,
        })
    }
}
