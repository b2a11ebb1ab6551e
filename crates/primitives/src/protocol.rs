//! tandem's protocol rules that L1 and L2, the services and the clients all compute the same way:
//! output roots and the Merkle root of an output's per-block roots, the Portal queue's rolling
//! hash and deposit transactions, batch commitments, withdrawal hashes, and how an L2 header
//! records its L1 origin. One definition each; the precompiles, the rollup services and the
//! client import them from here.
use crate::{Header, TxDeposit};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_rlp::{RlpDecodable, RlpEncodable};
use alloy_sol_types::SolValue;

/// The version an output root starts with.
pub const OUTPUT_VERSION: B256 = B256::ZERO;

/// keccak256(version 0 ++ state root ++ message-passer storage root ++ block hash).
pub fn output_root(state_root: B256, message_passer_storage_root: B256, block_hash: B256) -> B256 {
    let mut preimage = [0u8; 128];
    preimage[32..64].copy_from_slice(state_root.as_slice());
    preimage[64..96].copy_from_slice(message_passer_storage_root.as_slice());
    preimage[96..].copy_from_slice(block_hash.as_slice());
    keccak256(preimage)
}

/// The binary keccak Merkle root over per-block output roots (an odd node is paired with zero);
/// zero for none.
pub fn blocks_root(roots: &[B256]) -> B256 {
    let mut level: Vec<B256> = roots.to_vec();
    if level.is_empty() {
        return B256::ZERO;
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| hash_pair(pair[0], pair.get(1).copied().unwrap_or(B256::ZERO)))
            .collect();
    }
    level[0]
}

/// The Merkle proof of leaf `index` in [`blocks_root`]`(roots)`: the sibling at each level, zero
/// where a node has none.
pub fn block_root_proof(roots: &[B256], index: usize) -> Vec<B256> {
    let mut proof = Vec::new();
    let mut level: Vec<B256> = roots.to_vec();
    let mut at = index;
    while level.len() > 1 {
        proof.push(level.get(at ^ 1).copied().unwrap_or(B256::ZERO));
        level = level
            .chunks(2)
            .map(|pair| hash_pair(pair[0], pair.get(1).copied().unwrap_or(B256::ZERO)))
            .collect();
        at /= 2;
    }
    proof
}

/// Whether `leaf` is leaf `index` of `count` under `root` by `proof` (one sibling per level).
pub fn verify_block_root(root: B256, leaf: B256, index: u64, count: u64, proof: &[B256]) -> bool {
    if index >= count || proof.len() != levels(count) {
        return false;
    }
    let mut node = leaf;
    let mut at = index;
    for sibling in proof {
        node = if at.is_multiple_of(2) {
            hash_pair(node, *sibling)
        } else {
            hash_pair(*sibling, node)
        };
        at /= 2;
    }
    node == root
}

/// How many levels a Merkle tree over `count` leaves has above them.
fn levels(count: u64) -> usize {
    let mut levels = 0;
    let mut width = count;
    while width > 1 {
        width = width.div_ceil(2);
        levels += 1;
    }
    levels
}

fn hash_pair(left: B256, right: B256) -> B256 {
    let mut preimage = [0u8; 64];
    preimage[..32].copy_from_slice(left.as_slice());
    preimage[32..].copy_from_slice(right.as_slice());
    keccak256(preimage)
}

/// The source hash of queue entry `index`: keccak256(abi.encode(uint256(0), uint256(index))).
pub fn deposit_source_hash(index: u64) -> B256 {
    keccak256((U256::ZERO, U256::from(index)).abi_encode_params())
}

/// The rolling queue hash after an entry whose L2 transaction hash is `entry`.
pub fn next_queue_hash(previous: B256, entry: B256) -> B256 {
    let mut preimage = [0u8; 64];
    preimage[..32].copy_from_slice(previous.as_slice());
    preimage[32..].copy_from_slice(entry.as_slice());
    keccak256(preimage)
}

/// The L2 deposit transaction of queue entry `index`.
pub fn deposit_transaction(
    index: u64,
    from: Address,
    to: Address,
    mint: U256,
    value: U256,
    gas_limit: u64,
    data: Bytes,
) -> TxDeposit {
    TxDeposit {
        source_hash: deposit_source_hash(index),
        from,
        to: TxKind::Call(to),
        mint: mint.saturating_to(),
        value,
        gas_limit,
        is_system_transaction: false,
        input: data,
    }
}

/// The commitment BatchInbox stores for a batch.
pub fn batch_commitment(batch: &[u8]) -> B256 {
    keccak256(batch)
}

/// One withdrawal, as hashed on L2 and proven on L1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    pub nonce: U256,
    pub sender: Address,
    pub target: Address,
    pub value: U256,
    pub gas_limit: U256,
    pub data: Bytes,
}

impl Withdrawal {
    /// keccak256(abi.encode(nonce, sender, target, value, gasLimit, data)), OP Stack's hashWithdrawal.
    pub fn hash(&self) -> B256 {
        keccak256(
            (
                self.nonce,
                self.sender,
                self.target,
                self.value,
                self.gas_limit,
                self.data.clone(),
            )
                .abi_encode_params(),
        )
    }

    /// The withdrawal a `MessagePassed` event records.
    pub fn from_event(event: &crate::abi::IL2ToL1MessagePasser::MessagePassed) -> Self {
        Self {
            nonce: event.nonce,
            sender: event.sender,
            target: event.target,
            value: event.value,
            gas_limit: event.gasLimit,
            data: event.data.clone(),
        }
    }
}

/// The L1 block an L2 block derives from; recorded in the L1Block predeploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, RlpEncodable, RlpDecodable)]
pub struct L1Origin {
    pub number: u64,
    pub hash: B256,
    pub timestamp: u64,
    pub base_fee: u64,
}

impl L1Origin {
    /// An L2 header's extra data: the origin (number, timestamp, base fee; the hash is the mix
    /// hash), the Portal queue index after the block, and how many of its first transactions came
    /// from the queue. A block alone tells which L1 block it derives from, its data price, and
    /// which of its transactions a batch carries.
    pub fn extra_data(&self, queue_index: u64, queued: u64) -> Bytes {
        let mut out = Vec::with_capacity(EXTRA_DATA_LEN);
        for word in [
            self.number,
            self.timestamp,
            self.base_fee,
            queue_index,
            queued,
        ] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        out.into()
    }

    /// The Portal queue index after an L2 block (0 for genesis).
    pub fn queue_index_of(header: &Header) -> u64 {
        extra_word(header, 3)
    }

    /// How many of an L2 block's first transactions came from the Portal's queue.
    pub fn queued_of(header: &Header) -> usize {
        extra_word(header, 4) as usize
    }

    /// The origin an L2 header records; `None` for a header without one (genesis).
    pub fn of_header(header: &Header) -> Option<Self> {
        let extra = header.extra_data.as_ref();
        if extra.len() != EXTRA_DATA_LEN {
            return None;
        }
        let word = |i: usize| -> Option<u64> {
            Some(u64::from_be_bytes(extra[i * 8..i * 8 + 8].try_into().ok()?))
        };
        Some(Self {
            number: word(0)?,
            timestamp: word(1)?,
            base_fee: word(2)?,
            hash: header.mix_hash,
        })
    }
}

/// Length of an L2 header's extra data: five big-endian u64 words.
const EXTRA_DATA_LEN: usize = 40;

fn extra_word(header: &Header, i: usize) -> u64 {
    header
        .extra_data
        .get(i * 8..i * 8 + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}
