//! The L2 state transition: a pure function from a parent L2 block (its header and post-state)
//! and the next block's inputs to that block. The sequencer, every verifier and, later, L1's
//! EXECUTE precompile run this same code, so they cannot disagree.
use crate::{
    BlockAttributes, Error, ExecutedBlock, Executor, TxOutcome,
    budget::{Meter, Metered, QUEUE_ENTRY_BYTES, QUEUE_WITNESS, TX_WITNESS, WITNESS_BUDGET},
};
use alloy_consensus::Transaction;
use alloy_primitives::{Address, B256, U256};
use std::sync::Arc;
pub use tandem_primitives::protocol::L1Origin;
use tandem_primitives::{ChainConfig, Header, Layer, StoredTx, TxEnvelope, system};
use tandem_state::{NodeSource, StateReader};

/// Everything an L2 block is made of besides its parent: what a batch (and the deposit queue)
/// commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2BlockInputs {
    pub timestamp: u64,
    pub l1_origin: L1Origin,
    /// The Portal's queue from L1, from (at most) the next entry this chain has not included, as
    /// far as L1 has it; the block takes what its origin reaches and its gas fits.
    pub queue: Vec<QueuedTx>,
    /// Sequenced transactions with their senders, in order.
    pub transactions: Vec<StoredTx>,
}

/// A batch block's transactions with their senders, as derivation (and the DisputeGame) takes
/// them: one whose sender cannot be recovered could never have executed, and is left out.
pub fn with_senders(transactions: Vec<TxEnvelope>) -> Vec<StoredTx> {
    transactions
        .into_iter()
        .filter_map(|tx| {
            let sender = crate::recover_sender(&tx).ok()?;
            Some(StoredTx { sender, tx })
        })
        .collect()
}

/// One entry of the Portal's queue on L1: a deposit (type 0x7E) or a forced signed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedTx {
    /// Position in the queue (0, 1, 2, ...).
    pub index: u64,
    /// The L1 block that queued it: it is due in the first L2 block whose origin is at or after.
    pub l1_block: u64,
    pub tx: StoredTx,
}

impl QueuedTx {
    /// Entry `index`, queued at L1 block `l1_block`, with its sender: a deposit's `from`, a forced
    /// transaction's signer.
    pub fn new(index: u64, l1_block: u64, tx: TxEnvelope) -> Result<Self, crate::RecoveryError> {
        let sender = match &tx {
            TxEnvelope::Deposit(deposit) => deposit.from,
            signed => crate::recover_sender(signed)?,
        };
        Ok(Self {
            index,
            l1_block,
            tx: StoredTx { sender, tx },
        })
    }

    /// The L2 gas it asks for.
    pub fn gas_limit(&self) -> u64 {
        self.tx.tx.gas_limit()
    }
}

/// Most bytes of sequenced transactions (EIP-2718 encoded) one L2 block holds, so that any block
/// fits a batch by itself, whatever its transactions hold: the batch codec's columns and
/// compression add less than what is left of BatchInbox's 128 KiB (a test checks incompressible
/// blocks). With at most `gas_limit / 21,000` transactions (each uses that much), it bounds what a
/// challenge of the block decodes and recovers. BatchInbox refuses a batch with a block past
/// either bound, and the sequencer's pool refuses a larger transaction.
pub const MAX_BLOCK_DATA_BYTES: u64 = 112 * 1024;

/// What an L2 block used of its two limits besides gas, as its successor's base fee counts them
/// (recorded in the L1Block predeploy at the end of each block).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockUse {
    /// Bytes charged to the witness budget ([`WITNESS_BUDGET`]).
    pub witness: u64,
    /// Bytes of sequenced transactions ([`MAX_BLOCK_DATA_BYTES`]).
    pub data: u64,
}

