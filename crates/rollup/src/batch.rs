//! The versioned batch format.
//!
//! ```text
//! batch   = version (1 byte) ++ compressed(rlp(Columns))
//! version = 0: brotli, 1: zstd
//! ```
//!
//! `Columns` holds the block header fields as deltas from the first block (numbers are consecutive,
//! timestamps and L1 origins never decrease) and the transaction fields column by column: types,
//! nonces, gas limits, fee caps, tips, recipients, values, inputs, access lists, signature parities,
//! r values, s values. The chain id is implied (the L2's), and senders are recovered from the
//! signatures, so neither is stored.
use alloy_consensus::{
    SignableTransaction, Transaction, TxEip1559, TxEip2930, TxLegacy, Typed2718,
};
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Address, Bytes, Signature, TxKind, U256};
use alloy_rlp::{RlpDecodable, RlpEncodable};
use std::io::{Read, Write};
use tandem_primitives::TxEnvelope;

/// One L2 block as a batch carries it: the block's inputs, not its results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchBlock {
    pub number: u64,
    pub timestamp: u64,
    /// The L1 block this L2 block derives its deposits and L1 data from.
    pub l1_origin: u64,
    /// Sequenced transactions (deposits come from L1 and are not batched).
    pub transactions: Vec<TxEnvelope>,
}

/// A run of consecutive L2 blocks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch {
    pub blocks: Vec<BatchBlock>,
}

/// How a batch's columns are compressed; the first byte of a batch says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Brotli = 0,
    Zstd = 1,
}

/// Bounds on what a decoder accepts, so hostile batch data cannot exhaust memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_decompressed_bytes: usize,
    pub max_blocks: usize,
    pub max_transactions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_decompressed_bytes: 64 * 1024 * 1024,
            max_blocks: 10_000,
            max_transactions: 200_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("empty batch")]
    Empty,
    #[error("unknown batch version {0}")]
    Version(u8),
    #[error("cannot decompress the batch: {0}")]
    Decompress(String),
    #[error("batch decompresses to more than {0} bytes")]
    TooLarge(usize),
    #[error("malformed batch: {0}")]
    Malformed(String),
    #[error("batch has {got} {what}, more than {limit}")]
    Limit {
        what: &'static str,
        got: usize,
        limit: usize,
    },
    #[error("blocks are not consecutive: {0} after {1}")]
    NotConsecutive(u64, u64),
    #[error("timestamps or L1 origins go backwards in block {0}")]
    Backwards(u64),
    #[error("transaction {index} cannot go in a batch: {reason}")]
    Unbatchable { index: usize, reason: String },
}

#[derive(Debug, Default, RlpEncodable, RlpDecodable)]
struct Columns {
    first_block: u64,
    first_timestamp: u64,
    first_l1_origin: u64,
    timestamp_deltas: Vec<u64>,
    l1_origin_deltas: Vec<u64>,
    tx_counts: Vec<u64>,
    types: Bytes,
    nonces: Vec<u64>,
    gas_limits: Vec<u64>,
    /// maxFeePerGas, or gasPrice for legacy and EIP-2930 transactions.
    fee_caps: Vec<u128>,
    /// maxPriorityFeePerGas of EIP-1559 transactions.
    tips: Vec<u128>,
    /// One bit per transaction: set for contract creations, which have no recipient.
    creations: Bytes,
    /// Each distinct recipient once, in order of first use...
    recipients: Bytes,
    /// ...and, per call, the index of its recipient in that list.
    recipient_indexes: Vec<u64>,
    /// Values as mantissa × 10^exponent: people send round amounts, whose mantissas are small.
    value_mantissas: Vec<U256>,
    value_exponents: Bytes,
    inputs: Vec<Bytes>,
    /// Access lists of EIP-2930 and EIP-1559 transactions.
    access_lists: Vec<AccessList>,
    parities: Bytes,
    rs: Bytes,
    ss: Bytes,
}

fn set_bit(bits: &mut Vec<u8>, index: usize, value: bool) {
    if bits.len() <= index / 8 {
        bits.resize(index / 8 + 1, 0);
    }
    if value {
        bits[index / 8] |= 1 << (index % 8);
    }
}

