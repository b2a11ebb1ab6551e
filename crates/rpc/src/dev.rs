//! Dev mode only: `eth_sendTransaction` signed with the unlocked dev accounts, as anvil does.
use crate::{Backend, RpcError, call, error::Result, fees, submit_raw_transaction};
use alloy_consensus::{TxEip1559, TxEip2930, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{B256, TxKind};
use alloy_rpc_types_eth::TransactionRequest;

/// Fills in what the request leaves out (nonce, gas, fees), signs with the dev key of `from` and
/// submits it like `eth_sendRawTransaction`.
pub(crate) fn send_transaction(backend: &Backend, mut request: TransactionRequest) -> Result<B256> {
    let from = request
        .from
        .ok_or_else(|| RpcError::invalid_params("missing from address"))?;
    let signer = backend
        .dev_signers
        .iter()
        .find(|s| s.address == from)
        .ok_or_else(|| RpcError::server(format!("unknown account {from}")))?;
    let chain_id = backend.chain.chain_id;
    if request.chain_id.is_some_and(|id| id != chain_id) {
        return Err(RpcError::server(format!(
            "invalid chain id: have {:?}, want {chain_id}",
            request.chain_id
        )));
    }
    let reader = backend.storage.read()?;
    let state_nonce = reader.account(from)?.map(|a| a.nonce).unwrap_or_default();
    let nonce = request
        .nonce
        .unwrap_or_else(|| backend.pool.lock().next_nonce(from, state_nonce));
    request.nonce = Some(nonce);
    let gas_limit = match request.gas {
        Some(gas) => gas,
        None => call::estimate_gas(backend, &request, None)?,
    };
    let to = request.to.unwrap_or(TxKind::Create);
    let value = request.value.unwrap_or_default();
    let input = request.input.input().cloned().unwrap_or_default();
    let tx = if let Some(gas_price) = request.gas_price {
        match request.access_list {
            Some(access_list) => signer.sign(TxEip2930 {
                chain_id,
                nonce,
                gas_price,
                gas_limit,
                to,
                value,
                access_list,
                input,
            }),
            None => signer.sign(TxLegacy {
                chain_id: Some(chain_id),
                nonce,
                gas_price,
                gas_limit,
                to,
                value,
                input,
            }),
        }
    } else {
        let tip = match request.max_priority_fee_per_gas {
            Some(tip) => tip,
            None => fees::suggested_tip(&reader)?,
        };
        let max_fee = match request.max_fee_per_gas {
            Some(fee) => fee,
            // Saturates on a tip near 2^128 rather than wrap; the pool then refuses the cost.
            None => {
                (2 * u128::from(fees::next_block_base_fee(backend, &reader)?)).saturating_add(tip)
            }
        };
        signer.sign(TxEip1559 {
            chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: tip,
            to,
            value,
            access_list: request.access_list.unwrap_or_default(),
            input,
        })
    };
    drop(reader);
    submit_raw_transaction(backend, &tx.encoded_2718().into())
}

/// anvil's and Hardhat's dev methods, served by a dev node (one with a [`crate::mining::DevControl`]).
#[jsonrpsee::proc_macros::rpc(server)]
pub trait DevApi {
    /// Mines a block now; takes a timestamp, or `{timestamp, blocks}`, as anvil does.
    #[method(name = "evm_mine", blocking)]
    fn evm_mine(&self, options: Option<serde_json::Value>) -> jsonrpsee::core::RpcResult<String>;
    /// Mines `blocks` blocks (1 by default), `interval` seconds apart.
    #[method(name = "anvil_mine", aliases = ["hardhat_mine"], blocking)]
    fn anvil_mine(
        &self,
        blocks: Option<serde_json::Value>,
        interval: Option<serde_json::Value>,
    ) -> jsonrpsee::core::RpcResult<()>;
    #[method(name = "evm_setAutomine", aliases = ["anvil_setAutomine"])]
    fn set_automine(&self, on: bool) -> jsonrpsee::core::RpcResult<bool>;
    #[method(name = "anvil_getAutomine", aliases = ["hardhat_getAutomine"])]
    fn get_automine(&self) -> jsonrpsee::core::RpcResult<bool>;
    /// Moves the clock forward; the total offset in seconds.
    #[method(name = "evm_increaseTime", aliases = ["anvil_increaseTime"])]
    fn increase_time(&self, seconds: serde_json::Value) -> jsonrpsee::core::RpcResult<i64>;
    #[method(name = "evm_setNextBlockTimestamp", aliases = ["anvil_setNextBlockTimestamp"], blocking)]
    fn set_next_block_timestamp(
        &self,
        timestamp: serde_json::Value,
    ) -> jsonrpsee::core::RpcResult<()>;
}

/// The most blocks one `anvil_mine` mines.
pub const MAX_MINE_BLOCKS: u64 = 10_000;

/// The dev methods' handlers.
pub(crate) struct Dev {
    backend: Backend,
    control: std::sync::Arc<crate::mining::DevControl>,
    /// One mining request at a time; more are refused as busy.
    requests: parking_lot::Mutex<()>,
}

impl Dev {
    pub(crate) fn new(
        backend: Backend,
        control: std::sync::Arc<crate::mining::DevControl>,
    ) -> Self {
        let requests = Default::default();
        Self {
            backend,
            control,
            requests,
        }
    }

    fn mine(&self, blocks: u64, interval: u64) -> Result<()> {
        if blocks > MAX_MINE_BLOCKS {
            return Err(RpcError::limit(format!(
                "a request mines at most {MAX_MINE_BLOCKS} blocks"
            )));
        }
        let Some(_busy) = self.requests.try_lock() else {
            return Err(RpcError::limit(
                "another mining request is running; try again",
            ));
        };
        for i in 0..blocks {
            if i > 0 && interval > 0 {
                self.control
                    .increase_time(interval.min(i64::MAX as u64) as i64);
            }
            self.control
                .mine(&self.backend, true)
                .map_err(RpcError::internal)?;
        }
        Ok(())
    }

    /// Sets the next block's timestamp, no earlier than the newest block's.
    fn next_timestamp(&self, timestamp: u64) -> Result<()> {
        let reader = self.backend.storage.read()?;
        let newest = crate::blocks::latest(&reader)?;
        let last = reader
            .header(newest)?
            .map(|h| h.timestamp)
            .unwrap_or_default();
        if timestamp < last {
            return Err(RpcError::server(format!(
                "timestamp {timestamp} is earlier than the newest block's ({last})"
            )));
        }
        let most = crate::mining::MAX_TIMESTAMP;
        if timestamp > most {
            return Err(RpcError::invalid_params(format!(
                "timestamp {timestamp} is past the latest a dev chain takes ({most})"
            )));
        }
        self.control.set_next_timestamp(timestamp);
        Ok(())
    }
}

/// A quantity as anvil and Hardhat take it: a JSON number, or a hex or decimal string.
fn quantity(value: &serde_json::Value, what: &str) -> Result<u64> {
    let refused = || RpcError::invalid_params(format!("{what} must be a non-negative integer"));
    match value {
        serde_json::Value::Number(n) => n.as_u64().ok_or_else(refused),
        serde_json::Value::String(s) => match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).map_err(|_| refused()),
            None => s.parse().map_err(|_| refused()),
        },
        _ => Err(refused()),
    }
}

