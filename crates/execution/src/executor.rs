use crate::{BlockAttributes, block_env, cfg_env, tx_env};
use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, Header, Transaction, Typed2718, proofs};
use alloy_eips::eip7685::EMPTY_REQUESTS_HASH;
use alloy_primitives::{Address, B256, Bloom, Bytes, U256};
use revm::{
    context_interface::result::{EVMError, ExecutionResult},
    database::{State, WrapDatabaseRef, states::bundle_state::BundleRetention},
};
use std::collections::BTreeMap;
use tandem_primitives::{
    Block, ChainConfig, Genesis, Layer, Receipt, SealedBlock, StoredTx, TxDeposit, TxEnvelope,
    TxType, genesis, next_base_fee,
};
use tandem_state::{
    AccountChange, EMPTY_ROOT_HASH, NodeSource, Pending, StateChanges, StateDb, StateReader,
};
use tandem_storage::{BlockCommit, Reader, StateDiff};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The transaction cannot be included; nothing changed. Not fatal for the block.
    #[error("invalid transaction {hash}: {reason}")]
    InvalidTx { hash: B256, reason: String },
    /// The transaction does not fit in what is left of the block. Not fatal for the block.
    #[error("transaction {hash} wants {wanted} gas, the block has {left} left")]
    BlockFull { hash: B256, wanted: u64, left: u64 },
    /// L2: the block's sequenced transactions would pass [`crate::l2::MAX_BLOCK_DATA_BYTES`], so
    /// the block would not fit a batch. Not fatal for the block.
    #[error("transaction {hash} is {bytes} bytes, the block has room for {left} more")]
    DataFull { hash: B256, bytes: u64, left: u64 },
    /// L2: the transaction ran, and its sender's balance after it no longer covers its data fee.
    #[error("transaction {hash} cannot pay its L1 data fee after running")]
    Unpayable { hash: B256 },
    /// L2: the transaction reads more state than the block's witness budget has left (see
    /// [`crate::budget`]); nothing changed. Not fatal for the block.
    #[error("transaction {hash} reads more state than the block's witness budget has left")]
    WitnessFull { hash: B256 },
    #[error(transparent)]
    State(#[from] tandem_state::Error),
    #[error(transparent)]
    Unchallengeable(#[from] crate::challenge_cost::Unchallengeable),
    #[error("evm: {0}")]
    Evm(String),
}

/// What a dev node's edit sets on one account ([`Executor::edit_account`]); `None` keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountEdit {
    pub balance: Option<U256>,
    pub nonce: Option<u64>,
    pub code: Option<Bytes>,
    /// Slots and their new values.
    pub storage: Vec<(U256, U256)>,
}

/// The result of one included transaction.
#[derive(Debug, Clone)]
pub struct TxOutcome {
    pub gas_used: u64,
    pub result: ExecutionResult,
}

/// A block executed on top of its parent, ready to commit.
#[derive(Debug, Clone)]
pub struct ExecutedBlock {
    pub block: SealedBlock,
    pub receipts: Vec<Receipt>,
    pub diff: StateDiff,
}

impl ExecutedBlock {
    pub fn into_commit(self) -> BlockCommit {
        BlockCommit {
            block: self.block,
            receipts: self.receipts,
            state: self.diff,
        }
    }
}

/// The state an [`Executor`] runs its block on: the parent's, with what the block wrote so far.
pub type ExecutorDb<S> = State<WrapDatabaseRef<StateDb<S>>>;
type Db<S> = ExecutorDb<S>;

/// The context a traced transaction's inspector sees.
pub type TraceContext<S> = revm::handler::MainnetContext<ExecutorDb<S>>;

/// Follows a block's transactions as they execute, to trace the ones it wants (`debug_trace*`,
/// `trace_*`): each runs once, as the block runs it, under the tracer's inspector.
pub trait Tracer<CTX>: Send {
    /// The inspector to run the block's transaction number `index` (hash `hash`) under; `None`
    /// runs it plainly. A transaction tried and left out of the block is asked for again under
    /// the index the next one takes.
    fn begin(&mut self, index: usize, hash: B256) -> Option<Box<dyn revm::Inspector<CTX> + Send>>;
    /// A transaction `begin` gave an inspector for has run: what it ran, in what block, its
    /// outcome and the state it writes (not committed yet), and the block's state before it.
    fn end(&mut self, ran: Traced<'_>);
}

/// One transaction a [`Tracer`] watched run.
pub struct Traced<'a> {
    pub index: usize,
    pub hash: B256,
    pub env: &'a revm::context::TxEnv,
    pub block: &'a revm::context::BlockEnv,
    pub outcome: &'a revm::context_interface::result::ResultAndState,
    /// The block's state before the transaction.
    pub db: &'a dyn revm::DatabaseRef<Error = revm::database_interface::ErasedError>,
}

/// A state read through [`Traced::db`]: any database, its errors erased.
pub struct TraceDb<D>(pub D);

