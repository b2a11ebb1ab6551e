//! The consensus application: proposes Ethereum blocks from the mempool and verifies others' by
//! re-executing them. Marshal's `Deferred` wrapper drives it and checks parent links and heights.
use crate::{
    Scheme,
    block::{Block, ConsensusContext},
    chain::Chain,
};
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_cryptography::{Digested, Digestible, Hasher, Sha256};
use commonware_runtime::Clock;
use futures::StreamExt;
use std::{
    sync::Arc,
    time::{Duration, UNIX_EPOCH},
};
use tandem_primitives::B256;

/// How often an idle leader looks at the pool again.
const IDLE_POLL: Duration = Duration::from_millis(20);

/// The application every validator runs.
#[derive(Clone, Debug)]
pub struct Application {
    chain: Arc<Chain>,
    /// A leader waits this long before building, so blocks come at most this often.
    block_time: Duration,
    /// With nothing to include, a leader keeps looking this long before it declines its turn, so a
    /// transaction that arrives meanwhile is proposed at once rather than after a view timeout.
    idle_wait: Duration,
}

impl Application {
    pub fn new(chain: Arc<Chain>, block_time: Duration, idle_wait: Duration) -> Self {
        Self {
            chain,
            block_time,
            idle_wait,
        }
    }
}

/// Reads an ancestry stream (newest first) down to the first committed block and returns the
/// blocks read, that one included. `None` when the stream ends first.
async fn uncommitted(chain: &Chain, mut ancestry: impl Ancestry<Block>) -> Option<Vec<Block>> {
    let committed = chain.committed_height().ok()?;
    let mut blocks = Vec::new();
    while let Some(block) = ancestry.next().await {
        let number = block.inner().header().number;
        blocks.push(block.inner().clone());
        if number <= committed {
            return Some(blocks);
        }
    }
    None
}

impl<E: Clock + Send + Sync + 'static> commonware_consensus::Application<E> for Application {
    type SigningScheme = Scheme;
    type Context = ConsensusContext;
    type Block = Block;
    type Input = ();

    async fn propose(
        &mut self,
        (runtime, context): (E, ConsensusContext),
        ancestry: impl Ancestry<Block>,
        _input: (),
    ) -> Option<Digested<Block>> {
        if !self.block_time.is_zero() {
            runtime.sleep(self.block_time).await;
        }
        let ancestors = uncommitted(&self.chain, ancestry).await?;
        let timestamp = runtime
            .current()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let view = context.round.view().get().to_be_bytes();
        let randao = B256::from_slice(
            Sha256::hash(&[b"tandem-randao", context.parent.1.as_ref(), &view]).as_ref(),
        );
        let deadline = runtime.current() + self.idle_wait;
        let executed = loop {
            match self.chain.build(&ancestors, timestamp, randao) {
                Ok(Some(executed)) => break executed,
                Ok(None) if runtime.current() < deadline => runtime.sleep(IDLE_POLL).await,
                Ok(None) => return None,
                Err(e) => {
                    tracing::warn!(target: "consensus::application", error = %e, "cannot build a block");
                    return None;
                }
            }
        };
        let block = Block::new(context, executed.block.clone());
        tracing::debug!(target: "consensus::application", number = block.header().number, txs = block.transactions().len(), "proposed block");
        self.chain.remember(&block, executed);
        let digest = block.digest();
        Some(Digested::precomputed(block, digest))
    }

    async fn verify(
        &mut self,
        (runtime, _context): (E, ConsensusContext),
        mut ancestry: impl Ancestry<Block>,
    ) -> bool {
        let Some(block) = ancestry.next().await else {
            return false;
        };
        // Parents that are not ours to judge (forks below the committed height) never verify.
        let Some(ancestors) = uncommitted(&self.chain, ancestry).await else {
            return false;
        };
        let now = runtime
            .current()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        match self.chain.verify(block.inner(), &ancestors, now) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(target: "consensus::application", number = block.inner().header().number, error = %e, "rejected block");
                false
            }
        }
    }
}
