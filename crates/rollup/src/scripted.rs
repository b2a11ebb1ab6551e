//! A scripted L1 for the services' unit tests: a real dev L1 in this process (revm with the system
//! contracts, redb in a temporary directory, JSON-RPC on a loopback port, a block mined on every
//! transaction, timestamps from a fixed clock), behind the [`L1`] port, with faults on cue. It
//! stalls (no block after the one it stalled at is seen, and nothing sent gets a receipt), fails
//! calls as an unreachable node would, and serves junk logs and transactions. One chain, no forks:
//! the same script gives the same L1.
use alloy_eips::BlockNumberOrTag;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rpc_types_eth::{Filter, Log};
use parking_lot::Mutex;
use std::{sync::Arc, time::Duration};
use tandem_client::{Client, ClientError, L1, Result, RpcReceipt, RpcTransaction};
use tandem_primitives::{ChainConfig, FixedClock, dev::DevAccount, protocol::L1Origin};
use tandem_rpc::{Backend, mining::Mining};
use tokio::sync::watch;

/// What the scripted L1 does wrong, and what it saw.
#[derive(Debug, Default)]
pub(crate) struct Script {
    /// L1 stands still at this block: nothing later is seen, and transactions sent fail.
    pub stalled_at: Option<u64>,
    /// The next this many calls fail.
    pub failures: u32,
    /// Every this many calls, one fails (0: never).
    pub fail_every: u64,
    /// Logs come back with their data garbled.
    pub junk_logs: bool,
    /// The first log of every answer is left out.
    pub drop_logs: bool,
    /// The first log this contract emitted is left out of every answer.
    pub drop_logs_from: Option<Address>,
    /// Transactions asked for by hash come back as another transaction.
    pub junk_transactions: bool,
    /// Calls answered or failed so far.
    pub calls: u64,
}

/// The dev L1 behind a script; clones share both.
#[derive(Clone)]
pub(crate) struct ScriptedL1 {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    backend: Backend,
    script: Mutex<Script>,
    rpc: jsonrpsee::server::ServerHandle,
    stop_miner: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.stop_miner.send(true);
        let _ = self.rpc.stop();
    }
}

impl ScriptedL1 {
    /// A fresh dev L1 carrying the dev L2 (`tandem_execution::dev_genesis`), as `tandem devnet`
    /// starts it.
    pub(crate) async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let genesis = tandem_execution::dev_genesis(ChainConfig::L1_DEV_CHAIN_ID);
        let backend = tandem_rpc::open_backend(
            dir.path(),
            Default::default(),
            &genesis,
            &Default::default(),
            &Default::default(),
            &[],
        )
        .expect("open the scripted L1");
        let (addr, rpc) =
            tandem_rpc::serve("127.0.0.1:0".parse().expect("address"), backend.clone())
                .await
                .expect("serve the scripted L1");
        let (stop_miner, stopped) = watch::channel(false);
        let clock = Arc::new(FixedClock::new(1_700_000_000));
        let control = Arc::new(tandem_rpc::DevControl::new(Address::ZERO, clock, true));
        tokio::spawn(tandem_rpc::mining::run(
            backend.clone(),
            Mining::Instant,
            control,
            stopped,
        ));
        let client = Client::new(&format!("http://{addr}")).expect("client");
        Self {
            inner: Arc::new(Inner {
                client,
                backend,
                script: Mutex::default(),
                rpc,
                stop_miner,
                _dir: dir,
            }),
        }
    }

    /// Changes the script.
    pub(crate) fn script(&self, change: impl FnOnce(&mut Script)) {
        change(&mut self.inner.script.lock());
    }

    /// The calls answered or failed so far.
    pub(crate) fn calls(&self) -> u64 {
        self.inner.script.lock().calls
    }

    /// The newest block, whatever the script says.
    pub(crate) fn head(&self) -> u64 {
        self.inner
            .backend
            .storage
            .read()
            .ok()
            .and_then(|r| r.last_height())
            .unwrap_or_default()
    }

    /// Counts a call, and fails it when the script says so.
    fn call(&self, method: &str) -> Result<()> {
        let mut script = self.inner.script.lock();
        script.calls += 1;
        let scheduled = script.fail_every > 0 && script.calls.is_multiple_of(script.fail_every);
        if script.failures > 0 || scheduled {
            script.failures = script.failures.saturating_sub(1);
            return Err(ClientError::Rpc {
                url: "scripted".into(),
                message: format!("{method}: connection refused (scripted)"),
            });
        }
        Ok(())
    }

    fn stalled_at(&self) -> Option<u64> {
        self.inner.script.lock().stalled_at
    }
}