/// The base fee of the L2 block after `parent`, which used `used`: EIP-1559 over the largest of
/// the gas it used and its witness and data as the same shares of the gas limit. A block full of
/// witness or data raises the base fee as a block full of gas does, so keeping others'
/// transactions out by filling either gets dearer by the block, as filling the gas does.
pub fn next_base_fee(chain: &ChainConfig, parent: &Header, used: BlockUse) -> u64 {
    let share = |bytes: u64, limit: u64| {
        let gas = u128::from(bytes) * u128::from(parent.gas_limit) / u128::from(limit);
        u64::try_from(gas).unwrap_or(u64::MAX).min(parent.gas_limit)
    };
    let used = parent
        .gas_used
        .max(share(used.witness, WITNESS_BUDGET))
        .max(share(used.data, MAX_BLOCK_DATA_BYTES));
    tandem_primitives::next_base_fee(
        &chain.fees,
        used,
        parent.gas_limit,
        parent.base_fee_per_gas.unwrap_or_default(),
    )
}

/// Why a block's sequenced transactions could not all be in one L2 block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockDataError {
    #[error("a block of {got} transactions, more than the {limit} its gas allows")]
    Transactions { got: usize, limit: u64 },
    #[error("a block of {got} transaction bytes, more than {MAX_BLOCK_DATA_BYTES}")]
    Bytes { got: u64 },
}

/// Checks that `transactions` could all be one L2 block's sequenced transactions under a block gas
/// limit of `gas_limit`: at most one per 21,000 gas (what each uses at least) and at most
/// [`MAX_BLOCK_DATA_BYTES`] of them. The state transition never builds a block past these, and
/// BatchInbox refuses a batch holding one.
pub fn check_block_data(transactions: &[TxEnvelope], gas_limit: u64) -> Result<(), BlockDataError> {
    let limit = gas_limit / MIN_TX_GAS;
    if transactions.len() as u64 > limit {
        return Err(BlockDataError::Transactions {
            got: transactions.len(),
            limit,
        });
    }
    let got = transactions
        .iter()
        .map(|tx| alloy_eips::eip2718::Encodable2718::encode_2718_len(tx) as u64)
        .sum();
    match got > MAX_BLOCK_DATA_BYTES {
        true => Err(BlockDataError::Bytes { got }),
        false => Ok(()),
    }
}

/// The least gas any transaction uses (its intrinsic gas).
pub const MIN_TX_GAS: u64 = 21_000;

/// Most Portal queue entries one L2 block takes (a rule of the state transition, so a block's queue
/// is bounded whatever the entries' gas; an L2 block fits about 1,400 plain transfers).
pub const MAX_QUEUE_ENTRIES: u64 = 256;

/// The Portal queue entries from index `from` that a block's inputs offer the state transition:
/// enough that it always stops on its own ([`MAX_QUEUE_ENTRIES`] and one more). The sequencer,
/// derivation and the challenger all offer this, so they hand the same block the same entries.
pub fn queue_offer<'a>(queue: impl IntoIterator<Item = &'a QueuedTx>, from: u64) -> Vec<QueuedTx> {
    queue
        .into_iter()
        .skip_while(|e| e.index < from)
        .take(MAX_QUEUE_ENTRIES as usize + 1)
        .cloned()
        .collect()
}

/// The Portal queue entries a challenge of L2 block `block` must hand EXECUTE, out of `queue` (the
/// entries L1 holds, in order): from the parent's next index, every entry the block took, then the
/// one after it if L1 has one. How many entries a block takes is decided by the state transition
/// alone ([`L2BlockBuilder::open`]: due, fitting the gas left and the queue's share of the witness);
/// the entry after shows EXECUTE where it stopped. The DisputeGame refuses a list the block took
/// whole while L1 holds a next entry that is due ([`queue_is_whole`]).
pub fn queue_for_challenge(queue: &[QueuedTx], parent: &Header, block: &Header) -> Vec<QueuedTx> {
    let (from, to) = (
        L1Origin::queue_index_of(parent),
        L1Origin::queue_index_of(block),
    );
    queue
        .iter()
        .filter(|e| e.index >= from && e.index <= to)
        .cloned()
        .collect()
}