impl<D: revm::DatabaseRef> revm::DatabaseRef for TraceDb<D> {
    type Error = revm::database_interface::ErasedError;

    fn basic_ref(&self, address: Address) -> Result<Option<revm::state::AccountInfo>, Self::Error> {
        self.0
            .basic_ref(address)
            .map_err(revm::database_interface::ErasedError::new)
    }

    fn code_by_hash_ref(&self, hash: B256) -> Result<revm::bytecode::Bytecode, Self::Error> {
        self.0
            .code_by_hash_ref(hash)
            .map_err(revm::database_interface::ErasedError::new)
    }

    fn storage_ref(&self, address: Address, slot: U256) -> Result<U256, Self::Error> {
        self.0
            .storage_ref(address, slot)
            .map_err(revm::database_interface::ErasedError::new)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        self.0
            .block_hash_ref(number)
            .map_err(revm::database_interface::ErasedError::new)
    }
}

/// Executes transactions one by one into a new block on top of `parent`.
pub struct Executor<'r, S: StateReader> {
    /// Where the parent's trie nodes are read for the new state root.
    nodes: NodeSource<'r>,
    parent: Header,
    header: Header,
    evm: crate::TandemEvm<Db<S>>,
    layer: Layer,
    /// [`ChainConfig::soft_gas_limit`].
    soft_gas_limit: u64,
    transactions: Vec<StoredTx>,
    receipts: Vec<Receipt>,
    /// (L2) The block's witness meter, charged for what each write deletes before it commits.
    meter: Option<std::sync::Arc<crate::budget::Meter>>,
    tracer: Option<Box<dyn Tracer<TraceContext<S>> + 'r>>,
    /// The transaction the tracer's inspector just ran (its index, hash and environment), until
    /// its outcome is final and handed to the tracer ([`Executor::traced`]).
    inspected: Option<(usize, B256, revm::context::TxEnv)>,
    /// What each commit wrote since the last [`Executor::take_writes`], when recorded.
    writes: Option<Vec<Write>>,
}

/// One account as a commit left it: what the open block's `pending` state shows of it
/// ([`Executor::record_writes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub address: Address,
    pub balance: U256,
    pub nonce: u64,
    pub code_hash: B256,
    /// Its code, when the write set it (a creation, an EIP-7702 delegation).
    pub code: Option<Bytes>,
    /// Its storage was emptied first (created or self-destructed in this block).
    pub wiped: bool,
    /// It is gone (self-destructed).
    pub destroyed: bool,
    /// The slots written, with their new values.
    pub storage: Vec<(U256, U256)>,
}

impl<S: StateReader> std::fmt::Debug for Executor<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("number", &self.header.number)
            .finish_non_exhaustive()
    }
}

impl<'r, S: StateReader> Executor<'r, S> {
    /// Starts a block on top of the committed `parent`, whose post-state `state` reads.
    pub fn new(
        reader: &'r Reader,
        state: S,
        chain: &ChainConfig,
        parent: &Header,
        attrs: &BlockAttributes,
    ) -> Self {
        Self::on_pending(reader, None, state, chain, parent, attrs)
    }

    /// Starts a block on top of `parent`, which may sit on uncommitted `pending` blocks; `state`
    /// must read the parent's post-state (e.g. [`Pending::state`]).
    pub fn on_pending(
        reader: &'r Reader,
        pending: Option<&'r Pending>,
        state: S,
        chain: &ChainConfig,
        parent: &Header,
        attrs: &BlockAttributes,
    ) -> Self {
        Self::over(
            NodeSource::store(reader, pending),
            state,
            chain,
            parent,
            attrs,
        )
    }

    /// Starts a block on top of `parent`, with `state` reading its post-state and the new state
    /// root computed over the trie nodes of `nodes` (the store, or a witness).
    pub fn over(
        nodes: NodeSource<'r>,
        state: S,
        chain: &ChainConfig,
        parent: &Header,
        attrs: &BlockAttributes,
    ) -> Self {
        let base_fee = next_base_fee(
            &chain.fees,
            parent.gas_used,
            parent.gas_limit,
            parent.base_fee_per_gas.unwrap_or_default(),
        );
        // Saturating: the L2 transition refuses a parent at u64::MAX before it gets here
        // ([`crate::l2::L2Error::LastNumber`]); an L1 chain never reaches it.
        let number = parent.number.saturating_add(1);
        let header = Header {
            parent_hash: parent.hash_slow(),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: attrs.beneficiary,
            number,
            gas_limit: chain.gas_limit,
            timestamp: attrs.timestamp.max(parent.timestamp),
            mix_hash: attrs.prev_randao,
            base_fee_per_gas: Some(base_fee),
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: Some(EMPTY_REQUESTS_HASH),
            ..Default::default()
        };
        let db = State::builder()
            .with_database_ref(StateDb(state))
            .with_bundle_update()
            .build();
        let evm = crate::build_evm(
            db,
            cfg_env(chain.chain_id),
            // What the EVM's TIMESTAMP reads is the header's: never before the parent's.
            block_env(
                number,
                &BlockAttributes {
                    timestamp: header.timestamp,
                    ..*attrs
                },
                chain.gas_limit,
                base_fee,
            ),
            chain.layer,
        );
        Self {
            nodes,
            parent: parent.clone(),
            header,
            evm,
            layer: chain.layer,
            soft_gas_limit: chain.soft_gas_limit(),
            transactions: Vec::new(),
            receipts: Vec::new(),
            writes: None,
            meter: None,
            tracer: None,
            inspected: None,
        }
    }

