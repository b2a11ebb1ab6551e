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
//!
//! Addresses are named by index into an [`AddressTable`]: every address earlier batches introduced,
//! in order of first appearance, followed by the addresses this batch introduces. A popular
//! recipient costs its 20 bytes once in the chain's life and an index after that (Arbitrum's
//! address table does the same). The table is a pure function of the batches on L1, so the batcher
//! and every verifier hold the same one. ERC-20 `transfer(address,uint256)` calls, the commonest
//! calldata, store their recipient as an index and their amount as a decimal mantissa and exponent.
use crate::TxEnvelope;
use alloy_consensus::{
    SignableTransaction, Transaction, TxEip1559, TxEip2930, TxLegacy, Typed2718,
};
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Address, Bytes, Signature, TxKind, U256};
use alloy_rlp::{RlpDecodable, RlpEncodable};
use std::{
    collections::{HashMap, HashSet},
    io::{Read, Write},
};

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

/// Addresses earlier batches introduced, in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressTable {
    addresses: Vec<Address>,
    positions: HashMap<Address, u64>,
}

impl AddressTable {
    /// The table stops growing here (about 60 MiB in memory); later addresses stay per batch.
    pub const MAX_ENTRIES: usize = 1_000_000;

    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    pub fn get(&self, index: u64) -> Option<Address> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.addresses.get(i))
            .copied()
    }

    pub fn position(&self, address: &Address) -> Option<u64> {
        self.positions.get(address).copied()
    }

    /// Appends the addresses a batch introduced, once L1 holds it (up to [`Self::MAX_ENTRIES`]).
    pub fn extend(&mut self, new: &[Address]) {
        for address in new {
            if self.addresses.len() >= Self::MAX_ENTRIES {
                return;
            }
            if !self.positions.contains_key(address) {
                self.positions.insert(*address, self.addresses.len() as u64);
                self.addresses.push(*address);
            }
        }
    }
}

/// Where a decoder looks up the addresses earlier batches introduced: an [`AddressTable`] in
/// memory (the batcher, verifiers), or BatchInbox's storage on L1.
pub trait AddressBook {
    /// How many addresses the table holds.
    fn count(&self) -> u64;
    /// The address at `index`; `None` past the end.
    fn address(&self, index: u64) -> Result<Option<Address>, BatchError>;
    /// Whether the table holds `address` already.
    fn holds(&self, address: &Address) -> Result<bool, BatchError>;
}

impl AddressBook for AddressTable {
    fn count(&self) -> u64 {
        self.len() as u64
    }

    fn address(&self, index: u64) -> Result<Option<Address>, BatchError> {
        Ok(self.get(index))
    }

    fn holds(&self, address: &Address) -> Result<bool, BatchError> {
        Ok(self.position(address).is_some())
    }
}

/// The selector of ERC-20 `transfer(address,uint256)`.
const TRANSFER_SELECTOR: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];

/// The recipient and amount of calldata that is exactly an ERC-20 `transfer` call.
fn as_transfer_call(input: &[u8]) -> Option<(Address, U256)> {
    if input.len() != 68 || input[..4] != TRANSFER_SELECTOR || input[4..16].iter().any(|b| *b != 0)
    {
        return None;
    }
    Some((
        Address::from_slice(&input[16..36]),
        U256::from_be_slice(&input[36..68]),
    ))
}

fn transfer_call(to: Address, amount: U256) -> Bytes {
    let mut input = Vec::with_capacity(68);
    input.extend_from_slice(&TRANSFER_SELECTOR);
    input.extend_from_slice(&[0u8; 12]);
    input.extend_from_slice(to.as_slice());
    input.extend_from_slice(&amount.to_be_bytes::<32>());
    input.into()
}

/// How a batch's columns are compressed; the first byte of a batch says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Brotli = 0,
    Zstd = 1,
}

/// Whether the batch format carries transactions of `tx`'s type: legacy, EIP-2930 and EIP-1559.
/// The L2 state transition takes no other sequenced transaction, so every block can be batched.
pub fn batchable(tx: &TxEnvelope) -> bool {
    matches!(
        tx,
        TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) | TxEnvelope::Eip1559(_)
    )
}

/// Why a transaction of another type is refused on L2.
pub const UNBATCHABLE_TYPE: &str = "only legacy, EIP-2930 and EIP-1559 transactions are batched";

/// Largest batch BatchInbox takes, in bytes (compressed, with its version byte). A challenge
/// carries the whole batch of its block.
pub const MAX_BATCH_BYTES: usize = 128 * 1024;