/// Whether a block built from queue entries `first..first + given` could have depended on no
/// other entry: it stopped taking entries within them (`taken_to`, the queue index after the
/// block, is short of their end), or the entry after them is not due at the block's L1 origin
/// (`next_due`: L1 holds it and it was queued at or before the origin).
pub fn queue_is_whole(first: u64, given: u64, taken_to: u64, next_due: bool) -> bool {
    taken_to < first.saturating_add(given) || !next_due
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
    #[error("timestamp {got} is more than {drift} s past its L1 origin's {origin}")]
    DriftExceeded { origin: u64, got: u64, drift: u64 },
    #[error("queue entry {got} given where entry {expected} is next")]
    QueueGap { expected: u64, got: u64 },
    #[error("the parent is numbered {0}: no block can follow it")]
    LastNumber(u64),
    #[error(transparent)]
    Execution(#[from] Error),
}

/// What derivation (and EXECUTE) runs instead of one block of an accepted batch that breaks a
/// rule: a block without its sequenced transactions, at the nearest timestamp and L1 origin that
/// keep the rules (the parent's origin when the batch's goes back), with the rule it broke. `None`
/// when `inputs` keep the rules and run as they are. So every block of every batch L1 accepted is
/// exactly one L2 block, which is what lets a dispute name a block's inputs by its batch alone.
pub fn sanitize<S: StateReader>(
    inputs: &L2BlockInputs,
    parent: &Header,
    state: &S,
    chain: &ChainConfig,
) -> Result<Option<(L2BlockInputs, L2Error)>, Error> {
    use tandem_primitives::system::l1_block::{
        BASEFEE_SLOT, HASH_SLOT, NUMBER_SLOT, TIMESTAMP_SLOT,
    };
    let read = |slot: U256| state.storage(system::L1_BLOCK, B256::from(slot));
    let mut broken = None;
    let mut origin = inputs.l1_origin;
    let previous = read(NUMBER_SLOT)?.saturating_to::<u64>();
    if origin.number < previous {
        broken = Some(L2Error::OriginBackwards {
            parent: previous,
            got: origin.number,
        });
        origin = L1Origin {
            number: previous,
            hash: B256::from(read(HASH_SLOT)?),
            timestamp: read(TIMESTAMP_SLOT)?.saturating_to(),
            base_fee: read(BASEFEE_SLOT)?.saturating_to(),
        };
    }
    let (at, got) = (origin.timestamp, inputs.timestamp);
    let late = at.saturating_add(chain.max_sequencer_drift);
    let timing = if got < parent.timestamp {
        Some(L2Error::TimestampBackwards {
            parent: parent.timestamp,
            got,
        })
    } else if got < at {
        Some(L2Error::BeforeOrigin { origin: at, got })
    } else if got > late {
        Some(L2Error::DriftExceeded {
            origin: at,
            got,
            drift: chain.max_sequencer_drift,
        })
    } else {
        None
    };
    let timestamp = match timing {
        Some(_) => parent.timestamp.max(at),
        None => got,
    };
    Ok(broken.or(timing).map(|broken| {
        let instead = L2BlockInputs {
            timestamp,
            l1_origin: origin,
            queue: inputs.queue.clone(),
            transactions: Vec::new(),
        };
        (instead, broken)
    }))
}

/// The outcome of one L2 block: the block, and the transactions left out with why.
#[derive(Debug)]
pub struct L2Block {
    pub executed: ExecutedBlock,
    pub skipped: Vec<(B256, String)>,
    /// What the block charged to its witness budget: its challenge's witness and queue entries
    /// are no larger (see [`crate::budget`]).
    pub witness_bytes: u64,
}

/// Executes the next L2 block on `parent`, whose post-state `state` reads and whose trie nodes
/// `nodes` holds (the store, or a witness). Deterministic: the same parent and inputs give the same block.
pub fn execute_l2_block<S: StateReader>(
    nodes: NodeSource<'_>,
    state: S,
    chain: &ChainConfig,
    parent: &Header,
    inputs: &L2BlockInputs,
) -> Result<L2Block, L2Error> {
    execute_l2_block_traced(nodes, state, chain, parent, inputs, None)
}

/// [`execute_l2_block`], running the transactions `tracer` wants (queue entries too) under its
/// inspectors.
pub fn execute_l2_block_traced<'r, S: StateReader + 'r>(
    nodes: NodeSource<'r>,
    state: S,
    chain: &ChainConfig,
    parent: &Header,
    inputs: &L2BlockInputs,
    tracer: Option<L2Tracer<'r, S>>,
) -> Result<L2Block, L2Error> {
    let mut builder = L2BlockBuilder::open_traced(
        nodes,
        state,
        chain,
        parent,
        inputs.timestamp,
        inputs.l1_origin,
        &inputs.queue,
        tracer,
    )?;
    let mut skipped = Vec::new();
    for stored in &inputs.transactions {
        match builder.execute(stored.tx.clone(), stored.sender) {
            Ok(_) => {}
            Err(
                e @ (Error::InvalidTx { .. }
                | Error::BlockFull { .. }
                | Error::DataFull { .. }
                | Error::WitnessFull { .. }),
            ) => skipped.push((stored.tx.tx_hash(), e.to_string())),
            Err(e) => return Err(e.into()),
        }
    }
    let witness_bytes = builder.witness_bytes();
    Ok(L2Block {
        executed: builder.finish()?,
        skipped,
        witness_bytes,
    })
}

/// Derivation's state transition for one block of an accepted batch: [`sanitize`] its inputs, then
/// [`execute_l2_block`]. Verifiers, the challenger and EXECUTE all run this. Also returns the rule
/// the batch broke, if it broke one.
pub fn derive_l2_block<S: StateReader>(
    nodes: NodeSource<'_>,
    state: S,
    chain: &ChainConfig,
    parent: &Header,
    inputs: &L2BlockInputs,
) -> Result<(L2Block, Option<L2Error>), L2Error> {
    match sanitize(inputs, parent, &state, chain)? {
        None => Ok((execute_l2_block(nodes, state, chain, parent, inputs)?, None)),
        Some((instead, broken)) => Ok((
            execute_l2_block(nodes, state, chain, parent, &instead)?,
            Some(broken),
        )),
    }
}

/// A tracer of an L2 block's transactions (see [`crate::Tracer`]): the block reads its state
/// through the witness meter.
pub type L2Tracer<'r, S> = Box<dyn crate::Tracer<crate::TraceContext<Metered<'r, S>>> + 'r>;

/// An L2 block being built one transaction at a time: the sequencer's open block, and the
/// verifier's replay of a batch. [`execute_l2_block`] is this, run to the end.
pub struct L2BlockBuilder<'r, S: StateReader> {
    executor: Executor<'r, Metered<'r, S>>,
    /// The block's witness so far (see [`crate::budget`]).
    meter: Arc<Meter>,
    origin: L1Origin,
    /// How many of the block's first transactions came from the Portal's queue.
    queued: usize,
    /// The EIP-2718 bytes of its sequenced transactions so far.
    data_bytes: u64,
    /// Built by the sequencer ([`L2BlockBuilder::sequencing`]).
    sequencing: bool,
}

