//! The L2 state transition: a pure function from a parent L2 block (its header and post-state)
//! and the next block's inputs to that block. The sequencer, every verifier and, later, L1's
//! EXECUTE precompile run this same code, so they cannot disagree.
use crate::{BlockAttributes, Error, ExecutedBlock, Executor, TxOutcome};
use alloy_consensus::Transaction;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rlp::{RlpDecodable, RlpEncodable};
use tandem_primitives::{ChainConfig, Header, Layer, StoredTx, TxEnvelope, system};
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
    #[error("timestamp {got} is before its L1 origin's {origin}")]
    BeforeOrigin { origin: u64, got: u64 },
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
    let mut builder = L2BlockBuilder::open(
        reader,
        pending,
        state,
        chain,
        parent,
        inputs.timestamp,
        inputs.l1_origin,
    )?;
    let mut skipped = Vec::new();
    for stored in &inputs.transactions {
        match builder.execute(stored.tx.clone(), stored.sender) {
            Ok(_) => {}
            Err(e @ (Error::InvalidTx { .. } | Error::BlockFull { .. })) => {
                skipped.push((*stored.tx.tx_hash(), e.to_string()))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(L2Block {
        executed: builder.finish()?,
        skipped,
    })
}

/// An L2 block being built one transaction at a time: the sequencer's open block, and the
/// verifier's replay of a batch. [`execute_l2_block`] is this, run to the end.
pub struct L2BlockBuilder<'r, S: StateReader> {
    executor: Executor<'r, S>,
    origin: L1Origin,
}

impl<S: StateReader> std::fmt::Debug for L2BlockBuilder<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L2BlockBuilder")
            .field("number", &self.executor.header().number)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl<'r, S: StateReader> L2BlockBuilder<'r, S> {
    /// Opens the block after `parent` at `timestamp` on `origin`: checks both move forward, that
    /// the block is no older than its origin, and writes the origin into the L1Block predeploy and the header.
    pub fn open(
        reader: &'r Reader,
        pending: Option<&'r Pending>,
        state: S,
        chain: &ChainConfig,
        parent: &Header,
        timestamp: u64,
        origin: L1Origin,
    ) -> Result<Self, L2Error> {
        if chain.layer != Layer::L2 {
            return Err(L2Error::NotL2);
        }
        if timestamp < parent.timestamp {
            return Err(L2Error::TimestampBackwards {
                parent: parent.timestamp,
                got: timestamp,
            });
        }
        if timestamp < origin.timestamp {
            return Err(L2Error::BeforeOrigin {
                origin: origin.timestamp,
                got: timestamp,
            });
        }
        let previous_origin = state
            .storage(
                system::L1_BLOCK,
                B256::from(crate::system::l1_block::NUMBER_SLOT),
            )
            .map_err(Error::State)?;
        if U256::from(origin.number) < previous_origin {
            return Err(L2Error::OriginBackwards {
                parent: previous_origin.to(),
                got: origin.number,
            });
        }
        let attrs = BlockAttributes {
            timestamp,
            beneficiary: system::SEQUENCER_FEE_VAULT,
            prev_randao: origin.hash,
        };
        let mut executor = Executor::on_pending(reader, pending, state, chain, parent, &attrs);
        executor.set_l1_origin(&origin)?;
        executor.set_extra_data(origin.extra_data());
        Ok(Self { executor, origin })
    }

    /// The header fields fixed so far.
    pub fn header(&self) -> &Header {
        self.executor.header()
    }

    pub fn origin(&self) -> &L1Origin {
        &self.origin
    }

    /// The transactions executed so far and their receipts.
    pub fn executed(&self) -> (&[StoredTx], &[tandem_primitives::Receipt]) {
        self.executor.executed()
    }

    /// The nonce and balance of `address` as the block stands.
    pub fn account(&mut self, address: Address) -> Result<(u64, U256), Error> {
        self.executor.account(address)
    }

    /// Charges the L1 data fee, then executes the transaction. On an error nothing changed.
    pub fn execute(&mut self, tx: TxEnvelope, sender: Address) -> Result<TxOutcome, Error> {
        let fee = l1_fee(&tx, self.origin.base_fee);
        let hash = *tx.tx_hash();
        if tx.gas_limit() > self.executor.gas_left() {
            return Err(Error::BlockFull {
                hash,
                wanted: tx.gas_limit(),
                left: self.executor.gas_left(),
            });
        }
        let balance = self.executor.balance(sender)?;
        let needed = U256::from(tx.gas_limit())
            .saturating_mul(U256::from(tx.max_fee_per_gas()))
            .saturating_add(tx.value())
            .saturating_add(fee.fee);
        if balance < needed {
            return Err(Error::InvalidTx {
                hash,
                reason: format!(
                    "insufficient funds for gas * price + value + l1 fee: have {balance} want {needed}"
                ),
            });
        }
        if fee.fee.is_zero() {
            return self.executor.execute(tx, sender);
        }
        self.executor
            .move_balance(sender, system::L1_FEE_VAULT, fee.fee)?;
        match self.executor.execute(tx, sender) {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                // Refund: the block's state is as before the charge.
                self.executor
                    .move_balance(system::L1_FEE_VAULT, sender, fee.fee)?;
                Err(e)
            }
        }
    }

    /// Seals the block.
    pub fn finish(self) -> Result<ExecutedBlock, Error> {
        self.executor.finish()
    }
}

