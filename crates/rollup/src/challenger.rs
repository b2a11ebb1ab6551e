//! The challenger: compares every output proposed on L1 with the node's own chain (derived from
//! L1) and, for the first block of an output whose claimed root is wrong, builds the one
//! DisputeGame call that proves it: the claims with their Merkle proofs, the parent's output, the
//! batch, the L1 origin's header, the due queue entries and the block's witness.
use crate::{Error, Result, bridge::output_at};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{B256, Bytes};
use tandem_execution::{
    l2::L2BlockInputs,
    system::{IDisputeGame, output_oracle::block_root_proof},
    witness::execution_witness_for,
};
use tandem_primitives::{ChainConfig, Header};
use tandem_storage::Reader;

/// An output as its proposer claimed it: its index, first block and every block's output root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub index: u64,
    pub first_block: u64,
    pub roots: Vec<B256>,
}

impl Claim {
    pub fn last_block(&self) -> u64 {
        self.first_block + self.roots.len() as u64 - 1
    }
}

/// What the node's own chain says of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every block's claimed root is the node's.
    Agrees,
    /// The first block whose claimed root is not the node's.
    Wrong(u64),
    /// The node has not derived this block yet.
    Behind(u64),
}

/// Compares `claim` block by block with the node's chain.
pub fn check(reader: &Reader, claim: &Claim) -> Result<Verdict> {
    for (i, claimed) in claim.roots.iter().enumerate() {
        let number = claim.first_block + i as u64;
        match output_at(reader, number)? {
            None => return Ok(Verdict::Behind(number)),
            Some(own) if own.output_root != *claimed => return Ok(Verdict::Wrong(number)),
            Some(_) => {}
        }
    }
    Ok(Verdict::Agrees)
}

/// Where a block's inputs sit on L1: the batch that carries it and its L1 origin's header.
#[derive(Debug, Clone)]
pub struct OnL1 {
    pub batch_sequence: u64,
    pub batch: Bytes,
    pub origin_header: Header,
}

/// The DisputeGame call that challenges block `number` of `claim`. `inputs` are the block's inputs
/// as derivation took them (its batch block, origin and due queue); the node must hold the block's
/// parent state for the witness.
pub fn challenge(
    reader: &Reader,
    chain: &ChainConfig,
    claim: &Claim,
    number: u64,
    on_l1: &OnL1,
    inputs: &L2BlockInputs,
) -> Result<IDisputeGame::Challenge> {
    let at = number
        .checked_sub(claim.first_block)
        .filter(|at| *at < claim.roots.len() as u64)
        .ok_or_else(|| Error::Config(format!("block {number} is not in output {}", claim.index)))?
        as usize;
    let parent = output_at(reader, number - 1)?
        .ok_or_else(|| Error::Config(format!("the node lacks L2 block {}", number - 1)))?;
    let witness = execution_witness_for(reader, chain, number, inputs)
        .map_err(|e| Error::Config(format!("witness of L2 block {number}: {e}")))?;
    // The due entries from the parent's next index that can matter: up to the first that would
    // not fit an empty block.
    let next = reader
        .header(number - 1)?
        .map(|h| tandem_execution::l2::L1Origin::queue_index_of(&h))
        .unwrap_or_default();
    let mut gas = 0u64;
    let mut queue = Vec::new();
    let due = inputs
        .queue
        .iter()
        .filter(|e| e.index >= next && e.l1_block <= inputs.l1_origin.number);
    for entry in due {
        queue.push(Bytes::from(entry.tx.tx.encoded_2718()));
        gas = gas.saturating_add(entry.gas_limit());
        if gas > chain.gas_limit {
            break;
        }
    }
    Ok(IDisputeGame::Challenge {
        outputIndex: alloy_primitives::U256::from(claim.index),
        l2BlockNumber: number,
        claimedRoot: claim.roots[at],
        claimedProof: block_root_proof(&claim.roots, at),
        parent: IDisputeGame::OutputRootProof {
            stateRoot: parent.state_root,
            messagePasserStorageRoot: parent.message_passer_storage_root,
            blockHash: parent.block_hash,
        },
        parentProof: match at {
            0 => Vec::new(),
            _ => block_root_proof(&claim.roots, at - 1),
        },
        batchSequence: on_l1.batch_sequence,
        batch: on_l1.batch.clone(),
        l1OriginHeader: alloy_rlp::encode(&on_l1.origin_header).into(),
        queue,
        witness: alloy_rlp::encode(&witness).into(),
    })
}
