//! Execution witnesses: everything a stateless re-execution of one L2 block reads, taken from the
//! node's state: the trie nodes on the paths of every account and slot the block touches (under
//! its parent's state root) and the code it runs. Like `debug_executionWitness`; the input of the
//! fault proofs' EXECUTE.
use crate::l2::{L1Origin, L2BlockInputs, QueuedTx, derive_l2_block};
use alloy_primitives::{Address, B256, Bytes, keccak256};
use alloy_rlp::{RlpDecodable, RlpEncodable};
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Mutex,
};
use tandem_primitives::{ChainConfig, Header, SealedBlock, system::L2_TO_L1_MESSAGE_PASSER};
use tandem_state::{HistoricalState, NodeSource, StateReader, TrieAccount};
use tandem_storage::Reader;

/// What one block's re-execution needs, besides its inputs. RLP-encoded, it is EXECUTE's witness.
#[derive(Debug, Clone, PartialEq, Eq, Default, RlpEncodable, RlpDecodable)]
pub struct ExecutionWitness {
    pub block_number: u64,
    pub parent_state_root: B256,
    /// Trie nodes (accounts and storage), each known by its keccak hash: the paths of everything
    /// the block reads, and the nodes its state-root update reads besides (the siblings a
    /// deletion folds in).
    pub state: Vec<Bytes>,
    pub codes: Vec<Bytes>,
    /// The preimages of the trie keys: addresses and storage slots.
    pub keys: Vec<Bytes>,
    /// RLP headers: the parent's, then each one's parent as far back as BLOCKHASH reached.
    pub headers: Vec<Bytes>,
}

impl ExecutionWitness {
    /// The witness as a challenge carries it: without the key preimages, which EXECUTE does not
    /// read (it hashes the addresses and slots it is asked for), so the witness is what the
    /// block's budget charged ([`crate::budget`]).
    pub fn for_execute(self) -> Self {
        Self {
            keys: Vec::new(),
            ..self
        }
    }
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
    oldest_hash: Option<u64>,
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
        self.note(|s| {
            s.oldest_hash = Some(s.oldest_hash.map_or(number, |n| n.min(number)));
        });
        self.inner.block_hash(number)
    }
}

/// The witness of L2 block `number` for the inputs its own transactions make ([`inputs_of`]).
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
    execution_witness_for(reader, chain, number, &inputs)
}

/// The witness of L2 block `number` built from `inputs` (as its batch and the queue give them,
/// invalid transactions included: leaving one out reads its sender too): re-executes them on the
/// parent's state (which the node must still keep), checks that reproduces the stored block, and
/// proves everything the execution and the new state root read.
pub fn execution_witness_for(
    reader: &Reader,
    chain: &ChainConfig,
    number: u64,
    inputs: &L2BlockInputs,
) -> Result<ExecutionWitness, WitnessError> {
    let parent_number = number.checked_sub(1).ok_or(WitnessError::NotL2(number))?;
    let (Some(block), Some(parent)) = (reader.block(number)?, reader.header(parent_number)?) else {
        return Err(WitnessError::Unknown(number));
    };
    let state = HistoricalState::new(reader, parent.state_root)
        .map_err(|_| WitnessError::Unknown(number))?;
    let recorder = Recorder::new(state);
    // The output root needs the message passer's storage root, touched or not.
    recorder.account(L2_TO_L1_MESSAGE_PASSER)?;
    let root_reads = parking_lot::Mutex::new(HashMap::new());
    let nodes_source = NodeSource::from(reader).recording(&root_reads);
    let (executed, _) = derive_l2_block(nodes_source, &recorder, chain, &parent, inputs)?;
    if executed.executed.block.hash != block.hash {
        return Err(WitnessError::Mismatch(number));
    }
    let seen = recorder.seen.into_inner().unwrap_or_default();
    let mut nodes: BTreeMap<B256, Bytes> = root_reads
        .into_inner()
        .into_iter()
        .map(|(hash, node)| (hash, Bytes::from(node)))
        .collect();
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
    let mut headers = vec![alloy_rlp::encode(&parent).into()];
    for ancestor in (seen.oldest_hash.unwrap_or(parent_number)..parent_number).rev() {
        let header = reader
            .header(ancestor)?
            .ok_or(WitnessError::Unknown(ancestor))?;
        headers.push(alloy_rlp::encode(&header).into());
    }
    Ok(ExecutionWitness {
        block_number: number,
        parent_state_root: parent.state_root,
        state: nodes.into_values().collect(),
        codes,
        keys,
        headers,
    })
}
