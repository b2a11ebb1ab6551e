//! The pool a node shares between its clients, its peers and its block producer.
use crate::{AccountState, BestTransactions, Error, Mempool, Rules};
use alloy_consensus::Transaction;
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256};
use parking_lot::{Mutex, MutexGuard};
use std::collections::BTreeSet;
use tandem_primitives::{Block, Layer, TxEnvelope};
use tandem_state::StateReader;
use tokio::sync::Notify;

/// One chain's pool behind its lock, with the one way in ([`Pool::admit`]) that RPC and gossip
/// both take, and the one way to catch up after a block ([`Pool::settle`]).
#[derive(Debug)]
pub struct Pool {
    mempool: Mutex<Mempool>,
    /// A copy of the pool's rules, so checking a signature does not hold the lock.
    rules: Rules,
    layer: Layer,
    added: Notify,
}

impl Pool {
    pub fn new(mempool: Mempool, layer: Layer) -> Self {
        Self {
            rules: mempool.rules().clone(),
            mempool: Mutex::new(mempool),
            layer,
            added: Notify::new(),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Mempool> {
        self.mempool.lock()
    }

    /// Notified when a transaction enters the pool: block producers wait on it.
    pub fn added(&self) -> &Notify {
        &self.added
    }

    /// Decodes, checks and pools a signed transaction, from a client or a peer, and wakes the
    /// block producer. `account` gives the sender's account in the state the pool validates
    /// against; it is read under the pool's lock (it must not take the lock itself). The
    /// signature is recovered outside the lock. On an error nothing changed.
    ///
    /// Reading the account under the lock keeps it and the pool in step: a block producer
    /// publishes a block's state before it tells the pool (`on_block`, under the lock), so an
    /// account read outside could be older than what the pool has just forgotten (a sender whose
    /// pooled transactions were all taken), and its next nonce would go back.
    pub fn admit<E: From<Error>>(
        &self,
        raw: &[u8],
        account: impl FnOnce(Address) -> Result<AccountState, E>,
    ) -> Result<B256, E> {
        let (tx, sender) = self.check(raw)?;
        self.pool(tx, sender, account)
    }

    /// [`Pool::admit`] for a transaction whose sender is given, not recovered (a dev node's
    /// impersonated account): the same checks but the signature, and the same pooling.
    pub fn admit_as<E: From<Error>>(
        &self,
        tx: TxEnvelope,
        sender: Address,
        account: impl FnOnce(Address) -> Result<AccountState, E>,
    ) -> Result<B256, E> {
        self.check_as(&tx, sender)?;
        self.pool(tx, sender, account)
    }

    /// Adds a checked transaction with its sender's account read under the lock (see
    /// [`Pool::admit`]), and wakes the block producer.
    fn pool<E: From<Error>>(
        &self,
        tx: TxEnvelope,
        sender: Address,
        account: impl FnOnce(Address) -> Result<AccountState, E>,
    ) -> Result<B256, E> {
        let mut pool = self.lock();
        let account = account(sender)?;
        let (hash, _) = pool.add(tx, sender, account)?;
        drop(pool);
        self.added.notify_one();
        Ok(hash)
    }

    /// What [`Pool::admit`] checks before it reads any state: the bytes decode to a transaction
    /// this layer takes, signed, within the pool's stateless rules and a transaction's gas cap.
    /// The transaction and its sender.
    pub fn check(&self, raw: &[u8]) -> Result<(TxEnvelope, Address), Error> {
        let tx = TxEnvelope::decode_2718_exact(raw).map_err(|e| match raw.first() {
            // A typed transaction of a type tandem does not take (blobs): geth's answer.
            Some(ty) if (0x03..0x7f).contains(ty) && *ty != 0x04 => Error::TypeNotSupported,
            _ => Error::Decode(e.to_string()),
        })?;
        // An L2 block takes only what a batch can carry.
        if self.layer == Layer::L2 && !tandem_primitives::batch::batchable(&tx) {
            return Err(Error::TypeNotSupported);
        }
        let sender = self.rules.check_stateless(&tx, raw.len())?;
        // What no block would ever include must not take the pool's room: the pool is bounded,
        // and a flood of such transactions would shut out everything else, challenges included.
        self.check_gas_cap(&tx)?;
        Ok((tx, sender))
    }

    /// What [`Pool::check`] checks of a transaction whose sender is given, not recovered (a dev
    /// node's impersonated account).
    pub fn check_as(&self, tx: &TxEnvelope, sender: Address) -> Result<(), Error> {
        use alloy_eips::eip2718::Encodable2718;
        if self.layer == Layer::L2 && !tandem_primitives::batch::batchable(tx) {
            return Err(Error::TypeNotSupported);
        }
        self.rules.check_as(tx, tx.encode_2718_len(), sender)?;
        self.check_gas_cap(tx)
    }

    fn check_gas_cap(&self, tx: &TxEnvelope) -> Result<(), Error> {
        let cap =
            tandem_execution::tx_gas_limit_cap(self.layer, tx.kind(), self.rules.block_gas_limit());
        match tx.gas_limit() > cap {
            true => Err(Error::GasLimitTooHigh {
                cap,
                gas: tx.gas_limit(),
            }),
            false => Ok(()),
        }
    }

    /// Pending transactions that pay `base_fee`, best first: a snapshot, so the lock is not held
    /// while a block is built.
    pub fn best(&self, base_fee: u64) -> BestTransactions {
        self.lock().best(base_fee)
    }

    /// After a block committed: reads its senders' nonces from `state` (the state after it) and
    /// drops what they made stale.
    pub fn settle(&self, block: &Block, state: &impl StateReader) -> tandem_state::Result<()> {
        let senders: BTreeSet<Address> = block.transactions.iter().map(|t| t.sender).collect();
        let nonces = senders
            .into_iter()
            .map(|s| Ok((s, state.account(s)?.map(|a| a.nonce).unwrap_or_default())))
            .collect::<tandem_state::Result<Vec<_>>>()?;
        self.lock().on_block(nonces);
        Ok(())
    }
}

/// `address`'s account in `state`, as the pool validates against it.
pub fn account_in(
    state: &impl StateReader,
    address: Address,
) -> tandem_state::Result<AccountState> {
    Ok(state
        .account(address)?
        .map(|a| AccountState {
            nonce: a.nonce,
            balance: a.balance,
        })
        .unwrap_or_default())
}
