//! Stateless re-execution of one L2 block: what L1's EXECUTE precompile runs. From the parent's
//! output-root preimage, the block's inputs and a witness, it computes the block's output root with
//! the same state-transition code the sequencer and verifiers run ([`derive_l2_block`]), reading
//! state only from the witness. Anything the witness lacks or gets wrong is an error, never a
//! default: the result is the true output root or nothing.
use crate::{
    l2::{L1Origin, L2BlockInputs, QueuedTx, derive_l2_block},
    witness::ExecutionWitness,
};
use alloy_consensus::{Header, Typed2718};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{B256, Bytes, keccak256};
use alloy_rlp::{Decodable, RlpDecodable, RlpEncodable};
use std::collections::HashMap;
use tandem_primitives::{
    ChainConfig, TxEnvelope, protocol::output_root, system::L2_TO_L1_MESSAGE_PASSER,
};
use tandem_state::{NodeSource, StateReader, WitnessState};

/// The three parts of an output root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputPreimage {
    pub state_root: B256,
    pub message_passer_root: B256,
    pub block_hash: B256,
}

impl OutputPreimage {
    pub fn root(&self) -> B256 {
        output_root(self.state_root, self.message_passer_root, self.block_hash)
    }
}

/// What EXECUTE found: the block's output, the L2 gas it used, and where its Portal queue and L1
/// origin ended up (the state transition decides how many queue entries a block takes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatelessOutput {
    pub output: OutputPreimage,
    pub gas_used: u64,
    /// The Portal queue index after the block.
    pub queue_next: u64,
    /// The number of the L1 block the block derived from (after [`crate::l2::sanitize`]).
    pub l1_origin: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StatelessError {
    #[error("witness: {0}")]
    Witness(String),
    #[error("block inputs: {0}")]
    Inputs(String),
    #[error("the parent header does not match the parent output ({0})")]
    Parent(&'static str),
    #[error("execution: {0}")]
    Execution(String),
}

/// One queue entry as block inputs carry it.
#[derive(Debug, RlpEncodable, RlpDecodable)]
struct EncodedEntry {
    index: u64,
    l1_block: u64,
    /// EIP-2718 bytes: a deposit (type 0x7E) or a signed transaction.
    tx: Bytes,
}

/// One L2 block's inputs as EXECUTE takes them: senders are not carried, they are recovered.
#[derive(Debug, RlpEncodable, RlpDecodable)]
struct EncodedInputs {
    timestamp: u64,
    l1_origin: L1Origin,
    queue: Vec<EncodedEntry>,
    transactions: Vec<Bytes>,
}

/// The canonical encoding of one L2 block's inputs (RLP; transactions as EIP-2718 bytes).
pub fn encode_inputs(inputs: &L2BlockInputs) -> Bytes {
    let encoded = EncodedInputs {
        timestamp: inputs.timestamp,
        l1_origin: inputs.l1_origin,
        queue: inputs
            .queue
            .iter()
            .map(|entry| EncodedEntry {
                index: entry.index,
                l1_block: entry.l1_block,
                tx: entry.tx.tx.encoded_2718().into(),
            })
            .collect(),
        transactions: inputs
            .transactions
            .iter()
            .map(|t| t.tx.encoded_2718().into())
            .collect(),
    };
    alloy_rlp::encode(encoded).into()
}

/// One L2 block's inputs decoded but with no sender recovered yet: what EXECUTE charges for
/// before it does the work ([`DecodedInputs::recover`]).
#[derive(Debug)]
pub struct DecodedInputs {
    timestamp: u64,
    l1_origin: L1Origin,
    queue: Vec<(u64, u64, TxEnvelope)>,
    transactions: Vec<TxEnvelope>,
}

impl DecodedInputs {
    /// How many transactions (queue entries and sequenced) recovering senders will take.
    pub fn len(&self) -> usize {
        self.queue.len() + self.transactions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Recovers every sender. A sequenced transaction whose sender cannot be recovered is left
    /// out, as derivation leaves it out; a queue entry must be whole.
    pub fn recover(self) -> Result<L2BlockInputs, StatelessError> {
        let queue = self
            .queue
            .into_iter()
            .map(|(index, l1_block, tx)| QueuedTx::new(index, l1_block, tx))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StatelessError::Inputs(e.to_string()))?;
        Ok(L2BlockInputs {
            timestamp: self.timestamp,
            l1_origin: self.l1_origin,
            queue,
            transactions: crate::l2::with_senders(self.transactions),
        })
    }
}

/// Decodes [`encode_inputs`] and recovers every sender ([`decode_inputs_unrecovered`], then
/// [`DecodedInputs::recover`]).
pub fn decode_inputs(bytes: &[u8]) -> Result<L2BlockInputs, StatelessError> {
    decode_inputs_unrecovered(bytes)?.recover()
}

/// Decodes [`encode_inputs`] without recovering any sender.
pub fn decode_inputs_unrecovered(mut bytes: &[u8]) -> Result<DecodedInputs, StatelessError> {
    let bad = |e: String| StatelessError::Inputs(e);
    let encoded = EncodedInputs::decode(&mut bytes).map_err(|e| bad(e.to_string()))?;
    if !bytes.is_empty() {
        return Err(bad("trailing bytes".into()));
    }
    let decode_tx =
        |raw: &Bytes| TxEnvelope::decode_2718_exact(raw).map_err(|e| bad(e.to_string()));
    let mut queue = Vec::with_capacity(encoded.queue.len());
    for entry in &encoded.queue {
        queue.push((entry.index, entry.l1_block, decode_tx(&entry.tx)?));
    }
    let mut transactions = Vec::with_capacity(encoded.transactions.len());
    for raw in &encoded.transactions {
        let tx = decode_tx(raw)?;
        if tx.is_deposit() {
            return Err(bad(format!(
                "a deposit (type {}) among sequenced transactions",
                tx.ty()
            )));
        }
        transactions.push(tx);
    }
    Ok(DecodedInputs {
        timestamp: encoded.timestamp,
        l1_origin: encoded.l1_origin,
        queue,
        transactions,
    })
}

/// Re-executes the L2 block after the output `parent` from its `inputs`, reading state only from
/// `witness`, and returns its output. The witness's first header must be the parent's (its hash is
/// the parent output's block hash, its state root the parent output's state root), and each further
/// header the parent of the one before: they answer BLOCKHASH.
pub fn execute_stateless(
    chain: &ChainConfig,
    parent: &OutputPreimage,
    inputs: &L2BlockInputs,
    witness: &ExecutionWitness,
) -> Result<StatelessOutput, StatelessError> {
    let (parent_header, hashes) = ancestors(parent, &witness.headers)?;
    let state = WitnessState::new(parent.state_root, &witness.state, &witness.codes)
        .map_err(|e| StatelessError::Witness(e.to_string()))?
        .with_block_hashes(hashes);
    let parent_passer = state
        .account(L2_TO_L1_MESSAGE_PASSER)
        .map_err(|e| StatelessError::Witness(e.to_string()))?
        .map(|a| a.storage_root)
        .unwrap_or(tandem_state::EMPTY_ROOT_HASH);
    if parent_passer != parent.message_passer_root {
        return Err(StatelessError::Parent("message-passer storage root"));
    }
    let block = derive_l2_block(
        NodeSource::witness(&state),
        &state,
        chain,
        &parent_header,
        inputs,
    )
    .map(|(block, _)| block)
    .map_err(|e| match e {
        crate::l2::L2Error::Execution(crate::Error::State(e)) => {
            StatelessError::Witness(e.to_string())
        }
        e => StatelessError::Execution(e.to_string()),
    })?;
    let executed = &block.executed;
    let header = executed.block.header();
    let message_passer_root = executed
        .diff
        .accounts
        .iter()
        .find(|(address, _)| *address == L2_TO_L1_MESSAGE_PASSER)
        .map(|(_, account)| {
            account
                .map(|a| a.storage_root)
                .unwrap_or(tandem_state::EMPTY_ROOT_HASH)
        })
        .unwrap_or(parent_passer);
    Ok(StatelessOutput {
        output: OutputPreimage {
            state_root: header.state_root,
            message_passer_root,
            block_hash: executed.block.hash,
        },
        gas_used: header.gas_used,
        queue_next: L1Origin::queue_index_of(header),
        l1_origin: L1Origin::of_header(header).map_or(0, |o| o.number),
    })
}

/// The parent header and the block hashes the witness's headers prove, checked as a chain down
/// from the parent output's block hash.
fn ancestors(
    parent: &OutputPreimage,
    headers: &[Bytes],
) -> Result<(Header, HashMap<u64, B256>), StatelessError> {
    let mut hashes = HashMap::new();
    let mut expected = parent.block_hash;
    let mut first = None;
    for raw in headers {
        if keccak256(raw) != expected {
            return Err(StatelessError::Witness(format!(
                "header {} is not the block {expected}",
                keccak256(raw)
            )));
        }
        let header = Header::decode(&mut raw.as_ref())
            .map_err(|e| StatelessError::Witness(format!("header: {e}")))?;
        hashes.insert(header.number, expected);
        expected = header.parent_hash;
        first.get_or_insert(header);
    }
    let parent_header = first.ok_or_else(|| StatelessError::Witness("no parent header".into()))?;
    if parent_header.state_root != parent.state_root {
        return Err(StatelessError::Parent("state root"));
    }
    Ok((parent_header, hashes))
}
