//! The L2 state transition: a pure function from a parent L2 block (its header and post-state)
//! and the next block's inputs to that block. The sequencer, every verifier and, later, L1's
//! EXECUTE precompile run this same code, so they cannot disagree.
use crate::{BlockAttributes, Error, ExecutedBlock, Executor};
use alloy_primitives::{B256, U256};
use alloy_rlp::{RlpDecodable, RlpEncodable};
use tandem_primitives::{ChainConfig, Header, Layer, StoredTx, system};
use tandem_state::{Pending, StateReader};
use tandem_storage::Reader;

/// The L1 block an L2 block derives from; recorded in the L1Block predeploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, RlpEncodable, RlpDecodable)]
pub struct L1Origin {
    pub number: u64,
    pub hash: B256,
    pub timestamp: u64,
    pub base_fee: u64,
}

/// Everything an L2 block is made of besides its parent: what a batch (and the deposit queue)
/// commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2BlockInputs {
    pub timestamp: u64,
    pub l1_origin: L1Origin,
    /// Sequenced transactions with their senders, in order.
    pub transactions: Vec<StoredTx>,
}

/// Why an L2 block's inputs cannot make a block at all (a single invalid transaction can: it is
/// left out).
#[derive(Debug, thiserror::Error)]
pub enum L2Error {
    #[error("not an L2 chain")]
    NotL2,
    #[error("timestamp {got} is before the parent's {parent}")]
    TimestampBackwards { parent: u64, got: u64 },
    #[error("L1 origin {got} is before the parent's {parent}")]
    OriginBackwards { parent: u64, got: u64 },
    #[error(transparent)]
    Execution(#[from] Error),
}

/// The outcome of one L2 block: the block, and the transactions left out with why.
#[derive(Debug)]
pub struct L2Block {
    pub executed: ExecutedBlock,
    pub skipped: Vec<(B256, String)>,
}

/// Executes the next L2 block on `parent`, whose post-state `state` reads (and `pending` holds,
/// when the parent is not committed). Deterministic: the same parent and inputs give the same block.
pub fn execute_l2_block<S: StateReader>(
    reader: &Reader,
    pending: Option<&Pending>,
    state: S,
    chain: &ChainConfig,
    parent: &Header,
    inputs: &L2BlockInputs,
) -> Result<L2Block, L2Error> {
    if chain.layer != Layer::L2 {
        return Err(L2Error::NotL2);
    }
    if inputs.timestamp < parent.timestamp {
        return Err(L2Error::TimestampBackwards {
            parent: parent.timestamp,
            got: inputs.timestamp,
        });
    }
    let previous_origin = state
        .storage(
            system::L1_BLOCK,
            B256::from(crate::system::l1_block::NUMBER_SLOT),
        )
        .map_err(Error::State)?;
    if U256::from(inputs.l1_origin.number) < previous_origin {
        return Err(L2Error::OriginBackwards {
            parent: previous_origin.to(),
            got: inputs.l1_origin.number,
        });
    }
    let attrs = BlockAttributes {
        timestamp: inputs.timestamp,
        beneficiary: system::SEQUENCER_FEE_VAULT,
        prev_randao: inputs.l1_origin.hash,
    };
    let mut executor = Executor::on_pending(reader, pending, state, chain, parent, &attrs);
    executor.set_l1_origin(&inputs.l1_origin)?;
    let mut skipped = Vec::new();
    for stored in &inputs.transactions {
        match executor.execute(stored.tx.clone(), stored.sender) {
            Ok(_) => {}
            Err(e @ (Error::InvalidTx { .. } | Error::BlockFull { .. })) => {
                skipped.push((*stored.tx.tx_hash(), e.to_string()))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(L2Block {
        executed: executor.finish()?,
        skipped,
    })
}