/// Whether the witness budget refused a read: the block's, or one transaction's share.
fn witness_refused(e: &Error) -> bool {
    matches!(
        e,
        Error::State(tandem_state::Error::WitnessBudget(_) | tandem_state::Error::TxWitness(_))
    )
}

/// Why a transaction is not in the block as it ran.
enum Attempt {
    /// It never ran (or failed validation): nothing to pay for.
    Skipped(Error),
    /// It ran, then was refused.
    Ran(Error),
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
    /// the block is no older than its origin and no further ahead than the chain's drift, writes
    /// the origin into the L1Block predeploy and the header, then includes the due part of the
    /// Portal's `queue`: in order from the next index the state records, each entry whose L1
    /// block the origin reaches, while its gas fits, the block has read less than
    /// [`QUEUE_WITNESS`] and taken fewer than [`MAX_QUEUE_ENTRIES`]. `queue` may run past what
    /// the block takes (entries not due yet included): the loop stops on its own, and nothing
    /// else decides how many entries a block takes. A deposit always lands (its mint stands even if its call fails, or reads
    /// past the witness budget); a forced transaction that is invalid, or reads past the budget,
    /// is passed over like any other.
    pub fn open(
        nodes: NodeSource<'r>,
        state: S,
        chain: &ChainConfig,
        parent: &Header,
        timestamp: u64,
        origin: L1Origin,
        queue: &[QueuedTx],
    ) -> Result<Self, L2Error> {
        Self::open_traced(nodes, state, chain, parent, timestamp, origin, queue, None)
    }

