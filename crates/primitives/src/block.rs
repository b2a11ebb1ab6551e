use crate::TxEnvelope;
use alloy_consensus::Header;
use alloy_primitives::{Address, B256};
use alloy_rlp::{RlpDecodable, RlpEncodable};

/// A transaction with its recovered sender, as kept in a block body.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct StoredTx {
    pub sender: Address,
    pub tx: TxEnvelope,
}

/// An Ethereum execution block: a header and its transactions with their senders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub header: Header,
    pub transactions: Vec<StoredTx>,
}

/// A block with its hash, keccak(rlp(header)), computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBlock {
    pub hash: B256,
    pub block: Block,
}

impl SealedBlock {
    pub fn seal(block: Block) -> Self {
        Self {
            hash: block.header.hash_slow(),
            block,
        }
    }

    pub fn header(&self) -> &Header {
        &self.block.header
    }

    pub fn number(&self) -> u64 {
        self.block.header.number
    }
}