/// Bytes one transaction is charged for in its batch on L1 besides its calldata: what the codec
/// measures for a plain transfer (signature, nonce, gas, value, recipient, compressed).
pub const L1_TX_OVERHEAD_BYTES: u64 = 70;
/// L1 gas per byte of batch data, as Ethereum calldata (EIP-2028).
pub const L1_GAS_PER_BYTE: u64 = 16;

/// The L1 data fee of one L2 transaction, as its receipt reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct L1Fee {
    /// L1 gas the transaction's share of its batch costs.
    pub gas_used: u64,
    /// The L1 base fee of the block's L1 origin, in wei.
    pub gas_price: u64,
    /// `gas_used * gas_price`, in wei.
    pub fee: U256,
}

/// The L1 data fee of `tx` at L1 base fee `l1_base_fee`: its estimated compressed size in a
/// batch, a fixed overhead plus its calldata with zero bytes at a quarter (they compress away),
/// priced as L1 calldata.
pub fn l1_fee(tx: &TxEnvelope, l1_base_fee: u64) -> L1Fee {
    l1_data_fee(tx.input(), l1_base_fee)
}

/// [`l1_fee`] of a transaction with calldata `data`, e.g. one not signed yet.
pub fn l1_data_fee(data: &[u8], l1_base_fee: u64) -> L1Fee {
    let zeros = data.iter().filter(|b| **b == 0).count() as u64;
    let bytes = L1_TX_OVERHEAD_BYTES + (data.len() as u64 - zeros) + zeros.div_ceil(4);
    let gas_used = bytes * L1_GAS_PER_BYTE;
    L1Fee {
        gas_used,
        gas_price: l1_base_fee,
        fee: U256::from(gas_used) * U256::from(l1_base_fee),
    }
}

impl L1Origin {
    /// The origin as an L2 header's extra data (number, timestamp, base fee; the hash is the
    /// mix hash): a block alone tells which L1 block it derives from and its data price.
    pub fn extra_data(&self) -> Bytes {
        let mut out = Vec::with_capacity(24);
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.base_fee.to_be_bytes());
        out.into()
    }

    /// The origin an L2 header records; `None` for a header without one (genesis).
    pub fn of_header(header: &Header) -> Option<Self> {
        let extra = header.extra_data.as_ref();
        if extra.len() != 24 {
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