/// Bounds on what a decoder accepts, so hostile batch data cannot exhaust memory, and a challenge
/// that decodes a batch on L1 stays within one L1 block. BatchInbox, derivation and the
/// DisputeGame decode with [`Limits::default`]; the batcher posts nothing past them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_decompressed_bytes: usize,
    pub max_blocks: usize,
    pub max_transactions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_decompressed_bytes: 1024 * 1024,
            max_blocks: 2_000,
            max_transactions: 2_048,
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
    /// The address table could not be read (a storage failure, not bad batch data).
    #[error("address table: {0}")]
    Table(String),
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
    /// gasPrice for legacy and EIP-2930 transactions; maxFeePerGas - maxPriorityFeePerGas
    /// (wrapping) for EIP-1559, which wallets set to a multiple of the base fee for all.
    fee_caps: Vec<u128>,
    /// maxPriorityFeePerGas of EIP-1559 transactions.
    tips: Vec<u128>,
    /// One bit per transaction: set for contract creations, which have no recipient.
    creations: Bytes,
    /// The addresses this batch introduces, in order of first use...
    recipients: Bytes,
    /// ...and, per call (and then per ERC-20 transfer call), the index of its recipient in the
    /// address table followed by those.
    recipient_indexes: Vec<u64>,
    /// Values as mantissa × 10^exponent: people send round amounts, whose mantissas are small.
    value_mantissas: Vec<U256>,
    value_exponents: Bytes,
    inputs: Vec<Bytes>,
    /// One bit per transaction: set when the input is an ERC-20 `transfer` (its `inputs` entry is
    /// empty; the recipient is in `recipient_indexes`, the amount below).
    transfer_calls: Bytes,
    transfer_mantissas: Vec<U256>,
    transfer_exponents: Bytes,
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
    /// Encodes the batch for L1, naming addresses `table` holds by index. Every transaction must
    /// carry `chain_id` (EIP-155 for legacy). Returns the bytes and the addresses the batch
    /// introduces, for `table` once L1 holds the batch.
    pub fn encode(
        &self,
        chain_id: u64,
        compression: Compression,
        table: &AddressTable,
    ) -> Result<(Vec<u8>, Vec<Address>), BatchError> {
        let (columns, new) = self.columns(chain_id, table)?;
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
        Ok((out, new))
    }

    fn columns(
        &self,
        chain_id: u64,
        table: &AddressTable,
    ) -> Result<(Columns, Vec<Address>), BatchError> {
        let first = self.blocks.first().ok_or(BatchError::Empty)?;
        let mut c = Columns {
            first_block: first.number,
            first_timestamp: first.timestamp,
            first_l1_origin: first.l1_origin,
            ..Default::default()
        };
        let (mut types, mut creations, mut parities, mut rs, mut ss) =
            (vec![], vec![], vec![], vec![], vec![]);
        let (mut transfer_calls, mut transfer_exponents) = (vec![], vec![]);
        let mut new: Vec<Address> = Vec::new();
        let mut introduced = HashMap::new();
        let mut slot_of = |address: Address| {
            table.position(&address).unwrap_or_else(|| {
                *introduced.entry(address).or_insert_with(|| {
                    new.push(address);
                    (table.len() + new.len() - 1) as u64
                })
            })
        };
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
                    _ => return Err(unbatchable(UNBATCHABLE_TYPE)),
                };
                types.push(tx.ty());
                c.nonces.push(tx.nonce());
                c.gas_limits.push(tx.gas_limit());
                if tx.is_eip1559() {
                    let tip = tx.max_priority_fee_per_gas().unwrap_or_default();
                    c.fee_caps.push(tx.max_fee_per_gas().wrapping_sub(tip));
                    c.tips.push(tip);
                } else {
                    c.fee_caps.push(tx.max_fee_per_gas());
                }
                match tx.kind() {
                    TxKind::Create => set_bit(&mut creations, index, true),
                    TxKind::Call(to) => {
                        set_bit(&mut creations, index, false);
                        c.recipient_indexes.push(slot_of(to));
                    }
                }
                let (mantissa, exponent) = split_decimal(tx.value());
                c.value_mantissas.push(mantissa);
                value_exponents.push(exponent);
                match as_transfer_call(tx.input()) {
                    Some((to, amount)) => {
                        set_bit(&mut transfer_calls, index, true);
                        c.recipient_indexes.push(slot_of(to));
                        let (mantissa, exponent) = split_decimal(amount);
                        c.transfer_mantissas.push(mantissa);
                        transfer_exponents.push(exponent);
                        c.inputs.push(Bytes::new());
                    }
                    None => {
                        set_bit(&mut transfer_calls, index, false);
                        c.inputs.push(tx.input().clone());
                    }
                }
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
        c.transfer_calls = transfer_calls.into();
        c.transfer_exponents = transfer_exponents.into();
        c.recipients = new.iter().flat_map(|a| a.0).collect::<Vec<u8>>().into();
        (c.types, c.creations, c.parities, c.rs, c.ss) = (
            types.into(),
            creations.into(),
            parities.into(),
            rs.into(),
            ss.into(),
        );
        Ok((c, new))
    }

    /// Decodes a batch posted to L1 against the address table of the batches before it. Returns
    /// the batch and the addresses it introduces. Never panics: anything malformed is an error.
    pub fn decode(
        data: &[u8],
        chain_id: u64,
        limits: &Limits,
        table: &dyn AddressBook,
    ) -> Result<(Self, Vec<Address>), BatchError> {
        Self::decode_measured(data, chain_id, limits, table).map(|(batch, new, _)| (batch, new))
    }

    /// [`Batch::decode`], also returning how many bytes the data decompressed to (what decoding
    /// it on L1 is charged for).
    pub fn decode_measured(
        data: &[u8],
        chain_id: u64,
        limits: &Limits,
        table: &dyn AddressBook,
    ) -> Result<(Self, Vec<Address>, usize), BatchError> {
        let (&version, compressed) = data.split_first().ok_or(BatchError::Empty)?;
        let raw = decompress(version, compressed, limits.max_decompressed_bytes)?;
        let raw_len = raw.len();
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
            && c.creations.len() == total.div_ceil(8)
            && c.transfer_calls.len() == total.div_ceil(8)
            && c.transfer_mantissas.len() == c.transfer_exponents.len()
            && c.recipients.len().is_multiple_of(20);
        if !columns_fit {
            return Err(BatchError::Malformed("transaction columns disagree".into()));
        }
        // Each transaction names at most two addresses (its recipient, an ERC-20 transfer's), and
        // each address a batch introduces is named: checked before any is looked up.
        if c.recipient_indexes.len() > 2 * total
            || c.recipients.len() / 20 > c.recipient_indexes.len()
        {
            return Err(BatchError::Malformed(
                "more addresses than its transactions name".into(),
            ));
        }
        let new: Vec<Address> = c.recipients.chunks(20).map(Address::from_slice).collect();
        let mut seen = HashSet::with_capacity(new.len());
        for address in &new {
            if !seen.insert(*address) || table.holds(address)? {
                return Err(BatchError::Malformed(
                    "an introduced address is already known".into(),
                ));
            }
        }
        let mut reader = ColumnReader {
            c: &c,
            table,
            new: &new,
            named: vec![false; new.len()],
            tip: 0,
            recipient: 0,
            transfer: 0,
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
            || reader.transfer != c.transfer_mantissas.len()
            || reader.access_list != c.access_lists.len()
        {
            return Err(BatchError::Malformed("unused column data".into()));
        }
        if reader.named.contains(&false) {
            return Err(BatchError::Malformed(
                "an introduced address is never named".into(),
            ));
        }
        Ok((out, new, raw_len))
    }
}