    /// Runs the transactions `tracer` wants under its inspectors from now on.
    pub fn trace(&mut self, tracer: Box<dyn Tracer<TraceContext<S>> + 'r>) {
        self.tracer = Some(tracer);
    }

    /// Records what every commit writes from now on, for [`Executor::take_writes`] (a
    /// sequencer's open block, which its `pending` state shows).
    pub fn record_writes(&mut self) {
        self.writes.get_or_insert_with(Vec::new);
    }

    /// What was written since the last call, oldest first (empty unless recorded).
    pub fn take_writes(&mut self) -> Vec<Write> {
        self.writes.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// (L2) Charges what every write deletes to the block's witness `meter` before it commits
    /// ([`crate::budget::Meter::charge_writes`]); a write refused there is dropped whole.
    pub fn meter_writes(&mut self, meter: std::sync::Arc<crate::budget::Meter>) {
        self.meter = Some(meter);
    }

    /// Commits one transaction's (or one direct write's) state to the block, once the witness
    /// meter, if any, has taken what it deletes; refused, nothing is committed.
    fn commit(&mut self, state: revm::state::EvmState) -> Result<(), Error> {
        use revm::ExecuteCommitEvm;
        if let Some(meter) = &self.meter {
            meter.charge_writes(&state)?;
        }
        if let Some(writes) = &mut self.writes {
            writes.extend(
                state
                    .iter()
                    .filter(|(_, a)| a.is_touched())
                    .map(|(address, a)| {
                        let wiped = a.is_created() || a.is_selfdestructed();
                        Write {
                            address: *address,
                            balance: a.info.balance,
                            nonce: a.info.nonce,
                            code_hash: a.info.code_hash,
                            code: a
                                .info
                                .code
                                .as_ref()
                                .filter(|_| {
                                    wiped || a.info.code_hash != revm::primitives::KECCAK_EMPTY
                                })
                                .map(|c| c.original_bytes()),
                            wiped,
                            destroyed: a.is_selfdestructed(),
                            storage: a
                                .storage
                                .iter()
                                .filter(|(_, slot)| wiped || slot.is_changed())
                                .map(|(key, slot)| (*key, slot.present_value))
                                .collect(),
                        }
                    }),
            );
        }
        self.evm.commit(state);
        Ok(())
    }

    /// L2 only: records the block's L1 origin in the L1Block predeploy, before any transaction.
    pub fn set_l1_origin(
        &mut self,
        origin: &tandem_primitives::protocol::L1Origin,
    ) -> Result<(), Error> {
        use tandem_primitives::system::L1_BLOCK;
        use tandem_primitives::system::l1_block::{
            BASEFEE_SLOT, HASH_SLOT, NUMBER_SLOT, TIMESTAMP_SLOT,
        };
        let slots = [
            (NUMBER_SLOT, U256::from(origin.number)),
            (TIMESTAMP_SLOT, U256::from(origin.timestamp)),
            (BASEFEE_SLOT, U256::from(origin.base_fee)),
            (HASH_SLOT, U256::from_be_bytes(origin.hash.0)),
        ];
        self.write_outside_evm(L1_BLOCK, |_| {}, &slots)
    }

    /// Records in the L1Block predeploy the next Portal queue index and the queue hash so far.
    pub fn set_queue(&mut self, next_index: u64, queue_hash: B256) -> Result<(), Error> {
        use tandem_primitives::system::l1_block::{QUEUE_HASH_SLOT, QUEUE_INDEX_SLOT};
        let slots = [
            (QUEUE_INDEX_SLOT, U256::from(next_index)),
            (QUEUE_HASH_SLOT, U256::from_be_bytes(queue_hash.0)),
        ];
        self.write_outside_evm(tandem_primitives::system::L1_BLOCK, |_| {}, &slots)
    }

    /// Sets the block's base fee, before any transaction (L2's counts its parent's witness).
    pub fn set_base_fee(&mut self, base_fee: u64) {
        self.header.base_fee_per_gas = Some(base_fee);
        self.evm.ctx.block.basefee = base_fee;
    }

    /// Writes storage `slots` of system contract `address` directly, between transactions.
    pub fn set_storage(&mut self, address: Address, slots: &[(U256, U256)]) -> Result<(), Error> {
        self.write_outside_evm(address, |_| {}, slots)
    }

    /// Sets the header's extra data (the L2 block records its L1 origin there).
    pub fn set_extra_data(&mut self, extra: Bytes) {
        self.header.extra_data = extra;
    }

    /// The transactions executed so far and their receipts.
    pub fn executed(&self) -> (&[StoredTx], &[Receipt]) {
        (&self.transactions, &self.receipts)
    }

    /// The nonce and balance of `address` as the block stands.
    pub fn account(&mut self, address: Address) -> Result<(u64, U256), Error> {
        use revm::Database;
        let db = &mut self.evm.ctx.journaled_state.database;
        Ok(db
            .basic(address)
            .map_err(database_error)?
            .map(|info| (info.nonce, info.balance))
            .unwrap_or_default())
    }

    /// The balance of `address` as the block stands.
    pub fn balance(&mut self, address: Address) -> Result<U256, Error> {
        use revm::Database;
        let db = &mut self.evm.ctx.journaled_state.database;
        Ok(db
            .basic(address)
            .map_err(database_error)?
            .map(|info| info.balance)
            .unwrap_or_default())
    }

    /// Moves `amount` from `from` to `to` outside any transaction (the L2 data fee). The caller
    /// checks `from` holds it.
    pub fn move_balance(&mut self, from: Address, to: Address, amount: U256) -> Result<(), Error> {
        self.write_outside_evm(from, |info| info.balance -= amount, &[])?;
        self.write_outside_evm(to, |info| info.balance += amount, &[])
    }

    /// A dev node's edit of one account (`anvil_setBalance`, `setNonce`, `setCode`,
    /// `setStorageAt`), written into the block's state before its transactions, as a system
    /// write is, so the block's state root covers it.
    pub fn edit_account(&mut self, address: Address, edit: &AccountEdit) -> Result<(), Error> {
        let code = match &edit.code {
            Some(code) => Some(
                revm::bytecode::Bytecode::new_raw_checked(code.clone())
                    .map_err(|e| Error::Evm(format!("code for {address} is not valid: {e}")))?,
            ),
            None => None,
        };
        self.write_outside_evm(
            address,
            |info| {
                if let Some(balance) = edit.balance {
                    info.balance = balance;
                }
                if let Some(nonce) = edit.nonce {
                    info.nonce = nonce;
                }
                if let Some(code) = code {
                    info.code_hash = code.hash_slow();
                    info.code = Some(code);
                }
            },
            &edit.storage,
        )
    }

    /// Changes one account's fields and storage directly in the block's state, between transactions.
    fn write_outside_evm(
        &mut self,
        address: Address,
        update: impl FnOnce(&mut revm::state::AccountInfo),
        slots: &[(U256, U256)],
    ) -> Result<(), Error> {
        use revm::{
            Database,
            state::{Account, EvmStorageSlot},
        };
        let db = &mut self.evm.ctx.journaled_state.database;
        let mut info = db
            .basic(address)
            .map_err(database_error)?
            .unwrap_or_default();
        update(&mut info);
        let mut account = Account::from(info).with_touched_mark();
        for (slot, value) in slots {
            let original = db.storage(address, *slot).map_err(database_error)?;
            account.storage.insert(
                *slot,
                EvmStorageSlot::new_changed(original, *value, revm::state::TransactionId::ZERO),
            );
        }
        let mut changes = revm::primitives::AddressMap::default();
        changes.insert(address, account);
        self.commit(changes)
    }

    /// The header fields fixed so far (number, base fee, gas used, ...).
    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn gas_left(&self) -> u64 {
        self.header.gas_limit - self.header.gas_used
    }

    /// Executes one signed transaction into the block. On an error nothing changed.
    pub fn execute(&mut self, tx: TxEnvelope, sender: Address) -> Result<TxOutcome, Error> {
        self.execute_paying(tx, sender, None)
    }

    /// [`Executor::execute`], also moving `fee` = (recipient, amount) from the sender once the
    /// transaction has run (L2's data fee): if the sender's balance after it no longer covers
    /// the fee, the transaction is [`Error::Unpayable`] and nothing changed.
    pub fn execute_paying(
        &mut self,
        tx: TxEnvelope,
        sender: Address,
        fee: Option<(Address, U256)>,
    ) -> Result<TxOutcome, Error> {
        let hash = tx.tx_hash();
        self.check_fits(&tx)?;
        self.evm.ctx.cfg.tx_gas_limit_cap = Some(crate::tx_gas_limit_cap(
            self.layer,
            tx.kind(),
            self.header.gas_limit,
        ));
        let (result, mut state) = self.transact_uncommitted(tx_env(&tx, sender), hash)?;
        if let Some((to, amount)) = fee.filter(|(_, amount)| !amount.is_zero()) {
            self.add_transfer(&mut state, sender, to, amount)
                .ok_or(Error::Unpayable { hash })??;
        }
        let (result, state) = self.traced(result, state);
        self.commit(state)?;
        let gas_used = result.tx_gas_used();
        self.record(tx, sender, result.is_success(), gas_used, result.logs());
        Ok(TxOutcome { gas_used, result })
    }

    /// Includes `tx` as a failed transaction that used all its gas, without running it: the
    /// sender's nonce advances and it pays its whole gas limit at the block's price (the tip to
    /// the beneficiary, the base fee burnt) and `fee` (recipient, amount). L2's answer to a
    /// transaction that ran and was refused (the witness budget, an unpayable data fee): its work
    /// is paid. The caller has checked that the sender holds all of it.
    pub fn fail(
        &mut self,
        tx: TxEnvelope,
        sender: Address,
        fee: Option<(Address, U256)>,
    ) -> Result<TxOutcome, Error> {
        self.check_fits(&tx)?;
        let gas = tx.gas_limit();
        let base_fee = u128::from(self.header.base_fee_per_gas.unwrap_or_default());
        let price = tx.effective_gas_price(Some(base_fee as u64));
        let tip = price.saturating_sub(base_fee);
        let (recipient, extra) = fee.unwrap_or_default();
        let paid = U256::from(gas).saturating_mul(U256::from(price));
        self.write_outside_evm(
            sender,
            |info| {
                info.nonce = info.nonce.saturating_add(1);
                info.balance = info.balance.saturating_sub(paid.saturating_add(extra));
            },
            &[],
        )?;
        let beneficiary = self.header.beneficiary;
        let reward = U256::from(gas).saturating_mul(U256::from(tip));
        self.write_outside_evm(beneficiary, |info| info.balance += reward, &[])?;
        if !extra.is_zero() {
            self.write_outside_evm(recipient, |info| info.balance += extra, &[])?;
        }
        self.record(tx, sender, false, gas, &[]);
        let result = ExecutionResult::Halt {
            reason: revm::context_interface::result::HaltReason::OutOfGas(
                revm::context_interface::result::OutOfGasError::Basic,
            ),
            gas: revm::context_interface::result::ResultGas::default().with_total_gas_spent(gas),
            logs: Vec::new(),
        };
        Ok(TxOutcome {
            gas_used: gas,
            result,
        })
    }

    /// Refuses a transaction the block cannot take at all: a deposit or an unsigned one, or one
    /// asking more gas than the block has left.
    fn check_fits(&self, tx: &TxEnvelope) -> Result<(), Error> {
        let hash = tx.tx_hash();
        if tx.is_deposit() || tx.signature().is_none() {
            return Err(Error::InvalidTx {
                hash,
                reason: "transaction type not supported".into(),
            });
        }
        // An ordinary transaction fills the block up to its soft limit; a challenge up to the
        // limit itself, so the room above the soft limit is always there for challenges.
        let left = match crate::settles_dispute(self.layer, tx.kind()) {
            true => self.gas_left(),
            false => self.soft_gas_limit.saturating_sub(self.header.gas_used),
        };
        match tx.gas_limit() > left {
            true => Err(Error::BlockFull {
                hash,
                wanted: tx.gas_limit(),
                left,
            }),
            false => Ok(()),
        }
    }

    /// Adds an included transaction's receipt and gas to the block.
    fn record(
        &mut self,
        tx: TxEnvelope,
        sender: Address,
        success: bool,
        gas_used: u64,
        logs: &[alloy_primitives::Log],
    ) {
        self.header.gas_used += gas_used;
        let ty = TxType::try_from(tx.ty()).unwrap_or(TxType::Legacy);
        self.receipts.push(Receipt::from_parts(
            success,
            self.header.gas_used,
            logs,
            ty,
            None,
            None,
        ));
        self.transactions.push(StoredTx { sender, tx });
    }

    /// Moves `amount` from `from` to `to` within a transaction's uncommitted `state`; `None` when
    /// `from` no longer holds it there.
    fn add_transfer(
        &mut self,
        state: &mut revm::state::EvmState,
        from: Address,
        to: Address,
        amount: U256,
    ) -> Option<Result<(), Error>> {
        use revm::Database;
        let holder = state.get_mut(&from)?;
        holder.info.balance = holder.info.balance.checked_sub(amount)?;
        holder.mark_touch();
        if let Some(account) = state.get_mut(&to) {
            account.info.balance += amount;
            account.mark_touch();
            return Some(Ok(()));
        }
        let db = &mut self.evm.ctx.journaled_state.database;
        let info = match db.basic(to).map_err(database_error) {
            Ok(info) => info.unwrap_or_default(),
            Err(e) => return Some(Err(e)),
        };
        let mut account = revm::state::Account::from(info).with_touched_mark();
        account.info.balance += amount;
        state.insert(to, account);
        Some(Ok(()))
    }

    /// Where the block's witness meter stands (L2), for [`Executor::rollback`].
    pub fn checkpoint(&self) -> Option<crate::budget::Checkpoint> {
        self.meter.as_ref().map(|meter| meter.checkpoint())
    }

    /// Forgets every read since `checkpoint`: the meter's charges and what revm's cache loaded,
    /// so the block stands exactly as if the transactions tried since had never been seen. Only
    /// valid when nothing was committed since.
    pub fn rollback(&mut self, checkpoint: Option<crate::budget::Checkpoint>) {
        use crate::budget::Loaded;
        let (Some(meter), Some(checkpoint)) = (&self.meter, checkpoint) else {
            return;
        };
        let db = &mut self.evm.ctx.journaled_state.database;
        let mut hashes = Vec::new();
        for read in meter.rollback(checkpoint) {
            match read {
                Loaded::Account(address) => {
                    db.cache.accounts.remove(&address);
                }
                Loaded::Slot(address, slot) => {
                    if let Some(account) = db
                        .cache
                        .accounts
                        .get_mut(&address)
                        .and_then(|a| a.account.as_mut())
                    {
                        account.storage.remove(&slot);
                    }
                }
                Loaded::Code(hash) => {
                    db.cache.contracts.remove(&hash);
                }
                Loaded::BlockHash(number) => hashes.push(number),
            }
        }
        if !hashes.is_empty() {
            let kept: Vec<(u64, B256)> = db
                .block_hashes
                .iter()
                .filter(|(number, _)| !hashes.contains(number))
                .collect();
            db.block_hashes = revm::database::states::block_hash_cache::BlockHashCache::new();
            db.block_hashes.extend(kept);
        }
    }

    /// Executes an L2 deposit: mints `deposit.mint` to its sender, then runs its call without a
    /// fee. The mint stays whatever the call does, and the deposit is always included: a call that
    /// cannot run at all (its value exceeds the balance, say) still advances the sender's nonce and
    /// uses all its gas, with a failed receipt. The caller checks the gas fits the block.
    pub fn execute_deposit(&mut self, deposit: TxDeposit) -> Result<u64, Error> {
        use revm::Database;
        let from = deposit.from;
        let mint = U256::from(deposit.mint);
        self.write_outside_evm(from, |info| info.balance += mint, &[])?;
        let nonce = self
            .evm
            .ctx
            .journaled_state
            .database
            .basic(from)
            .map_err(database_error)?
            .unwrap_or_default()
            .nonce;
        let env = revm::context::TxEnv {
            tx_type: 0,
            caller: from,
            gas_limit: deposit.gas_limit,
            gas_price: 0,
            kind: deposit.to,
            value: deposit.value,
            data: deposit.input.clone(),
            nonce,
            chain_id: None,
            ..Default::default()
        };
        let hash = deposit.tx_hash();
        self.evm.ctx.cfg.disable_base_fee = true;
        let outcome = self.transact(env, hash);
        self.evm.ctx.cfg.disable_base_fee = false;
        let (success, gas_used, mut logs) = match outcome {
            Ok(result) => (
                result.is_success(),
                result.tx_gas_used(),
                result.logs().to_vec(),
            ),
            // (L2) A call that reads past the block's witness budget cannot run either.
            Err(
                Error::InvalidTx { .. }
                | Error::State(
                    tandem_state::Error::WitnessBudget(_) | tandem_state::Error::TxWitness(_),
                ),
            ) => {
                self.write_outside_evm(from, |info| info.nonce += 1, &[])?;
                (false, deposit.gas_limit, Vec::new())
            }
            Err(e) => return Err(e),
        };
        if !success && let Some(hash) = crate::system::messenger::message_hash(&deposit) {
            logs.extend(self.record_failed_message(&deposit, hash)?);
        }
        self.header.gas_used += gas_used;
        self.receipts.push(Receipt::from_parts(
            success,
            self.header.gas_used,
            &logs,
            TxType::Deposit,
            Some(nonce),
            Some(1),
        ));
        self.transactions.push(StoredTx {
            sender: from,
            tx: TxEnvelope::Deposit(alloy_primitives::Sealed::new_unchecked(deposit, hash)),
        });
        Ok(gas_used)
    }

    /// (L2) A message from L1 whose deposit did not relay it at all (it could not run, or the
    /// messenger's own call reverted) is recorded as the messenger records a failed relay:
    /// `failedMessages[hash]` set and the message's ETH moved from the deposit's sender to the
    /// messenger, so anyone can relay it again (ICrossDomainMessenger.sol); a message is never
    /// lost. Charged to the block's witness but never refused: the deposit's share may be spent.
    /// The messenger's `FailedRelayedMessage` log goes in the deposit's receipt. Nothing is
    /// recorded if the deposit's sender cannot cover the message's value (it always can: the
    /// deposit minted it).
    fn record_failed_message(
        &mut self,
        deposit: &TxDeposit,
        hash: B256,
    ) -> Result<Option<alloy_primitives::Log>, Error> {
        use alloy_sol_types::SolEvent;
        use revm::Database;
        use tandem_primitives::system::L2_MESSENGER;
        let value = deposit.value;
        let enforcing = self.meter.as_ref().map(|meter| {
            let enforcing = meter.enforcing();
            meter.enforce(false);
            enforcing
        });
        let slot = (
            crate::system::messenger::failed_message_slot(hash),
            U256::from(1),
        );
        let db = &mut self.evm.ctx.journaled_state.database;
        let covered = db
            .basic(deposit.from)
            .map(|info| info.is_some_and(|info| info.balance >= value))
            .map_err(database_error);
        let result = covered.and_then(|covered| {
            if !covered {
                return Ok(false);
            }
            self.write_outside_evm(deposit.from, |info| info.balance -= value, &[])?;
            self.write_outside_evm(L2_MESSENGER, |info| info.balance += value, &[slot])?;
            Ok(true)
        });
        if let (Some(meter), Some(enforcing)) = (&self.meter, enforcing) {
            meter.enforce(enforcing);
        }
        let event =
            tandem_primitives::abi::ICrossDomainMessenger::FailedRelayedMessage { msgHash: hash };
        Ok(result?.then(|| alloy_primitives::Log {
            address: L2_MESSENGER,
            data: event.encode_log_data(),
        }))
    }

    fn transact(
        &mut self,
        env: revm::context::TxEnv,
        hash: B256,
    ) -> Result<ExecutionResult, Error> {
        let (result, state) = self.transact_uncommitted(env, hash)?;
        let (result, state) = self.traced(result, state);
        self.commit(state)?;
        Ok(result)
    }

    /// Runs one transaction and returns its result and state, not committed yet (under the
    /// tracer's inspector, if it wants this one).
    fn transact_uncommitted(
        &mut self,
        env: revm::context::TxEnv,
        hash: B256,
    ) -> Result<(ExecutionResult, revm::state::EvmState), Error> {
        use revm::{ExecuteEvm, InspectEvm};
        let index = self.transactions.len();
        let inspector = self.tracer.as_mut().and_then(|t| t.begin(index, hash));
        self.inspected = None;
        let (result, traced) = match inspector {
            Some(inspector) => {
                let idle = std::mem::replace(&mut self.evm.inspector, inspector);
                let result = self.evm.inspect_one_tx(env.clone());
                self.evm.inspector = idle;
                (result, Some(env))
            }
            None => (self.evm.transact_one(env), None),
        };
        // The journal is cleared either way; its state is committed only for a result.
        let state = self.evm.finalize();
        let result = result.map_err(|e| match e {
            EVMError::Transaction(reason) => Error::InvalidTx {
                hash,
                reason: reason.to_string(),
            },
            EVMError::Header(reason) => Error::InvalidTx {
                hash,
                reason: reason.to_string(),
            },
            EVMError::Database(revm::database_interface::bal::EvmDatabaseError::Database(e)) => {
                Error::State(e)
            }
            other => Error::Evm(other.to_string()),
        })?;
        self.inspected = traced.map(|env| (index, hash, env));
        Ok((result, state))
    }

    /// Hands the transaction the tracer's inspector ran, with its final outcome (the data fee
    /// paid too), to the tracer, before it commits.
    fn traced(
        &mut self,
        result: ExecutionResult,
        state: revm::state::EvmState,
    ) -> (ExecutionResult, revm::state::EvmState) {
        let (Some((index, hash, env)), Some(tracer)) =
            (self.inspected.take(), self.tracer.as_mut())
        else {
            return (result, state);
        };
        let outcome = revm::context_interface::result::ResultAndState::new(result, state);
        // (L2) What the tracer reads is not the block's: the witness meter neither refuses nor
        // keeps it.
        let checkpoint = self.meter.as_ref().map(|meter| {
            let enforcing = meter.enforcing();
            meter.enforce(false);
            (meter.checkpoint(), enforcing)
        });
        tracer.end(Traced {
            index,
            hash,
            env: &env,
            block: &self.evm.ctx.block,
            outcome: &outcome,
            db: &TraceDb(&self.evm.ctx.journaled_state.database),
        });
        if let (Some(meter), Some((checkpoint, enforcing))) = (&self.meter, checkpoint) {
            // Its reads went around revm's cache (`DatabaseRef`): nothing to evict.
            meter.rollback(checkpoint);
            meter.enforce(enforcing);
        }
        (outcome.result, outcome.state)
    }

    /// Computes the new state root and seals the block.
    pub fn finish(mut self) -> Result<ExecutedBlock, Error> {
        let changes = {
            let db = &mut self.evm.ctx.journaled_state.database;
            db.merge_transitions(BundleRetention::PlainState);
            changes_of(db.take_bundle())
        };
        let (state_root, diff) =
            tandem_state::apply_on(self.nodes, self.parent.state_root, &changes)?;
        let txs: Vec<TxEnvelope> = self.transactions.iter().map(|t| t.tx.clone()).collect();
        self.header.state_root = state_root;
        self.header.transactions_root = tandem_primitives::body::transactions_root(&txs);
        self.header.receipts_root = proofs::calculate_receipt_root(&self.receipts);
        self.header.logs_bloom = self
            .receipts
            .iter()
            .fold(Bloom::ZERO, |bloom, r| bloom | r.logs_bloom());
        let block = SealedBlock::seal(Block {
            header: self.header,
            transactions: self.transactions,
        });
        Ok(ExecutedBlock {
            block,
            receipts: self.receipts,
            diff,
        })
    }
}

fn database_error(
    e: revm::database_interface::bal::EvmDatabaseError<tandem_state::Error>,
) -> Error {
    match e {
        revm::database_interface::bal::EvmDatabaseError::Database(e) => Error::State(e),
        other => Error::Evm(other.to_string()),
    }
}

/// Folds revm's bundle into the changes the state trie applies.
fn changes_of(bundle: revm::database::BundleState) -> StateChanges {
    let mut accounts = BTreeMap::new();
    for (address, account) in bundle.state {
        let storage: BTreeMap<U256, U256> = account
            .storage
            .iter()
            .filter(|(_, slot)| slot.is_changed())
            .map(|(k, slot)| (*k, slot.present_value))
            .collect();
        let destroyed = account.status.was_destroyed();
        if !account.is_info_changed() && storage.is_empty() && !destroyed {
            continue;
        }
        let change = account.info.map(|info| AccountChange {
            nonce: info.nonce,
            balance: info.balance,
            code_hash: info.code_hash,
            code: bundle
                .contracts
                .get(&info.code_hash)
                .map(|c| c.original_bytes())
                .filter(|c: &Bytes| !c.is_empty()),
            storage_cleared: destroyed,
            storage,
        });
        accounts.insert(address, change);
    }
    StateChanges { accounts }
}

/// The genesis block of `genesis`, with its state.
pub fn genesis_block(reader: &Reader, genesis: &Genesis) -> Result<ExecutedBlock, Error> {
    let (state_root, diff) = tandem_state::genesis_diff(reader, genesis)?;
    let block = SealedBlock::seal(Block {
        header: genesis_header(genesis, state_root),
        transactions: Vec::new(),
    });
    Ok(ExecutedBlock {
        block,
        receipts: Vec::new(),
        diff,
    })
}

/// The output of an L2 genesis block, computed in memory (what L1's DisputeGame starts from).
pub fn genesis_output(genesis: &Genesis) -> Result<crate::stateless::OutputPreimage, Error> {
    let changes = tandem_state::genesis_changes(genesis);
    let (state_root, diff) =
        tandem_state::apply_on(NodeSource::default(), EMPTY_ROOT_HASH, &changes)?;
    let message_passer_root = diff
        .accounts
        .iter()
        .find(|(address, _)| *address == tandem_primitives::system::L2_TO_L1_MESSAGE_PASSER)
        .and_then(|(_, account)| account.map(|a| a.storage_root))
        .unwrap_or(EMPTY_ROOT_HASH);
    Ok(crate::stateless::OutputPreimage {
        state_root,
        message_passer_root,
        block_hash: genesis_header(genesis, state_root).hash_slow(),
    })
}

/// Puts the L2 of genesis `l2` on the L1 of genesis `l1`: its rules and its genesis output
/// ([`genesis::carry_l2`]).
/// Refused when a challenge of an L2 block might not fit an L1 block
/// ([`crate::challenge_cost::check`]).
pub fn carry_l2_genesis(l1: &mut Genesis, l2: &Genesis) -> Result<(), Error> {
    crate::challenge_cost::check(l2, l1.gas_limit)?;
    let output = genesis_output(l2)?;
    genesis::carry_l2(l1, &genesis::chain_config(l2), output.root());
    Ok(())
}

/// The dev L1 genesis ([`genesis::dev_l1_genesis`]) carrying the dev L2
/// ([`genesis::dev_l2_genesis`]): what `tandem dev`, `tandem setup` and `tandem devnet` start from.
pub fn dev_genesis(chain_id: u64) -> Genesis {
    let mut l1 = genesis::dev_l1_genesis(chain_id);
    carry_l2_genesis(&mut l1, &genesis::dev_l2_genesis())
        .expect("the dev L2 genesis is in memory and well formed");
    l1
}

/// [`dev_genesis`] with the settlement rules `params` for its L2 (`tandem devnet` and `tandem
/// setup` take them as flags).
pub fn dev_genesis_with(chain_id: u64, params: &genesis::BridgeParams) -> Genesis {
    let mut l1 = dev_genesis(chain_id);
    genesis::set_bridge_params(&mut l1, params);
    l1
}

fn genesis_header(genesis: &Genesis, state_root: B256) -> Header {
    Header {
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: genesis.coinbase,
        state_root,
        transactions_root: EMPTY_ROOT_HASH,
        receipts_root: EMPTY_ROOT_HASH,
        number: 0,
        gas_limit: genesis.gas_limit,
        timestamp: genesis.timestamp,
        extra_data: genesis.extra_data.clone(),
        mix_hash: genesis.mix_hash,
        nonce: genesis.nonce.into(),
        base_fee_per_gas: Some(genesis::base_fee(genesis)),
        withdrawals_root: Some(EMPTY_ROOT_HASH),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::ZERO),
        requests_hash: Some(EMPTY_REQUESTS_HASH),
        ..Default::default()
    }
}
