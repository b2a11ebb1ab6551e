//! What the rollup's services need from L1, as a port: [`Client`] is the real adapter; tests put a
//! scripted L1 behind it (one that stalls, fails and serves junk on cue).
use crate::{Client, ClientError, Result, RpcReceipt, RpcTransaction};
use alloy_eips::BlockNumberOrTag;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rpc_types_eth::{Filter, Log};
use std::{future::Future, time::Duration};
use tandem_primitives::{dev::DevAccount, protocol::L1Origin};

/// L1 as the rollup's services see it.
pub trait L1: Clone + Send + Sync + 'static {
    /// The block at `tag` as an L2 origin; `None` when there is none.
    fn origin(
        &self,
        tag: BlockNumberOrTag,
    ) -> impl Future<Output = Result<Option<L1Origin>>> + Send;

    /// The logs `filter` matches.
    fn logs(&self, filter: &Filter) -> impl Future<Output = Result<Vec<Log>>> + Send;

    /// L1's chain id.
    fn chain_id(&self) -> impl Future<Output = Result<u64>> + Send;

    fn transaction(
        &self,
        hash: B256,
    ) -> impl Future<Output = Result<Option<RpcTransaction>>> + Send;

    /// An `eth_call` of `data` to `to` at the latest block.
    fn call_to(&self, to: Address, data: Bytes) -> impl Future<Output = Result<Bytes>> + Send;

    /// The RLP encoding of block `number`'s header (`debug_getRawHeader`); `None` when there is
    /// no such block.
    fn raw_header(&self, number: u64) -> impl Future<Output = Result<Option<Bytes>>> + Send;

    /// Signs calls from `key` with consecutive nonces, sends them and waits up to `patience` for
    /// their receipts (see [`Client::transact_all`]).
    fn transact_all(
        &self,
        key: &DevAccount,
        calls: &[(Address, U256, Bytes)],
        patience: Duration,
    ) -> impl Future<Output = Result<Vec<RpcReceipt>>> + Send;

    /// The newest finalized block as an L2 origin.
    fn finalized(&self) -> impl Future<Output = Result<L1Origin>> + Send {
        async {
            self.origin(BlockNumberOrTag::Finalized)
                .await?
                .ok_or_else(|| ClientError::Unexpected("no finalized block".into()))
        }
    }

    /// Calls a contract function (at the latest block) and decodes what it returns.
    fn call_sol<C: alloy_sol_types::SolCall + Sync>(
        &self,
        to: Address,
        call: &C,
    ) -> impl Future<Output = Result<C::Return>> + Send {
        async move {
            let output = self.call_to(to, call.abi_encode().into()).await?;
            C::abi_decode_returns(&output).map_err(|e| {
                ClientError::Unexpected(format!("{} answered {output}: {e}", C::SIGNATURE))
            })
        }
    }

    /// One call as [`L1::transact_all`] sends it.
    fn transact(
        &self,
        key: &DevAccount,
        to: Address,
        value: U256,
        input: Bytes,
        patience: Duration,
    ) -> impl Future<Output = Result<RpcReceipt>> + Send {
        async move {
            let mut receipts = self
                .transact_all(key, &[(to, value, input)], patience)
                .await?;
            match receipts.is_empty() {
                true => Err(ClientError::Unexpected("no receipt".into())),
                false => Ok(receipts.remove(0)),
            }
        }
    }
}

impl L1 for Client {
    async fn origin(&self, tag: BlockNumberOrTag) -> Result<Option<L1Origin>> {
        Client::origin(self, tag).await
    }

    async fn chain_id(&self) -> Result<u64> {
        Client::chain_id(self).await
    }

    async fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        Client::logs(self, filter).await
    }

    async fn transaction(&self, hash: B256) -> Result<Option<RpcTransaction>> {
        Client::transaction(self, hash).await
    }

    async fn call_to(&self, to: Address, data: Bytes) -> Result<Bytes> {
        Client::call_to(self, to, data).await
    }

    async fn raw_header(&self, number: u64) -> Result<Option<Bytes>> {
        self.request_json("debug_getRawHeader", (BlockNumberOrTag::Number(number),))
            .await
    }

    async fn transact_all(
        &self,
        key: &DevAccount,
        calls: &[(Address, U256, Bytes)],
        patience: Duration,
    ) -> Result<Vec<RpcReceipt>> {
        Client::transact_all(self, key, calls, patience).await
    }
}

/// An [`L1`] whose reads are tried again when the node cannot be reached or answers an error (up
/// to `attempts` times in all, a short pause between), as viem's and ethers' transports retry:
/// a service's round makes about ten reads, and one flaky answer should not cost the whole round.
/// Transactions are sent once: [`L1::transact_all`] is not retried.
#[derive(Debug, Clone)]
pub struct Retrying<L> {
    inner: L,
    attempts: u32,
}

impl<L: L1> Retrying<L> {
    /// Three attempts per read.
    pub fn new(inner: L) -> Self {
        Self { inner, attempts: 3 }
    }

    async fn read<T, F: Future<Output = Result<T>>>(
        &self,
        mut call: impl FnMut() -> F,
    ) -> Result<T> {
        let mut attempt = 1;
        loop {
            match call().await {
                Err(ClientError::Rpc { .. }) if attempt < self.attempts => {
                    tokio::time::sleep(Duration::from_millis(50) * attempt).await;
                    attempt += 1;
                }
                answer => return answer,
            }
        }
    }
}

impl<L: L1> L1 for Retrying<L> {
    async fn origin(&self, tag: BlockNumberOrTag) -> Result<Option<L1Origin>> {
        self.read(|| self.inner.origin(tag)).await
    }

    async fn chain_id(&self) -> Result<u64> {
        self.read(|| self.inner.chain_id()).await
    }

    async fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        self.read(|| self.inner.logs(filter)).await
    }

    async fn transaction(&self, hash: B256) -> Result<Option<RpcTransaction>> {
        self.read(|| self.inner.transaction(hash)).await
    }

    async fn call_to(&self, to: Address, data: Bytes) -> Result<Bytes> {
        self.read(|| self.inner.call_to(to, data.clone())).await
    }

    async fn raw_header(&self, number: u64) -> Result<Option<Bytes>> {
        self.read(|| self.inner.raw_header(number)).await
    }

    async fn transact_all(
        &self,
        key: &DevAccount,
        calls: &[(Address, U256, Bytes)],
        patience: Duration,
    ) -> Result<Vec<RpcReceipt>> {
        self.inner.transact_all(key, calls, patience).await
    }
}