fn bit(bits: &[u8], index: usize) -> bool {
    bits.get(index / 8)
        .is_some_and(|b| b & (1 << (index % 8)) != 0)
}

impl Batch {
    /// Encodes the batch for L1. Every transaction must carry `chain_id` (EIP-155 for legacy).
    pub fn encode(&self, chain_id: u64, compression: Compression) -> Result<Vec<u8>, BatchError> {
        let columns = self.columns(chain_id)?;
        let raw = alloy_rlp::encode(&columns);
        let mut out = vec![compression as u8];
        match compression {
            Compression::Brotli => {
                let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 24);
                writer
                    .write_all(&raw)
                    .map_err(|e| BatchError::Decompress(e.to_string()))?;
            }
            Compression::Zstd => {
                out.extend(
                    zstd::bulk::compress(&raw, 19)
                        .map_err(|e| BatchError::Decompress(e.to_string()))?,
                );
            }
        }
        Ok(out)
    }

    fn columns(&self, chain_id: u64) -> Result<Columns, BatchError> {
        let first = self.blocks.first().ok_or(BatchError::Empty)?;
        let mut c = Columns {
            first_block: first.number,
            first_timestamp: first.timestamp,
            first_l1_origin: first.l1_origin,
            ..Default::default()
        };
        let (mut types, mut creations, mut recipients, mut parities, mut rs, mut ss) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        let mut known = std::collections::HashMap::new();
        let mut value_exponents = Vec::new();
        let mut previous = first;
        let mut index = 0usize;
        for (i, block) in self.blocks.iter().enumerate() {
            if i > 0 && block.number != previous.number + 1 {
                return Err(BatchError::NotConsecutive(block.number, previous.number));
            }
            if block.timestamp < previous.timestamp || block.l1_origin < previous.l1_origin {
                return Err(BatchError::Backwards(block.number));
            }
            c.timestamp_deltas
                .push(block.timestamp - previous.timestamp);
            c.l1_origin_deltas
                .push(block.l1_origin - previous.l1_origin);
            c.tx_counts.push(block.transactions.len() as u64);
            previous = block;
            for tx in &block.transactions {
                let unbatchable = |reason: &str| BatchError::Unbatchable {
                    index,
                    reason: reason.into(),
                };
                if tx.chain_id() != Some(chain_id) {
                    return Err(unbatchable("not for this chain (or not EIP-155 protected)"));
                }
                let signature = match tx {
                    TxEnvelope::Legacy(t) => t.signature(),
                    TxEnvelope::Eip2930(t) => t.signature(),
                    TxEnvelope::Eip1559(t) => t.signature(),
                    _ => {
                        return Err(unbatchable(
                            "only legacy, EIP-2930 and EIP-1559 transactions are batched",
                        ));
                    }
                };
                types.push(tx.ty());
                c.nonces.push(tx.nonce());
                c.gas_limits.push(tx.gas_limit());
                c.fee_caps.push(tx.max_fee_per_gas());
                if tx.is_eip1559() {
                    c.tips
                        .push(tx.max_priority_fee_per_gas().unwrap_or_default());
                }
                match tx.kind() {
                    TxKind::Create => set_bit(&mut creations, index, true),
                    TxKind::Call(to) => {
                        set_bit(&mut creations, index, false);
                        let next = known.len() as u64;
                        let slot = *known.entry(to).or_insert_with(|| {
                            recipients.extend_from_slice(to.as_slice());
                            next
                        });
                        c.recipient_indexes.push(slot);
                    }
                }
                let (mantissa, exponent) = split_decimal(tx.value());
                c.value_mantissas.push(mantissa);
                value_exponents.push(exponent);
                c.inputs.push(tx.input().clone());
                if let Some(list) = tx.access_list() {
                    c.access_lists.push(list.clone());
                }
                set_bit(&mut parities, index, signature.v());
                rs.extend_from_slice(&signature.r().to_be_bytes::<32>());
                ss.extend_from_slice(&signature.s().to_be_bytes::<32>());
                index += 1;
            }
        }
        c.value_exponents = value_exponents.into();
        (c.types, c.creations, c.recipients, c.parities, c.rs, c.ss) = (
            types.into(),
            creations.into(),
            recipients.into(),
            parities.into(),
            rs.into(),
            ss.into(),
        );
        Ok(c)
    }

    /// Decodes a batch posted to L1. Never panics: anything malformed is an error.
    pub fn decode(data: &[u8], chain_id: u64, limits: &Limits) -> Result<Self, BatchError> {
        let (&version, compressed) = data.split_first().ok_or(BatchError::Empty)?;
        let raw = decompress(version, compressed, limits.max_decompressed_bytes)?;
        let c: Columns =
            alloy_rlp::decode_exact(&raw).map_err(|e| BatchError::Malformed(e.to_string()))?;
        let blocks = c.tx_counts.len();
        if blocks == 0 || c.timestamp_deltas.len() != blocks || c.l1_origin_deltas.len() != blocks {
            return Err(BatchError::Malformed("block columns disagree".into()));
        }
        if blocks > limits.max_blocks {
            return Err(BatchError::Limit {
                what: "blocks",
                got: blocks,
                limit: limits.max_blocks,
            });
        }
        let total = c
            .tx_counts
            .iter()
            .try_fold(0usize, |sum, n| sum.checked_add(usize::try_from(*n).ok()?));
        let total = total
            .filter(|t| *t <= limits.max_transactions)
            .ok_or(BatchError::Limit {
                what: "transactions",
                got: c
                    .tx_counts
                    .iter()
                    .map(|n| *n as usize)
                    .fold(0, usize::saturating_add),
                limit: limits.max_transactions,
            })?;
        let columns_fit = c.types.len() == total
            && c.nonces.len() == total
            && c.gas_limits.len() == total
            && c.fee_caps.len() == total
            && c.value_mantissas.len() == total
            && c.value_exponents.len() == total
            && c.inputs.len() == total
            && c.rs.len() == total * 32
            && c.ss.len() == total * 32
            && c.parities.len() == total.div_ceil(8)
            && c.creations.len() == total.div_ceil(8);
        if !columns_fit {
            return Err(BatchError::Malformed("transaction columns disagree".into()));
        }
        let mut reader = ColumnReader {
            c: &c,
            tip: 0,
            recipient: 0,
            access_list: 0,
        };
        let mut out = Batch::default();
        let (mut number, mut timestamp, mut origin, mut index) =
            (c.first_block, c.first_timestamp, c.first_l1_origin, 0usize);
        for b in 0..blocks {
            if b > 0 {
                number = number
                    .checked_add(1)
                    .ok_or_else(|| BatchError::Malformed("block number overflows".into()))?;
            }
            timestamp = timestamp
                .checked_add(c.timestamp_deltas[b])
                .ok_or_else(|| BatchError::Malformed("timestamp overflows".into()))?;
            origin = origin
                .checked_add(c.l1_origin_deltas[b])
                .ok_or_else(|| BatchError::Malformed("L1 origin overflows".into()))?;
            let mut transactions = Vec::with_capacity(c.tx_counts[b] as usize);
            for _ in 0..c.tx_counts[b] {
                transactions.push(reader.transaction(index, chain_id)?);
                index += 1;
            }
            out.blocks.push(BatchBlock {
                number,
                timestamp,
                l1_origin: origin,
                transactions,
            });
        }
        if reader.tip != c.tips.len()
            || reader.recipient != c.recipient_indexes.len()
            || reader.access_list != c.access_lists.len()
            || !c.recipients.len().is_multiple_of(20)
        {
            return Err(BatchError::Malformed("unused column data".into()));
        }
        Ok(out)
    }
}