impl DevApiServer for Dev {
    fn evm_mine(&self, options: Option<serde_json::Value>) -> jsonrpsee::core::RpcResult<String> {
        let (timestamp, blocks) = match &options {
            None | Some(serde_json::Value::Null) => (None, 1),
            Some(serde_json::Value::Object(o)) => (
                o.get("timestamp")
                    .map(|t| quantity(t, "timestamp"))
                    .transpose()?,
                o.get("blocks")
                    .map(|b| quantity(b, "blocks"))
                    .transpose()?
                    .unwrap_or(1),
            ),
            Some(t) => (Some(quantity(t, "timestamp")?), 1),
        };
        if let Some(timestamp) = timestamp {
            self.next_timestamp(timestamp)?;
        }
        self.mine(blocks, 0)?;
        Ok("0x0".into())
    }

    fn anvil_mine(
        &self,
        blocks: Option<serde_json::Value>,
        interval: Option<serde_json::Value>,
    ) -> jsonrpsee::core::RpcResult<()> {
        let blocks = blocks
            .as_ref()
            .map(|b| quantity(b, "blocks"))
            .transpose()?
            .unwrap_or(1);
        let interval = interval
            .as_ref()
            .map(|i| quantity(i, "interval"))
            .transpose()?
            .unwrap_or(0);
        Ok(self.mine(blocks, interval)?)
    }

    fn set_automine(&self, on: bool) -> jsonrpsee::core::RpcResult<bool> {
        self.control.set_automine(on);
        if on {
            // What waited for `evm_mine` goes now.
            self.backend.pool.added().notify_one();
        }
        Ok(true)
    }

    fn get_automine(&self) -> jsonrpsee::core::RpcResult<bool> {
        Ok(self.control.automine())
    }

    fn increase_time(&self, seconds: serde_json::Value) -> jsonrpsee::core::RpcResult<i64> {
        let seconds = quantity(&seconds, "seconds")?.min(i64::MAX as u64) as i64;
        Ok(self.control.increase_time(seconds))
    }

    fn set_next_block_timestamp(
        &self,
        timestamp: serde_json::Value,
    ) -> jsonrpsee::core::RpcResult<()> {
        Ok(self.next_timestamp(quantity(&timestamp, "timestamp")?)?)
    }
}
