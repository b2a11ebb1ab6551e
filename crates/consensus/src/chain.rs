//! The chain as consensus sees it: committed blocks in storage, and blocks executed on top of them
//! that are not final yet.
use crate::block::{Block, Digest};
use commonware_cryptography::Digestible;
use parking_lot::Mutex;
use std::{collections::HashMap, sync::Arc};
use tandem_execution::{BlockAttributes, Error as ExecError, ExecutedBlock, Executor};
use tandem_mempool::{Candidates, Fill, Pool};
use tandem_primitives::{Address, ChainConfig, Header, SealedBlock};
use tandem_state::{LatestState, Pending};
use tandem_storage::{Reader, Storage};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Storage(#[from] tandem_storage::Error),
    #[error(transparent)]
    Execution(#[from] ExecError),
    /// The block is invalid for good: a wrong root, gas, fee, timestamp or transaction.
    #[error("invalid block {number}: {reason}")]
    Invalid { number: u64, reason: String },
    /// The block does not extend the committed chain (it forks below the finalized height).
    #[error("block {number} does not extend the committed chain")]
    Unrelated { number: u64 },
    #[error("finalized block {got} arrived while {last} is the last committed")]
    Gap { last: u64, got: u64 },
}

/// How far ahead of a verifier's clock a block's timestamp may be, as in geth.
pub const MAX_FUTURE_SECONDS: u64 = 15;
/// How far behind a verifier's clock a block's timestamp may be. An honest proposer stamps its
/// clock (or its parent's time, if later) just before it builds, so only a proposer that holds
/// time back falls further behind. A minute leaves room for clock skew and slow verification and
/// is small next to the windows contracts measure in block time (the DisputeGame's hour).
pub const MAX_PAST_SECONDS: u64 = 60;

/// A deliberate fault a simulated validator can be given, to test that honest validators reject it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposerFault {
    /// Proposes blocks whose header carries a wrong state root.
    WrongStateRoot,
    /// Proposes blocks stamped an hour in the future.
    FutureTimestamp,
    /// Proposes blocks stamped an hour in the past (before their parent, from the second block).
    PastTimestamp,
}

/// Called after each block commits durably, e.g. to notify RPC subscribers.
pub type OnCommit = Arc<dyn Fn(&ExecutedBlock) + Send + Sync>;

/// Called when consensus learns of a newer finalized height (marshal's tip), with that height and
/// the node's committed height, which trails it while the node catches up.
pub type OnTip = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Shared by the application (propose, verify) and the finalizer.
pub struct Chain {
    pub storage: Arc<Storage>,
    pub pool: Arc<Pool>,
    pub config: ChainConfig,
    /// Receives the priority fees of blocks this node proposes.
    pub fee_recipient: Address,
    /// Propose a block even when the pool has nothing to include.
    pub allow_empty: bool,
    executed: Mutex<HashMap<Digest, Arc<ExecutedBlock>>>,
    on_commit: Option<OnCommit>,
    on_tip: Option<OnTip>,
    fault: Option<ProposerFault>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("chain_id", &self.config.chain_id)
            .finish_non_exhaustive()
    }
}

impl Chain {
    pub fn new(
        storage: Arc<Storage>,
        pool: Arc<Pool>,
        config: ChainConfig,
        fee_recipient: Address,
        allow_empty: bool,
        on_commit: Option<OnCommit>,
    ) -> Self {
        Self {
            storage,
            pool,
            config,
            fee_recipient,
            allow_empty,
            executed: Mutex::default(),
            on_commit,
            on_tip: None,
            fault: None,
        }
    }

    /// Tells `on_tip` of each newer finalized height consensus learns of, e.g. for `eth_syncing`.
    pub fn with_on_tip(mut self, on_tip: OnTip) -> Self {
        self.on_tip = Some(on_tip);
        self
    }

    /// Consensus finalized `height`; the blocks up to it may not have arrived yet.
    pub fn report_tip(&self, height: u64) {
        let Some(on_tip) = &self.on_tip else {
            return;
        };
        match self.committed_height() {
            Ok(committed) => on_tip(height, committed),
            Err(e) => {
                tracing::warn!(target: "consensus::finalizer", height, error = %e, "cannot read the committed height")
            }
        }
    }