struct ColumnReader<'a> {
    c: &'a Columns,
    tip: usize,
    recipient: usize,
    access_list: usize,
}

impl ColumnReader<'_> {
    fn transaction(&mut self, i: usize, chain_id: u64) -> Result<TxEnvelope, BatchError> {
        let c = self.c;
        let malformed = |what: &str| BatchError::Malformed(format!("transaction {i}: {what}"));
        let to = if bit(&c.creations, i) {
            TxKind::Create
        } else {
            let slot = *c
                .recipient_indexes
                .get(self.recipient)
                .ok_or_else(|| malformed("recipients run out"))?;
            self.recipient += 1;
            let start = usize::try_from(slot)
                .ok()
                .and_then(|s| s.checked_mul(20))
                .ok_or_else(|| malformed("recipient index"))?;
            let bytes = c
                .recipients
                .get(start..start + 20)
                .ok_or_else(|| malformed("recipient index out of range"))?;
            TxKind::Call(Address::from_slice(bytes))
        };
        let mut access_list = || -> Result<AccessList, BatchError> {
            let list = c
                .access_lists
                .get(self.access_list)
                .cloned()
                .ok_or_else(|| malformed("access lists run out"))?;
            self.access_list += 1;
            Ok(list)
        };
        let signature = Signature::new(
            U256::from_be_slice(&c.rs[i * 32..i * 32 + 32]),
            U256::from_be_slice(&c.ss[i * 32..i * 32 + 32]),
            bit(&c.parities, i),
        );
        let value = join_decimal(c.value_mantissas[i], c.value_exponents[i])
            .ok_or_else(|| malformed("value overflows"))?;
        let (nonce, gas_limit, fee_cap, input) = (
            c.nonces[i],
            c.gas_limits[i],
            c.fee_caps[i],
            c.inputs[i].clone(),
        );
        Ok(match c.types[i] {
            0 => TxLegacy {
                chain_id: Some(chain_id),
                nonce,
                gas_price: fee_cap,
                gas_limit,
                to,
                value,
                input,
            }
            .into_signed(signature)
            .into(),
            1 => TxEip2930 {
                chain_id,
                nonce,
                gas_price: fee_cap,
                gas_limit,
                to,
                value,
                access_list: access_list()?,
                input,
            }
            .into_signed(signature)
            .into(),
            2 => {
                let tip = *c
                    .tips
                    .get(self.tip)
                    .ok_or_else(|| malformed("tips run out"))?;
                self.tip += 1;
                let access_list = access_list()?;
                TxEip1559 {
                    chain_id,
                    nonce,
                    gas_limit,
                    max_fee_per_gas: fee_cap,
                    max_priority_fee_per_gas: tip,
                    to,
                    value,
                    access_list,
                    input,
                }
                .into_signed(signature)
                .into()
            }
            other => return Err(malformed(&format!("unknown type {other}"))),
        })
    }
}

