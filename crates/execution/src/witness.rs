//! Execution witnesses: everything a stateless re-execution of one L2 block reads, taken from the
//! node's state: the trie nodes on the paths of every account and slot the block touches (under
//! its parent's state root) and the code it runs. Like `debug_executionWitness`; the input of the
//! fault proofs' EXECUTE.
use crate::l2::{L1Origin, L2BlockInputs, QueuedTx, execute_l2_block};
use alloy_primitives::{Address, B256, Bytes, keccak256};
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Mutex,
};
use tandem_primitives::{ChainConfig, Header, SealedBlock};
use tandem_state::{HistoricalState, StateReader, TrieAccount};
use tandem_storage::Reader;

/// What one block's re-execution needs, besides its inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionWitness {
    pub block_number: u64,
    pub parent_state_root: B256,
    /// Trie nodes (accounts and storage), each known by its keccak hash.
    pub state: Vec<Bytes>,
    pub codes: Vec<Bytes>,
    /// The preimages of the trie keys: addresses and storage slots.
    pub keys: Vec<Bytes>,
}

#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("L2 block {0} is unknown (or its parent's state is no longer kept)")]
    Unknown(u64),
    #[error("L2 block {0} is not an L2 block with an L1 origin")]
    NotL2(u64),
    #[error("re-executing L2 block {0} did not reproduce it")]
    Mismatch(u64),
    #[error(transparent)]
    Storage(#[from] tandem_storage::Error),
    #[error(transparent)]
    State(#[from] tandem_state::Error),
    #[error(transparent)]
    L2(#[from] crate::l2::L2Error),
}

/// The inputs a stored L2 block was built from: its header's timestamp and origin, the queue
/// entries it took first (as many as its header says), then its sequenced transactions.
pub fn inputs_of(block: &SealedBlock, parent: &Header) -> Option<L2BlockInputs> {
    let header = block.header();
    let origin = L1Origin::of_header(header)?;
    let queued = L1Origin::queued_of(header).min(block.block.transactions.len());
    let first = L1Origin::queue_index_of(parent);
    let (from_queue, sequenced) = block.block.transactions.split_at(queued);
    Some(L2BlockInputs {
        timestamp: header.timestamp,
        l1_origin: origin,
        queue: from_queue
            .iter()
            .enumerate()
            .map(|(i, tx)| QueuedTx {
                index: first + i as u64,
                l1_block: origin.number,
                tx: tx.clone(),
            })
            .collect(),
        transactions: sequenced.to_vec(),
    })
}

/// A state reader that remembers every account, slot and code it was asked for.
pub struct Recorder<S> {
    inner: S,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    accounts: BTreeMap<Address, BTreeSet<B256>>,
    codes: BTreeSet<B256>,
}

impl<S> Recorder<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            seen: Mutex::default(),
        }
    }

    fn note(&self, f: impl FnOnce(&mut Seen)) {
        if let Ok(mut seen) = self.seen.lock() {
            f(&mut seen);
        }
    }
}

impl<S: StateReader> StateReader for Recorder<S> {
    fn account(&self, address: Address) -> tandem_state::Result<Option<TrieAccount>> {
        self.note(|s| {
            s.accounts.entry(address).or_default();
        });
        self.inner.account(address)
    }

    fn storage(
        &self,
        address: Address,
        slot: B256,
    ) -> tandem_state::Result<alloy_primitives::U256> {
        self.note(|s| {
            s.accounts.entry(address).or_default().insert(slot);
        });
        self.inner.storage(address, slot)
    }

    fn code(&self, hash: B256) -> tandem_state::Result<Option<Bytes>> {
        self.note(|s| {
            s.codes.insert(hash);
        });
        self.inner.code(hash)
    }

    fn block_hash(&self, number: u64) -> tandem_state::Result<Option<B256>> {
        self.inner.block_hash(number)
    }
}

/// The witness of L2 block `number`: re-executes it on its parent's state (which the node must
/// still keep), checks it reproduces the stored block, and proves everything it read.
pub fn execution_witness(
    reader: &Reader,
    chain: &ChainConfig,
    number: u64,
) -> Result<ExecutionWitness, WitnessError> {
    let parent_number = number.checked_sub(1).ok_or(WitnessError::NotL2(number))?;
    let (Some(block), Some(parent)) = (reader.block(number)?, reader.header(parent_number)?) else {
        return Err(WitnessError::Unknown(number));
    };
    let inputs = inputs_of(&block, &parent).ok_or(WitnessError::NotL2(number))?;
    let state = HistoricalState::new(reader, parent.state_root)
        .map_err(|_| WitnessError::Unknown(number))?;
    let recorder = Recorder::new(state);
    let executed = execute_l2_block(reader, None, &recorder, chain, &parent, &inputs)?;
    if executed.executed.block.hash != block.hash {
        return Err(WitnessError::Mismatch(number));
    }
    let seen = recorder.seen.into_inner().unwrap_or_default();
    let mut nodes: BTreeMap<B256, Bytes> = BTreeMap::new();
    let mut keys = Vec::new();
    for (address, slots) in &seen.accounts {
        let slots: Vec<B256> = slots.iter().copied().collect();
        let proof = tandem_state::prove(reader, parent.state_root, *address, &slots)?;
        for node in proof
            .proof
            .into_iter()
            .chain(proof.storage.into_iter().flat_map(|s| s.proof))
        {
            nodes.insert(keccak256(&node), node);
        }
        keys.push(Bytes::copy_from_slice(address.as_slice()));
        keys.extend(slots.iter().map(|s| Bytes::copy_from_slice(s.as_slice())));
    }
    let mut codes = Vec::new();
    for hash in &seen.codes {
        if let Some(code) = reader.code(*hash)? {
            codes.push(code);
        }
    }
    Ok(ExecutionWitness {
        block_number: number,
        parent_state_root: parent.state_root,
        state: nodes.into_values().collect(),
        codes,
        keys,
    })
}