    /// [`L2BlockBuilder::open`], running the transactions `tracer` wants under its inspectors.
    #[allow(clippy::too_many_arguments)]
    pub fn open_traced(
        nodes: NodeSource<'r>,
        state: S,
        chain: &ChainConfig,
        parent: &Header,
        timestamp: u64,
        origin: L1Origin,
        queue: &[QueuedTx],
        tracer: Option<L2Tracer<'r, S>>,
    ) -> Result<Self, L2Error> {
        use tandem_primitives::system::l1_block::{QUEUE_HASH_SLOT, QUEUE_INDEX_SLOT};
        if chain.layer != Layer::L2 {
            return Err(L2Error::NotL2);
        }
        if parent.number == u64::MAX {
            return Err(L2Error::LastNumber(parent.number));
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
        if timestamp > origin.timestamp.saturating_add(chain.max_sequencer_drift) {
            return Err(L2Error::DriftExceeded {
                origin: origin.timestamp,
                got: timestamp,
                drift: chain.max_sequencer_drift,
            });
        }
        // Every read from here on is charged to the block's witness, its own bookkeeping too.
        let meter = Meter::new(WITNESS_BUDGET, parent.number);
        let state = Metered::new(state, meter.clone(), nodes, parent.state_root);
        // The output root needs the message passer's storage root, touched or not.
        state
            .account(system::L2_TO_L1_MESSAGE_PASSER)
            .map_err(Error::State)?;
        let slot = |s: U256| B256::from(s);
        let previous_origin = state
            .storage(
                system::L1_BLOCK,
                slot(tandem_primitives::system::l1_block::NUMBER_SLOT),
            )
            .map_err(Error::State)?;
        if U256::from(origin.number) < previous_origin {
            return Err(L2Error::OriginBackwards {
                parent: previous_origin.to(),
                got: origin.number,
            });
        }
        let mut next = state
            .storage(system::L1_BLOCK, slot(QUEUE_INDEX_SLOT))
            .map_err(Error::State)?
            .saturating_to::<u64>();
        let mut queue_hash = B256::from(
            state
                .storage(system::L1_BLOCK, slot(QUEUE_HASH_SLOT))
                .map_err(Error::State)?,
        );
        // What every transaction pays into (read now, so paying never needs a read).
        for vault in [system::SEQUENCER_FEE_VAULT, system::L1_FEE_VAULT] {
            state.account(vault).map_err(Error::State)?;
        }
        let used = BlockUse {
            witness: state
                .storage(
                    system::L1_BLOCK,
                    slot(tandem_primitives::system::l1_block::WITNESS_SLOT),
                )
                .map_err(Error::State)?
                .saturating_to(),
            data: state
                .storage(
                    system::L1_BLOCK,
                    slot(tandem_primitives::system::l1_block::DATA_SLOT),
                )
                .map_err(Error::State)?
                .saturating_to(),
        };
        let attrs = BlockAttributes {
            timestamp,
            beneficiary: system::SEQUENCER_FEE_VAULT,
            prev_randao: origin.hash,
        };
        let mut executor = Executor::over(nodes, state, chain, parent, &attrs);
        if let Some(tracer) = tracer {
            executor.trace(tracer);
        }
        executor.meter_writes(meter.clone());
        // What the open block wrote is what a sequencer's `pending` shows.
        executor.record_writes();
        executor.set_base_fee(next_base_fee(chain, parent, used));
        executor.set_l1_origin(&origin)?;
        let mut queued = 0;
        let first = next;
        for entry in queue {
            if entry.index < next {
                continue;
            }
            if entry.index > next {
                return Err(L2Error::QueueGap {
                    expected: next,
                    got: entry.index,
                });
            }
            // The queue takes at most half the block, in gas and in witness (reserving a whole
            // transaction's share for the entry), so sequenced transactions always have the other
            // half whatever L1 queues.
            let bytes = alloy_eips::eip2718::Encodable2718::encode_2718_len(&entry.tx.tx) as u64
                + QUEUE_ENTRY_BYTES;
            if entry.l1_block > origin.number
                || next - first >= MAX_QUEUE_ENTRIES
                || next >= tandem_primitives::protocol::MAX_QUEUE_INDEX
                || executor.header().gas_used.saturating_add(entry.gas_limit())
                    > chain.gas_limit / 2
                || meter.used() + bytes + TX_WITNESS > QUEUE_WITNESS
            {
                break;
            }
            // A challenge carries every entry the block takes: its bytes count like witness.
            meter.add(bytes);
            meter.enforce(true);
            meter.begin_transaction();
            let sender = entry.tx.sender;
            let included = match &entry.tx.tx {
                TxEnvelope::Deposit(deposit) => executor
                    .execute_deposit(deposit.inner().clone())
                    .map(|_| true),
                // A forced transaction the budget refuses before it runs (its sender's read) is
                // passed over; one that ran and was then refused is included, failed, and pays
                // for all its gas, as a sequenced one.
                tx => match executor.balance(sender) {
                    Err(e) if witness_refused(&e) => Ok(false),
                    Err(e) => Err(e),
                    Ok(_) => match executor.execute(tx.clone(), sender) {
                        Ok(_) => Ok(true),
                        Err(Error::InvalidTx { .. } | Error::BlockFull { .. }) => Ok(false),
                        Err(e) if witness_refused(&e) => {
                            meter.enforce(false);
                            executor.fail(tx.clone(), sender, None).map(|_| true)
                        }
                        Err(e) => Err(e),
                    },
                },
            };
            meter.enforce(false);
            queued += usize::from(included?);
            queue_hash =
                tandem_primitives::protocol::next_queue_hash(queue_hash, entry.tx.tx.tx_hash());
            next = next.checked_add(1).ok_or(L2Error::QueueGap {
                expected: next,
                got: entry.index,
            })?;
        }
        executor.set_queue(next, queue_hash)?;
        executor.set_extra_data(origin.extra_data(next, queued as u64));
        Ok(Self {
            executor,
            meter,
            origin,
            queued,
            data_bytes: 0,
            sequencing: false,
        })
    }

    /// How many of the block's first transactions came from the Portal's queue (they are not in
    /// the batch: derivation takes them from L1).
    pub fn queued(&self) -> usize {
        self.queued
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

    /// What the block wrote since the last call (system writes, queue entries, transactions).
    pub fn take_writes(&mut self) -> Vec<crate::Write> {
        self.executor.take_writes()
    }

    /// Charges the L1 data fee, then executes the transaction, within the block's witness budget.
    /// On an error nothing changed.
    pub fn execute(&mut self, tx: TxEnvelope, sender: Address) -> Result<TxOutcome, Error> {
        let hash = tx.tx_hash();
        let checkpoint = self.executor.checkpoint();
        self.meter.enforce(true);
        self.meter.begin_transaction();
        let attempt = self.execute_metered(tx.clone(), sender);
        self.meter.enforce(false);
        let block_full =
            |e: &Error| matches!(e, Error::State(tandem_state::Error::WitnessBudget(_)));
        let error = match attempt {
            Ok(outcome) => return Ok(outcome),
            Err(Attempt::Skipped(e)) => e,
            // The sequencer leaves a transaction the block's budget refused (the block's witness
            // is full of what others paid for) for another block, as if it had never been tried.
            Err(Attempt::Ran(e)) if self.sequencing && block_full(&e) => e,
            // It ran and cannot stand (it read past its own share, or past the block's budget in
            // a batch, or cannot pay its data fee): it is included, failed, and pays for all its
            // gas, so no such transaction is free, and a batch of them costs verifiers no work
            // nobody pays for.
            Err(Attempt::Ran(_)) => {
                let fee = l1_fee(&tx, self.origin.base_fee).fee;
                let bytes = alloy_eips::eip2718::Encodable2718::encode_2718_len(&tx) as u64;
                let outcome = self
                    .executor
                    .fail(tx, sender, Some((system::L1_FEE_VAULT, fee)))?;
                self.data_bytes += bytes;
                return Ok(outcome);
            }
        };
        if self.sequencing {
            self.executor.rollback(checkpoint);
        }
        match witness_refused(&error) {
            true => Err(Error::WitnessFull { hash }),
            false => Err(error),
        }
    }

    /// Runs `tx` within the block's rules, charging the L1 data fee once it has run. What fails
    /// before it runs is [`Attempt::Skipped`]; a transaction that ran and was then refused (the
    /// witness budget, its deletions, an unpayable fee) is [`Attempt::Ran`]. On an error nothing
    /// was committed.
    fn execute_metered(&mut self, tx: TxEnvelope, sender: Address) -> Result<TxOutcome, Attempt> {
        let fee = l1_fee(&tx, self.origin.base_fee);
        let hash = tx.tx_hash();
        if !tandem_primitives::batch::batchable(&tx) {
            return Err(Attempt::Skipped(Error::InvalidTx {
                hash,
                reason: tandem_primitives::batch::UNBATCHABLE_TYPE.into(),
            }));
        }
        let bytes = alloy_eips::eip2718::Encodable2718::encode_2718_len(&tx) as u64;
        let left = MAX_BLOCK_DATA_BYTES - self.data_bytes;
        if bytes > left {
            return Err(Attempt::Skipped(Error::DataFull { hash, bytes, left }));
        }
        if tx.gas_limit() > self.executor.gas_left() {
            return Err(Attempt::Skipped(Error::BlockFull {
                hash,
                wanted: tx.gas_limit(),
                left: self.executor.gas_left(),
            }));
        }
        let balance = self.executor.balance(sender).map_err(Attempt::Skipped)?;
        let needed = U256::from(tx.gas_limit())
            .saturating_mul(U256::from(tx.max_fee_per_gas()))
            .saturating_add(tx.value())
            .saturating_add(fee.fee);
        if balance < needed {
            return Err(Attempt::Skipped(Error::InvalidTx {
                hash,
                reason: format!(
                    "insufficient funds for gas * price + value + l1 fee: have {balance} want {needed}"
                ),
            }));
        }
        let outcome = self
            .executor
            .execute_paying(tx, sender, Some((system::L1_FEE_VAULT, fee.fee)))
            .map_err(|e| match e {
                e if witness_refused(&e) => Attempt::Ran(e),
                e @ Error::Unpayable { .. } => Attempt::Ran(e),
                e => Attempt::Skipped(e),
            })?;
        self.data_bytes += bytes;
        Ok(outcome)
    }

    /// For the sequencer: a transaction the witness budget refuses is left out rather than
    /// included as failed, and every transaction left out (refused, invalid) is forgotten: the
    /// block's witness count and revm's cache return to where they stood, so the block the
    /// sequencer builds is exactly the one every verifier derives from its transactions.
    pub fn sequencing(&mut self) {
        self.sequencing = true;
    }

    /// Witness bytes the block has charged so far (see [`crate::budget`]).
    pub fn witness_bytes(&self) -> u64 {
        self.meter.used()
    }

    /// Seals the block, recording in the L1Block predeploy what it charged to its witness budget
    /// and its transaction bytes (the next block's base fee counts them, [`next_base_fee`]).
    pub fn finish(mut self) -> Result<ExecutedBlock, Error> {
        use tandem_primitives::system::l1_block::{DATA_SLOT, WITNESS_SLOT};
        let (witness, data) = (U256::from(self.meter.used()), U256::from(self.data_bytes));
        self.executor.set_storage(
            system::L1_BLOCK,
            &[(WITNESS_SLOT, witness), (DATA_SLOT, data)],
        )?;
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
    match tx.access_list().filter(|list| !list.is_empty()) {
        // An access list rides in the batch as calldata does.
        Some(list) => {
            let mut data = tx.input().to_vec();
            alloy_rlp::Encodable::encode(list, &mut data);
            l1_data_fee(&data, l1_base_fee)
        }
        None => l1_data_fee(tx.input(), l1_base_fee),
    }
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