fn decompress(version: u8, data: &[u8], limit: usize) -> Result<Vec<u8>, BatchError> {
    let mut out = Vec::new();
    match version {
        0 => {
            brotli::Decompressor::new(data, 64 * 1024)
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| BatchError::Decompress(e.to_string()))?;
        }
        1 => {
            let decoder = zstd::stream::read::Decoder::new(data)
                .map_err(|e| BatchError::Decompress(e.to_string()))?;
            decoder
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| BatchError::Decompress(e.to_string()))?;
        }
        other => return Err(BatchError::Version(other)),
    }
    if out.len() > limit {
        return Err(BatchError::TooLarge(limit));
    }
    Ok(out)
}

/// Splits a value into mantissa and decimal exponent, taking out every trailing decimal zero.
fn split_decimal(value: U256) -> (U256, u8) {
    let ten = U256::from(10);
    let (mut mantissa, mut exponent) = (value, 0u8);
    while !mantissa.is_zero() && (mantissa % ten).is_zero() {
        mantissa /= ten;
        exponent += 1;
    }
    (mantissa, exponent)
}

/// The inverse of [`split_decimal`]; `None` when the value does not fit in 256 bits.
fn join_decimal(mantissa: U256, exponent: u8) -> Option<U256> {
    U256::from(10)
        .checked_pow(U256::from(exponent))
        .and_then(|scale| mantissa.checked_mul(scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_split_into_mantissa_and_exponent_and_back() {
        for value in [
            U256::ZERO,
            U256::from(1),
            U256::from(37) * U256::from(10u64).pow(U256::from(17)),
            U256::MAX,
            U256::from(1_000_001),
        ] {
            let (mantissa, exponent) = split_decimal(value);
            assert_eq!(join_decimal(mantissa, exponent), Some(value));
        }
        assert_eq!(split_decimal(U256::from(4_500_000)), (U256::from(45), 5));
        assert_eq!(
            join_decimal(U256::MAX, 1),
            None,
            "overflow is refused, not wrapped"
        );
    }
}
