//! Output roots of L2 blocks as this node computes them, and the node's finalized head, which
//! follows the outputs that became final on L1.
use crate::{
    Error, Result,
    service::{Pace, Service},
};
use parking_lot::Mutex;
use std::{sync::Arc, time::Duration};
use tandem_client::L1;
pub use tandem_client::{
    Oracle,
    types::{Output, PostedOutput, Proposal},
};
use tandem_primitives::{
    protocol::{OUTPUT_VERSION, blocks_root, output_root},
    system::L2_TO_L1_MESSAGE_PASSER,
};
use tandem_storage::{Reader, Storage};

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

/// Follows L1's final outputs and moves the node's finalized head to the newest one, once the
/// node's own output at that block matches it. A final output the node disagrees with is logged
/// and never followed.
pub struct FinalizedFollower<L> {
    storage: Arc<Storage>,
    oracle: Oracle<L>,
    followed: u64,
    status: Arc<Mutex<()>>,
}

impl<L: L1> FinalizedFollower<L> {
    pub fn new(storage: Arc<Storage>, l1: L) -> Self {
        Self {
            storage,
            oracle: Oracle::new(l1),
            followed: 0,
            status: Arc::default(),
        }
    }
}

impl<L: L1> Service for FinalizedFollower<L> {
    type Status = ();
    const NAME: &'static str = "finalized follower";

    fn poll(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn status(&self) -> &Arc<Mutex<()>> {
        &self.status
    }

    async fn round(&mut self) -> Result<Pace> {
        let finalized = self.oracle.finalized_count().await?;
        let Some(last) = finalized.checked_sub(1) else {
            return Ok(Pace::Wait);
        };
        let output = self.oracle.output(last, 0).await?;
        if output.l2_block_number <= self.followed {
            return Ok(Pace::Wait);
        }
        let reader = self.storage.read()?;
        let Some(ours) = output_at(&reader, output.l2_block_number)? else {
            return Ok(Pace::Wait); // not derived that far yet
        };
        if ours.output_root != output.output_root {
            tracing::error!(target: "rollup::outputs", index = last, l2_block = output.l2_block_number, posted = %output.output_root, ours = %ours.output_root, "a final output disagrees with this node: not following it");
            return Ok(Pace::Wait);
        }
        drop(reader);
        self.storage.set_finalized(output.l2_block_number)?;
        self.followed = output.l2_block_number;
        Ok(Pace::Wait)
    }
}