    /// Makes this node a faulty proposer: for simulations that check honest validators reject it.
    pub fn with_fault(mut self, fault: ProposerFault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// The height of the last committed block.
    pub fn committed_height(&self) -> Result<u64, Error> {
        Ok(self.storage.read()?.last_height().unwrap_or_default())
    }

    /// The post-state and header of the newest of `ancestors` (newest first, ending with a
    /// committed block), executing the uncommitted ones this node has not executed yet.
    ///
    /// Blocks may have committed since the ancestry was read: committed ancestors are checked
    /// against storage and skipped. An ancestry that the finalized chain has left behind is
    /// `Unrelated`: nothing built on it can ever be final.
    fn prepare(&self, reader: &Reader, ancestors: &[Block]) -> Result<(Pending, Header), Error> {
        let last = reader.last_height().unwrap_or_default();
        let newest = ancestors
            .first()
            .map(|b| b.header().number)
            .ok_or(Error::Unrelated { number: last })?;
        if newest < last {
            return Err(Error::Unrelated { number: newest });
        }
        let mut pending = Pending::default();
        let mut parent = reader.header(last)?.ok_or(Error::Gap { last, got: last })?;
        for block in ancestors.iter().rev() {
            let number = block.header().number;
            if number <= last {
                if reader.header(number)?.map(|h| h.hash_slow()) != Some(block.hash()) {
                    return Err(Error::Unrelated { number });
                }
                continue;
            }
            let executed = match self.executed.lock().get(&block.digest()).cloned() {
                Some(executed) => executed,
                None => Arc::new(self.re_execute(reader, Some(&pending), &parent, block)?),
            };
            if executed.block.header().parent_hash != parent.hash_slow() {
                return Err(Error::Invalid {
                    number,
                    reason: "does not build on its parent".into(),
                });
            }
            pending.push(executed.block.number(), executed.block.hash, &executed.diff);
            self.executed
                .lock()
                .insert(block.digest(), executed.clone());
            parent = executed.block.header().clone();
        }
        Ok((pending, parent))
    }

    /// Re-executes `block` on `parent` and checks that it reproduces the block exactly: same
    /// transactions valid, same state root, receipts root, logs bloom, gas used, base fee.
    fn re_execute(
        &self,
        reader: &Reader,
        pending: Option<&Pending>,
        parent: &Header,
        block: &Block,
    ) -> Result<ExecutedBlock, Error> {
        let header = block.header();
        let number = header.number;
        let invalid = |reason: String| Error::Invalid { number, reason };
        if header.parent_hash != parent.hash_slow() || number != parent.number + 1 {
            return Err(invalid("does not build on its parent".into()));
        }
        if header.timestamp < parent.timestamp {
            return Err(invalid(format!(
                "timestamp {} is before its parent's {}",
                header.timestamp, parent.timestamp
            )));
        }
        if header.gas_limit != self.config.gas_limit {
            return Err(invalid(format!(
                "gas limit {} is not the chain's {}",
                header.gas_limit, self.config.gas_limit
            )));
        }
        let attrs = BlockAttributes {
            timestamp: header.timestamp,
            beneficiary: header.beneficiary,
            prev_randao: header.mix_hash,
        };
        let executed = match pending {
            Some(pending) => self.run(
                reader,
                Some(pending),
                pending.state(reader),
                parent,
                &attrs,
                block,
            )?,
            None => self.run(reader, None, LatestState(reader), parent, &attrs, block)?,
        };
        if executed.block.hash != block.hash() {
            let ours = executed.block.header();
            return Err(invalid(format!(
                "re-execution gives a different header (state root {} vs {}, receipts root {} vs {}, gas used {} vs {}, base fee {:?} vs {:?})",
                ours.state_root,
                header.state_root,
                ours.receipts_root,
                header.receipts_root,
                ours.gas_used,
                header.gas_used,
                ours.base_fee_per_gas,
                header.base_fee_per_gas
            )));
        }
        Ok(executed)
    }

    fn run<S: tandem_state::StateReader>(
        &self,
        reader: &Reader,
        pending: Option<&Pending>,
        state: S,
        parent: &Header,
        attrs: &BlockAttributes,
        block: &Block,
    ) -> Result<ExecutedBlock, Error> {
        let number = block.header().number;
        let senders = block.senders().map_err(|e| Error::Invalid {
            number,
            reason: e.to_string(),
        })?;
        let mut executor =
            Executor::on_pending(reader, pending, state, &self.config, parent, attrs);
        for (tx, sender) in block.transactions().iter().zip(senders) {
            executor.execute(tx.clone(), *sender).map_err(|e| match e {
                ExecError::InvalidTx { .. } | ExecError::BlockFull { .. } => Error::Invalid {
                    number,
                    reason: e.to_string(),
                },
                other => Error::Execution(other),
            })?;
        }
        Ok(executor.finish()?)
    }

    /// Verifies `block`, whose ancestors are `ancestors` (newest first, ending with a committed block).
    ///
    /// `now` is the verifier's clock in seconds (the runtime's): a block stamped more than
    /// [`MAX_FUTURE_SECONDS`] ahead of it or [`MAX_PAST_SECONDS`] behind it is refused, as is one
    /// stamped before its parent, so no proposer can move the chain's clock far from real time.
    pub fn verify(&self, block: &Block, ancestors: &[Block], now: u64) -> Result<(), Error> {
        let reader = self.storage.read()?;
        let number = block.header().number;
        if number <= reader.last_height().unwrap_or_default() {
            // Finalized while this verification waited: valid exactly if it is the committed block.
            let stored = reader.header(number)?.map(|h| h.hash_slow());
            return if stored == Some(block.hash()) {
                Ok(())
            } else {
                Err(Error::Unrelated { number })
            };
        }
        let timestamp = block.header().timestamp;
        if timestamp > now.saturating_add(MAX_FUTURE_SECONDS) {
            return Err(Error::Invalid {
                number,
                reason: format!(
                    "timestamp {timestamp} is more than {MAX_FUTURE_SECONDS} s ahead of {now}"
                ),
            });
        }
        if timestamp.saturating_add(MAX_PAST_SECONDS) < now {
            return Err(Error::Invalid {
                number,
                reason: format!(
                    "timestamp {timestamp} is more than {MAX_PAST_SECONDS} s behind {now}"
                ),
            });
        }
        let (pending, parent) = self.prepare(&reader, ancestors)?;
        let executed = self.re_execute(&reader, Some(&pending), &parent, block)?;
        self.executed
            .lock()
            .insert(block.digest(), Arc::new(executed));
        Ok(())
    }

    /// Builds the Ethereum block of a proposal on top of `ancestors` (newest first, ending with a
    /// committed block), from the pool.
    /// `None` when the pool is empty and empty blocks are off.
    pub fn build(
        &self,
        ancestors: &[Block],
        timestamp: u64,
        prev_randao: tandem_primitives::B256,
    ) -> Result<Option<ExecutedBlock>, Error> {
        let reader = self.storage.read()?;
        let (pending, parent) = self.prepare(&reader, ancestors)?;
        let attrs = BlockAttributes {
            timestamp: timestamp.max(parent.timestamp),
            beneficiary: self.fee_recipient,
            prev_randao,
        };
        let mut executor = Executor::on_pending(
            &reader,
            Some(&pending),
            pending.state(&reader),
            &self.config,
            &parent,
            &attrs,
        );
        let base_fee = executor.header().base_fee_per_gas.unwrap_or_default();
        let mut candidates =
            tandem_mempool::disputes_first(self.pool.best(base_fee), self.config.layer);
        let parent_state = pending.state(&reader);
        let mut next_nonce: HashMap<Address, u64> = HashMap::new();
        let mut invalid = Vec::new();
        let included = candidates.fill(|tx| {
            // The pool still holds what uncommitted ancestors included (it leaves the pool when a
            // block commits): pass those by nonce, and keep the sender's later transactions.
            let expected = match next_nonce.get(&tx.sender) {
                Some(nonce) => *nonce,
                None => {
                    let account = tandem_state::StateReader::account(&parent_state, tx.sender)
                        .map_err(|e| Error::Execution(ExecError::State(e)))?;
                    account.map(|a| a.nonce).unwrap_or_default()
                }
            };
            if tx.nonce() < expected {
                return Ok(Fill::Passed);
            }
            if tx.nonce() > expected {
                return Ok(Fill::Refused);
            }
            match executor.execute((*tx.tx).clone(), tx.sender) {
                Ok(_) => {
                    next_nonce.insert(tx.sender, expected + 1);
                    Ok(Fill::Included)
                }
                // No longer valid (funds, fees): it leaves the pool, as the dev miner and the
                // sequencer drop theirs (left there, such transactions would hold the pool's
                // room for ever). No room: it waits.
                Err(ExecError::InvalidTx { hash, reason }) => {
                    tracing::debug!(target: "consensus::chain", %hash, reason, "dropping invalid transaction");
                    invalid.push(hash);
                    Ok(Fill::Refused)
                }
                Err(ExecError::BlockFull { .. }) => Ok(Fill::Refused),
                Err(e) => Err(Error::from(e)),
            }
        })?;
        if !invalid.is_empty() {
            let mut pool = self.pool.lock();
            for hash in &invalid {
                pool.remove(hash);
            }
        }
        if included == 0 && !self.allow_empty {
            return Ok(None);
        }
        let mut executed = executor.finish()?;
        if let Some(fault) = self.fault {
            // Re-executed honestly but sealed with the fault, so only the fault is wrong.
            let mut block = executed.block.block.clone();
            match fault {
                ProposerFault::WrongStateRoot => {
                    block.header.state_root = tandem_primitives::B256::repeat_byte(0xbb)
                }
                ProposerFault::FutureTimestamp => block.header.timestamp += 3_600,
                ProposerFault::PastTimestamp => {
                    block.header.timestamp = block.header.timestamp.saturating_sub(3_600)
                }
            }
            executed.block = SealedBlock::seal(block);
        }
        Ok(Some(executed))
    }

    /// Remembers a block this node built, so verifying or committing it does not execute it again.
    pub fn remember(&self, block: &Block, executed: ExecutedBlock) {
        self.executed
            .lock()
            .insert(block.digest(), Arc::new(executed));
    }

    /// Commits a finalized block durably. Idempotent by height: a block already committed is checked
    /// and skipped.
    pub fn commit(&self, block: &Block) -> Result<(), Error> {
        let reader = self.storage.read()?;
        let last = reader.last_height().unwrap_or_default();
        let number = block.header().number;
        if number <= last {
            let stored = reader.header(number)?.map(|h| h.hash_slow());
            return if stored == Some(block.hash()) {
                Ok(())
            } else {
                Err(Error::Unrelated { number })
            };
        }
        if number != last + 1 {
            return Err(Error::Gap { last, got: number });
        }
        let executed = match self.executed.lock().get(&block.digest()).cloned() {
            Some(executed) => executed,
            None => {
                let parent = reader
                    .header(last)?
                    .ok_or(Error::Gap { last, got: number })?;
                Arc::new(self.re_execute(&reader, None, &parent, block)?)
            }
        };
        drop(reader);
        self.storage.commit(&(*executed).clone().into_commit())?;
        let reader = self.storage.read()?;
        self.pool
            .settle(&executed.block.block, &LatestState(&reader))
            .map_err(|e| Error::Execution(ExecError::State(e)))?;
        self.executed
            .lock()
            .retain(|_, e| e.block.number() > number);
        tracing::debug!(target: "consensus::finalizer", number, hash = %executed.block.hash, txs = executed.block.block.transactions.len(), "committed finalized block");
        if let Some(on_commit) = &self.on_commit {
            on_commit(&executed);
        }
        Ok(())
    }

    /// The committed block at `number`.
    pub fn committed_block(&self, number: u64) -> Result<Option<SealedBlock>, Error> {
        Ok(self.storage.read()?.block(number)?)
    }
}
