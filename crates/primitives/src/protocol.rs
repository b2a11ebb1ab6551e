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
    /// An L2 header's extra data, in Ethereum's 32 bytes so every tool reads an L2 block: the
    /// origin (number, timestamp, base fee as u64 words; the hash is the mix hash), the Portal
    /// queue index after the block (48 bits, at most [`MAX_QUEUE_INDEX`]), and how many of its
    /// first transactions came from the queue (16 bits). A block alone tells which L1 block it
    /// derives from, its data price, and which of its transactions a batch carries.
    pub fn extra_data(&self, queue_index: u64, queued: u64) -> Bytes {
        let mut out = [0u8; EXTRA_DATA_LEN];
        for (i, word) in [self.number, self.timestamp, self.base_fee]
            .into_iter()
            .enumerate()
        {
            out[i * 8..i * 8 + 8].copy_from_slice(&word.to_be_bytes());
        }
        // The block builder never goes past these; saturating keeps a wrong caller visible.
        let index = queue_index.min(MAX_QUEUE_INDEX).to_be_bytes();
        out[24..30].copy_from_slice(&index[2..]);
        let queued = u16::try_from(queued).unwrap_or(u16::MAX);
        out[30..32].copy_from_slice(&queued.to_be_bytes());
        Bytes::copy_from_slice(&out)
    }

    /// The Portal queue index after an L2 block (0 for genesis).
    pub fn queue_index_of(header: &Header) -> u64 {
        let mut word = [0u8; 8];
        match header.extra_data.get(24..30) {
            Some(bytes) if header.number > 0 && header.extra_data.len() == EXTRA_DATA_LEN => {
                word[2..].copy_from_slice(bytes);
                u64::from_be_bytes(word)
            }
            _ => 0,
        }
    }

    /// How many of an L2 block's first transactions came from the Portal's queue.
    pub fn queued_of(header: &Header) -> usize {
        match header.extra_data.get(30..32) {
            Some(&[high, low])
                if header.number > 0 && header.extra_data.len() == EXTRA_DATA_LEN =>
            {
                usize::from(u16::from_be_bytes([high, low]))
            }
            _ => 0,
        }
    }

    /// The origin an L2 header records; `None` for a header without one (genesis).
    pub fn of_header(header: &Header) -> Option<Self> {
        let extra = header.extra_data.as_ref();
        if header.number == 0 || extra.len() != EXTRA_DATA_LEN {
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

/// Length of an L2 header's extra data: Ethereum's limit.
const EXTRA_DATA_LEN: usize = 32;

/// The largest Portal queue index an L2 header records (48 bits): the block builder stops taking
/// queue entries there.
pub const MAX_QUEUE_INDEX: u64 = (1 << 48) - 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_l2_headers_extra_data_fits_ethereums_32_bytes_and_reads_back() {
        let origin = L1Origin {
            number: u64::MAX - 1,
            hash: B256::repeat_byte(1),
            timestamp: 1_700_000_000,
            base_fee: 7,
        };
        let header = Header {
            number: 5,
            mix_hash: origin.hash,
            extra_data: origin.extra_data(MAX_QUEUE_INDEX, 256),
            ..Default::default()
        };
        assert_eq!(header.extra_data.len(), 32);
        assert_eq!(L1Origin::of_header(&header), Some(origin));
        assert_eq!(L1Origin::queue_index_of(&header), MAX_QUEUE_INDEX);
        assert_eq!(L1Origin::queued_of(&header), 256);
        // A genesis header records none, whatever its extra data says.
        let genesis = Header {
            number: 0,
            extra_data: vec![0xff; 32].into(),
            ..Default::default()
        };
        let read = (
            L1Origin::of_header(&genesis),
            L1Origin::queue_index_of(&genesis),
            L1Origin::queued_of(&genesis),
        );
        assert_eq!(read, (None, 0, 0));
    }
}
