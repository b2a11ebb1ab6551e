//! L1's OutputOracle, read over JSON-RPC.
use crate::{Client, L1, Result, types::PostedOutput};
use alloy_primitives::{B256, U256};
use tandem_primitives::{
    abi::{IDisputeGame, IOutputOracle},
    system::{DISPUTE_GAME, OUTPUT_ORACLE},
};

/// The outputs L1 holds.
#[derive(Debug, Clone)]
pub struct Oracle<L = Client> {
    l1: L,
}

impl<L: L1> Oracle<L> {
    pub fn new(l1: L) -> Self {
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
        self.l1
            .call_sol(OUTPUT_ORACLE, &IOutputOracle::challengeWindowCall {})
            .await
    }

    pub async fn interval(&self) -> Result<u64> {
        self.l1
            .call_sol(OUTPUT_ORACLE, &IOutputOracle::intervalCall {})
            .await
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
                    .call_sol(DISPUTE_GAME, &IDisputeGame::genesisOutputRootCall {})
                    .await?,
            )),
        }
    }

    /// Output `index`, whose challenge window (`window` seconds) ends at its `final_at`.
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