impl L1 for ScriptedL1 {
    async fn origin(&self, tag: BlockNumberOrTag) -> Result<Option<L1Origin>> {
        self.call("origin")?;
        let tag = match (tag, self.stalled_at()) {
            (BlockNumberOrTag::Number(n), Some(stall)) if n > stall => return Ok(None),
            (BlockNumberOrTag::Number(n), _) => BlockNumberOrTag::Number(n),
            (BlockNumberOrTag::Earliest, _) => BlockNumberOrTag::Earliest,
            (_, Some(stall)) => BlockNumberOrTag::Number(stall),
            (tag, None) => tag,
        };
        self.inner.client.origin(tag).await
    }

    async fn chain_id(&self) -> Result<u64> {
        self.call("chain_id")?;
        self.inner.client.chain_id().await
    }

    async fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        self.call("logs")?;
        let mut logs = self.inner.client.logs(filter).await?;
        if let Some(stall) = self.stalled_at() {
            logs.retain(|log| log.block_number.is_some_and(|n| n <= stall));
        }
        if self.inner.script.lock().drop_logs && !logs.is_empty() {
            logs.remove(0);
        }
        let from = self.inner.script.lock().drop_logs_from;
        if let Some(first) = from.and_then(|a| logs.iter().position(|l| l.address() == a)) {
            logs.remove(first);
        }
        if self.inner.script.lock().junk_logs {
            for log in &mut logs {
                let garbled: Vec<u8> = log.data().data.iter().map(|b| b ^ 0x5a).collect();
                let topics = log.topics().to_vec();
                log.inner.data = alloy_primitives::LogData::new_unchecked(topics, garbled.into());
            }
        }
        Ok(logs)
    }

    async fn transaction(&self, hash: B256) -> Result<Option<RpcTransaction>> {
        self.call("transaction")?;
        if !self.inner.script.lock().junk_transactions {
            return self.inner.client.transaction(hash).await;
        }
        // Another transaction than the one asked for: the first of block 1, say.
        let other = self
            .inner
            .backend
            .storage
            .read()
            .ok()
            .and_then(|r| r.block(1).ok().flatten())
            .and_then(|b| b.block.transactions.first().map(|t| t.tx.tx_hash()))
            .unwrap_or(keccak256(hash));
        self.inner.client.transaction(other).await
    }

    async fn call_to(&self, to: Address, data: Bytes) -> Result<Bytes> {
        self.call("call")?;
        self.inner.client.call_to(to, data).await
    }

    async fn raw_header(&self, number: u64) -> Result<Option<Bytes>> {
        self.call("raw_header")?;
        if self.stalled_at().is_some_and(|stall| number > stall) {
            return Ok(None);
        }
        self.inner.client.raw_header(number).await
    }

    async fn transact_all(
        &self,
        key: &DevAccount,
        calls: &[(Address, U256, Bytes)],
        patience: Duration,
    ) -> Result<Vec<RpcReceipt>> {
        self.call("transact")?;
        if let Some(stall) = self.stalled_at() {
            return Err(ClientError::Unexpected(format!(
                "L1 stalled at block {stall}: not included (scripted)"
            )));
        }
        self.inner.client.transact_all(key, calls, patience).await
    }
}