struct ColumnReader<'a> {
    c: &'a Columns,
    table: &'a dyn AddressBook,
    new: &'a [Address],
    /// Which of the introduced addresses a transaction named.
    named: Vec<bool>,
    tip: usize,
    recipient: usize,
    transfer: usize,
    access_list: usize,
}

impl ColumnReader<'_> {
    /// The next address of `recipient_indexes`, from the table or the batch's new ones.
    fn next_address(&mut self) -> Result<Option<Address>, BatchError> {
        let Some(slot) = self.c.recipient_indexes.get(self.recipient).copied() else {
            return Ok(None);
        };
        self.recipient += 1;
        match slot.checked_sub(self.table.count()) {
            None => self.table.address(slot),
            Some(i) => {
                let i = usize::try_from(i).ok().filter(|i| *i < self.new.len());
                Ok(i.map(|i| {
                    self.named[i] = true;
                    self.new[i]
                }))
            }
        }
    }

    fn transaction(&mut self, i: usize, chain_id: u64) -> Result<TxEnvelope, BatchError> {
        let c = self.c;
        let malformed = |what: &str| BatchError::Malformed(format!("transaction {i}: {what}"));
        let to = if bit(&c.creations, i) {
            TxKind::Create
        } else {
            TxKind::Call(
                self.next_address()?
                    .ok_or_else(|| malformed("recipient index out of range"))?,
            )
        };
        let input = if bit(&c.transfer_calls, i) {
            if !c.inputs[i].is_empty() {
                return Err(malformed("a transfer call with calldata"));
            }
            let to = self
                .next_address()?
                .ok_or_else(|| malformed("transfer recipient index out of range"))?;
            let (mantissa, exponent) = c
                .transfer_mantissas
                .get(self.transfer)
                .zip(c.transfer_exponents.get(self.transfer))
                .ok_or_else(|| malformed("transfer amounts run out"))?;
            self.transfer += 1;
            let amount = join_decimal(*mantissa, *exponent)
                .ok_or_else(|| malformed("transfer amount overflows"))?;
            transfer_call(to, amount)
        } else {
            c.inputs[i].clone()
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
        let (nonce, gas_limit, fee_cap) = (c.nonces[i], c.gas_limits[i], c.fee_caps[i]);
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
                    max_fee_per_gas: fee_cap.wrapping_add(tip),
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

/// Decompresses one whole stream: bytes after its end are refused, so a batch has one encoding.
fn decompress(version: u8, data: &[u8], limit: usize) -> Result<Vec<u8>, BatchError> {
    let bad = |e: std::io::Error| BatchError::Decompress(e.to_string());
    let out = match version {
        0 => brotli_whole(data, limit)?,
        1 => {
            let frame = zstd::zstd_safe::find_frame_compressed_size(data).map_err(|code| {
                BatchError::Decompress(zstd::zstd_safe::get_error_name(code).into())
            })?;
            if frame < data.len() {
                return Err(trailing(data.len() - frame));
            }
            let mut out = Vec::new();
            zstd::stream::read::Decoder::new(data)
                .map_err(bad)?
                .single_frame()
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(bad)?;
            out
        }
        other => return Err(BatchError::Version(other)),
    };
    if out.len() > limit {
        return Err(BatchError::TooLarge(limit));
    }
    Ok(out)
}

fn trailing(bytes: usize) -> BatchError {
    BatchError::Decompress(format!("{bytes} bytes after the stream"))
}

/// One brotli stream that is all of `data`, decompressed to at most `limit` bytes (one more
/// shows it is too large).
fn brotli_whole(data: &[u8], limit: usize) -> Result<Vec<u8>, BatchError> {
    use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};
    let mut state = BrotliState::new(
        StandardAlloc::default(),
        StandardAlloc::default(),
        StandardAlloc::default(),
    );
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let (mut available_in, mut input_offset) = (data.len(), 0);
    loop {
        let (mut available_out, mut output_offset, mut total) = (chunk.len(), 0, 0);
        let result = BrotliDecompressStream(
            &mut available_in,
            &mut input_offset,
            data,
            &mut available_out,
            &mut output_offset,
            &mut chunk,
            &mut total,
            &mut state,
        );
        out.extend_from_slice(&chunk[..output_offset]);
        if out.len() > limit {
            return Ok(out);
        }
        match result {
            BrotliResult::ResultSuccess if available_in > 0 => return Err(trailing(available_in)),
            BrotliResult::ResultSuccess => return Ok(out),
            BrotliResult::NeedsMoreOutput => {}
            BrotliResult::NeedsMoreInput => {
                return Err(BatchError::Decompress("the stream ends early".into()));
            }
            BrotliResult::ResultFailure => {
                return Err(BatchError::Decompress("not a brotli stream".into()));
            }
        }
    }
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
    fn a_batch_introducing_an_address_no_transaction_names_is_refused() {
        let account = crate::dev::accounts()[0].clone();
        let transfer = |nonce: u64, to: Address| {
            account.sign(alloy_consensus::TxEip1559 {
                chain_id: 901,
                nonce,
                gas_limit: 21_000,
                max_fee_per_gas: 1,
                to: alloy_primitives::TxKind::Call(to),
                ..Default::default()
            })
        };
        let batch = Batch {
            blocks: vec![BatchBlock {
                number: 1,
                timestamp: 1,
                l1_origin: 0,
                transactions: vec![
                    transfer(0, Address::with_last_byte(1)),
                    transfer(1, Address::with_last_byte(1)),
                    transfer(2, Address::with_last_byte(2)),
                ],
            }],
        };
        let table = AddressTable::default();
        let decode = |columns: &Columns| {
            let mut data = vec![Compression::Zstd as u8];
            data.extend(zstd::bulk::compress(&alloy_rlp::encode(columns), 1).unwrap());
            Batch::decode(&data, 901, &Limits::default(), &table)
        };
        let (columns, _) = batch.columns(901, &table).unwrap();
        assert_eq!(decode(&columns).unwrap().0, batch);
        // The last transaction names the first address instead: the second goes unnamed.
        let mut unnamed = batch.columns(901, &table).unwrap().0;
        assert_eq!(unnamed.recipient_indexes, vec![0, 0, 1]);
        unnamed.recipient_indexes[2] = 0;
        assert!(matches!(
            decode(&unnamed),
            Err(BatchError::Malformed(reason)) if reason.contains("never named")
        ));
        // More introduced addresses than it has address slots: refused before any lookup.
        let mut many = batch.columns(901, &table).unwrap().0;
        for i in 0..10u8 {
            many.recipients = [
                &many.recipients[..],
                Address::with_last_byte(10 + i).as_slice(),
            ]
            .concat()
            .into();
        }
        assert!(matches!(
            decode(&many),
            Err(BatchError::Malformed(reason)) if reason.contains("more addresses")
        ));
    }

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
