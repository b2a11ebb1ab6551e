//! Dev mode: `eth_sendTransaction` and signing with the unlocked dev accounts, as anvil does, and
//! anvil's and Hardhat's dev methods (mining, time, account edits, impersonation, snapshots, dumps).
use crate::{Backend, RpcError, call, error::Result, fees, submit_raw_transaction};
use alloy_consensus::{TxEip1559, TxEip2930, TxLegacy, TypedTransaction};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_rpc_types_eth::TransactionRequest;
use tandem_execution::AccountEdit;
use tandem_primitives::TxEnvelope;
use tandem_state::{LatestState, StateReader};

/// Fills in what the request leaves out (nonce, gas, fees), signs with the dev key of `from` and
/// submits it like `eth_sendRawTransaction`.
pub(crate) fn send_transaction(backend: &Backend, request: TransactionRequest) -> Result<B256> {
    let impersonated = |from| backend.dev.as_ref().is_some_and(|d| d.impersonates(from));
    let (tx, from, signed) = fill_and_sign(backend, request, impersonated)?;
    if signed {
        return submit_raw_transaction(backend, &tx.encoded_2718().into());
    }
    // An impersonated sender's transaction skips signature recovery, and nothing else: the pool
    // checks it against the sender's account as any other.
    backend.pool.admit_as(tx, from, |from| {
        let reader = backend.storage.read()?;
        let state = LatestState(&reader);
        if state
            .account(from)?
            .is_some_and(|a| a.code_hash != alloy_primitives::KECCAK256_EMPTY)
        {
            // Blocks refuse senders with code (EIP-3607), and tandem dev mines real blocks.
            return Err(RpcError::server(format!(
                "{from} has code: tandem dev sends only from accounts without code (EIP-3607)"
            )));
        }
        Ok(tandem_mempool::account_in(&state, from)?)
    })
}

/// The transaction `request` describes, filled in and signed by the dev key of its `from` (or,
/// for an account `impersonated` says yes to, with the placeholder signature); whether it is
/// really signed.
fn fill_and_sign(
    backend: &Backend,
    mut request: TransactionRequest,
    impersonated: impl Fn(Address) -> bool,
) -> Result<(TxEnvelope, Address, bool)> {
    let from = request
        .from
        .ok_or_else(|| RpcError::invalid_params("missing from address"))?;
    let signer = backend.dev_signers.iter().find(|s| s.address == from);
    let impersonated = impersonated(from);
    if signer.is_none() && !impersonated {
        return Err(RpcError::server(format!("unknown account {from}")));
    }
    let sign = |tx: TypedTransaction| -> Result<TxEnvelope> {
        use alloy_consensus::SignableTransaction;
        let signature = match (signer, impersonated) {
            (Some(signer), _) => signer.sign_hash(tx.signature_hash()),
            // anvil's way: a placeholder signature, the sender given, never recovered.
            (None, true) => impersonated_signature(from),
            (None, false) => return Err(RpcError::server(format!("unknown account {from}"))),
        };
        Ok(match tx {
            TypedTransaction::Legacy(tx) => tx.into_signed(signature).into(),
            TypedTransaction::Eip2930(tx) => tx.into_signed(signature).into(),
            TypedTransaction::Eip1559(tx) => tx.into_signed(signature).into(),
            _ => return Err(RpcError::server("unsupported transaction type")),
        })
    };
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
        None => call::estimate_gas(backend, &request, None, Default::default())?,
    };
    let to = request.to.unwrap_or(TxKind::Create);
    let value = request.value.unwrap_or_default();
    let input = request.input.input().cloned().unwrap_or_default();
    let tx = if let Some(gas_price) = request.gas_price {
        sign(match request.access_list {
            Some(access_list) => TypedTransaction::Eip2930(TxEip2930 {
                chain_id,
                nonce,
                gas_price,
                gas_limit,
                to,
                value,
                access_list,
                input,
            }),
            None => TypedTransaction::Legacy(TxLegacy {
                chain_id: Some(chain_id),
                nonce,
                gas_price,
                gas_limit,
                to,
                value,
                input,
            }),
        })?
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
        sign(TypedTransaction::Eip1559(TxEip1559 {
            chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: tip,
            to,
            value,
            access_list: request.access_list.unwrap_or_default(),
            input,
        }))?
    };
    Ok((tx, from, signer.is_some()))
}

/// Signing with the unlocked dev accounts, as anvil and geth's clef-less dev mode do: served where
/// the node has dev accounts (`tandem dev`, the devnet).
#[jsonrpsee::proc_macros::rpc(server)]
pub trait SignApi {
    /// EIP-191 `personal_sign` of `message` by `address` (geth's order of parameters).
    #[method(name = "eth_sign")]
    fn eth_sign(&self, address: Address, message: Bytes) -> jsonrpsee::core::RpcResult<Bytes>;
    /// The same, with the message first (hex, or text as some wallets send it).
    #[method(name = "personal_sign")]
    fn personal_sign(
        &self,
        message: serde_json::Value,
        address: Address,
    ) -> jsonrpsee::core::RpcResult<Bytes>;
    /// EIP-712 typed data (an object, or the object as a JSON string).
    #[method(name = "eth_signTypedData_v4", aliases = ["eth_signTypedData"], blocking)]
    fn sign_typed_data(
        &self,
        address: Address,
        data: serde_json::Value,
    ) -> jsonrpsee::core::RpcResult<Bytes>;
    /// The transaction `eth_sendTransaction` would send, signed, not sent: its raw bytes.
    #[method(name = "eth_signTransaction", blocking)]
    fn sign_transaction(&self, request: TransactionRequest) -> jsonrpsee::core::RpcResult<Bytes>;
}

pub(crate) struct Signer(pub(crate) Backend);

/// The most struct types typed data may declare, fields per type, and array levels of one type.
const MAX_TYPED_TYPES: usize = 64;
const MAX_TYPED_FIELDS: usize = 64;
const MAX_TYPE_LEVELS: usize = 8;

/// Refuses typed data whose types are large or deep before it is parsed: a field typed with
/// 40,000 levels of `[]` overflowed the stack while it was built (the process aborted).
fn typed_data_within_bounds(data: &serde_json::Value) -> Result<()> {
    let refused = |why: String| Err(RpcError::invalid_params(format!("typed data: {why}")));
    let Some(types) = data.get("types").and_then(|t| t.as_object()) else {
        return refused("no types".into());
    };
    if types.len() > MAX_TYPED_TYPES {
        return refused(format!("more than {MAX_TYPED_TYPES} types"));
    }
    for (name, fields) in types {
        let Some(fields) = fields.as_array() else {
            return refused(format!("the fields of {name} are not a list"));
        };
        if fields.len() > MAX_TYPED_FIELDS {
            return refused(format!("{name} has more than {MAX_TYPED_FIELDS} fields"));
        }
        for field in fields {
            let ty = field
                .get("type")
                .and_then(|t| t.as_str())
                .unwrap_or_default();
            if ty.len() > 256 || ty.matches('[').count() > MAX_TYPE_LEVELS {
                return refused(format!("a field of {name} has too long or deep a type"));
            }
        }
    }
    Ok(())
}

impl Signer {
    fn key(&self, address: Address) -> Result<&tandem_primitives::dev::DevAccount> {
        self.0
            .dev_signers
            .iter()
            .find(|s| s.address == address)
            .ok_or_else(|| RpcError::server(format!("unknown account {address}")))
    }

    fn sign(&self, address: Address, hash: B256) -> Result<Bytes> {
        let signature = self.key(address)?.sign_hash(hash);
        Ok(signature.as_bytes().to_vec().into())
    }
}

impl SignApiServer for Signer {
    fn eth_sign(&self, address: Address, message: Bytes) -> jsonrpsee::core::RpcResult<Bytes> {
        Ok(self.sign(address, alloy_primitives::eip191_hash_message(&message))?)
    }

    fn personal_sign(
        &self,
        message: serde_json::Value,
        address: Address,
    ) -> jsonrpsee::core::RpcResult<Bytes> {
        let Some(text) = message.as_str() else {
            return Err(RpcError::invalid_params("the message must be a string").into());
        };
        let bytes = match text.strip_prefix("0x") {
            Some(hex) => alloy_primitives::hex::decode(hex)
                .map_err(|_| RpcError::invalid_params("the message is not valid hex"))?,
            None => text.as_bytes().to_vec(),
        };
        Ok(self.sign(address, alloy_primitives::eip191_hash_message(&bytes))?)
    }

    fn sign_typed_data(
        &self,
        address: Address,
        data: serde_json::Value,
    ) -> jsonrpsee::core::RpcResult<Bytes> {
        let data = match data {
            serde_json::Value::String(text) => serde_json::from_str(&text)
                .map_err(|e| RpcError::invalid_params(format!("not EIP-712 typed data: {e}")))?,
            object => object,
        };
        typed_data_within_bounds(&data)?;
        let typed: alloy_dyn_abi::TypedData = serde_json::from_value(data)
            .map_err(|e| RpcError::invalid_params(format!("not EIP-712 typed data: {e}")))?;
        let hash = typed
            .eip712_signing_hash()
            .map_err(|e| RpcError::invalid_params(format!("typed data does not hash: {e}")))?;
        Ok(self.sign(address, hash)?)
    }

    fn sign_transaction(&self, request: TransactionRequest) -> jsonrpsee::core::RpcResult<Bytes> {
        let (tx, _, _) = fill_and_sign(&self.0, request, |_| false)?;
        Ok(tx.encoded_2718().into())
    }
}

/// The signature on an impersonated account's transactions: a placeholder (s = 1) that recovers
/// to no one's key, with the sender in r, so two senders' otherwise equal transactions differ in
/// hash.
fn impersonated_signature(from: Address) -> alloy_primitives::Signature {
    let r = U256::from_be_slice(from.as_slice()) | (U256::from(1) << 160);
    alloy_primitives::Signature::new(r, U256::from(1), false)
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
    /// Records the chain, the pool and the clock; the id `evm_revert` takes.
    #[method(name = "evm_snapshot", aliases = ["anvil_snapshot"], blocking)]
    fn snapshot(&self) -> jsonrpsee::core::RpcResult<U256>;
    /// Goes back to a snapshot, forgetting it and every later one; false if there is none.
    #[method(name = "evm_revert", aliases = ["anvil_revert"], blocking)]
    fn revert(&self, id: U256) -> jsonrpsee::core::RpcResult<bool>;
    #[method(name = "anvil_setBalance", aliases = ["hardhat_setBalance"], blocking)]
    fn set_balance(&self, address: Address, balance: U256) -> jsonrpsee::core::RpcResult<()>;
    #[method(name = "anvil_setNonce", aliases = ["hardhat_setNonce"], blocking)]
    fn set_nonce(&self, address: Address, nonce: U256) -> jsonrpsee::core::RpcResult<()>;
    #[method(name = "anvil_setCode", aliases = ["hardhat_setCode"], blocking)]
    fn set_code(&self, address: Address, code: Bytes) -> jsonrpsee::core::RpcResult<()>;
    #[method(name = "anvil_setStorageAt", aliases = ["hardhat_setStorageAt"], blocking)]
    fn set_storage_at(
        &self,
        address: Address,
        slot: U256,
        value: U256,
    ) -> jsonrpsee::core::RpcResult<bool>;
    /// `eth_sendTransaction` from `address` needs no key from now on.
    #[method(name = "anvil_impersonateAccount", aliases = ["hardhat_impersonateAccount"])]
    fn impersonate(&self, address: Address) -> jsonrpsee::core::RpcResult<()>;
    #[method(name = "anvil_stopImpersonatingAccount", aliases = ["hardhat_stopImpersonatingAccount"])]
    fn stop_impersonating(&self, address: Address) -> jsonrpsee::core::RpcResult<()>;
    /// `eth_sendTransaction` from any account needs no key (or does again).
    #[method(name = "anvil_autoImpersonateAccount")]
    fn auto_impersonate(&self, on: bool) -> jsonrpsee::core::RpcResult<()>;
    /// Every account of the latest state, as anvil's gzipped JSON (`accounts`: nonce, balance,
    /// code, storage).
    #[method(name = "anvil_dumpState", aliases = ["hardhat_dumpState"], blocking)]
    fn dump_state(&self) -> jsonrpsee::core::RpcResult<Bytes>;
    /// Writes the accounts of a dump (gzipped or plain JSON, anvil's or ours) into the state, in a
    /// block of their own.
    #[method(name = "anvil_loadState", aliases = ["hardhat_loadState"], blocking)]
    fn load_state(&self, state: Bytes) -> jsonrpsee::core::RpcResult<bool>;
    /// Starts the chain over from its genesis (forking is not served: a fork URL is refused).
    #[method(name = "anvil_reset", aliases = ["hardhat_reset"], blocking)]
    fn reset(&self, options: Option<serde_json::Value>) -> jsonrpsee::core::RpcResult<()>;
}

/// The most accounts one `anvil_dumpState` or `anvil_loadState` carries.
pub(crate) const MAX_STATE_ACCOUNTS: usize = 100_000;
/// The most storage slots one of them carries, in all.
pub(crate) const MAX_STATE_SLOTS: usize = 1_000_000;
/// The most bytes a state may be once inflated.
const MAX_STATE_BYTES: u64 = 32 << 20;
/// The most code one loaded account may hold (twice EIP-170's limit, for dumps of chains that
/// raise it).
const MAX_LOADED_CODE: usize = 2 * revm::primitives::eip170::MAX_CODE_SIZE;

/// One account of a dump, as anvil writes it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct DumpedAccount {
    nonce: u64,
    balance: U256,
    #[serde(default)]
    code: Bytes,
    #[serde(default)]
    storage: std::collections::BTreeMap<U256, U256>,
}

/// A dump: anvil's `SerializableState` as far as accounts go (its blocks and transactions, when
/// present, are not read).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Dump {
    /// anvil reads these three keys: a dump carries them, empty.
    #[serde(default, skip_deserializing)]
    block: Option<()>,
    #[serde(default, skip_deserializing)]
    blocks: Vec<()>,
    #[serde(default, skip_deserializing)]
    transactions: Vec<()>,
    #[serde(default)]
    best_block_number: Option<u64>,
    accounts: std::collections::BTreeMap<Address, DumpedAccount>,
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

    /// Writes one account's edit, in a block of its own.
    fn edit(&self, address: Address, edit: AccountEdit) -> Result<()> {
        let Some(_busy) = self.requests.try_lock() else {
            return Err(RpcError::limit(
                "another mining request is running; try again",
            ));
        };
        self.control
            .edit(&self.backend, &[(address, edit)])
            .map_err(RpcError::internal)
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

impl Dev {
    fn dump(&self) -> Result<Bytes> {
        use std::io::Write;
        let reader = self.backend.storage.read()?;
        let mut accounts = std::collections::BTreeMap::new();
        let (mut after, mut slots) = (None, 0usize);
        loop {
            let page = reader.accounts_after(after, 1_024)?;
            let Some((last, _)) = page.last() else { break };
            after = Some(*last);
            for (address, account) in page {
                if accounts.len() == MAX_STATE_ACCOUNTS {
                    return Err(RpcError::limit(format!(
                        "the state holds more than {MAX_STATE_ACCOUNTS} accounts"
                    )));
                }
                let storage = reader.storage_slots(address)?;
                slots += storage.len();
                if slots > MAX_STATE_SLOTS {
                    return Err(RpcError::limit(format!(
                        "the state holds more than {MAX_STATE_SLOTS} storage slots"
                    )));
                }
                let code = match account.code_hash == alloy_primitives::KECCAK256_EMPTY {
                    true => Bytes::new(),
                    false => reader.code(account.code_hash)?.unwrap_or_default(),
                };
                let storage = storage
                    .into_iter()
                    .map(|(k, v)| (U256::from_be_bytes(k.0), v))
                    .collect();
                accounts.insert(
                    address,
                    DumpedAccount {
                        nonce: account.nonce,
                        balance: account.balance,
                        code,
                        storage,
                    },
                );
            }
        }
        let dump = Dump {
            block: None,
            blocks: Vec::new(),
            transactions: Vec::new(),
            best_block_number: reader.last_height(),
            accounts,
        };
        let json = serde_json::to_vec(&dump).map_err(RpcError::internal)?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&json).map_err(RpcError::internal)?;
        Ok(gz.finish().map_err(RpcError::internal)?.into())
    }

    fn load(&self, state: &[u8]) -> Result<()> {
        use std::io::Read;
        // One load at a time, before anything is inflated: each may hold the state in memory.
        let Some(_busy) = self.requests.try_lock() else {
            return Err(RpcError::limit(
                "another mining request is running; try again",
            ));
        };
        if state.len() as u64 > MAX_STATE_BYTES {
            return Err(RpcError::limit(format!(
                "a state is at most {MAX_STATE_BYTES} bytes"
            )));
        }
        let json = match state.starts_with(&[0x1f, 0x8b]) {
            true => {
                let mut json = Vec::new();
                flate2::read::GzDecoder::new(state)
                    .take(MAX_STATE_BYTES + 1)
                    .read_to_end(&mut json)
                    .map_err(|e| RpcError::invalid_params(format!("not a gzipped state: {e}")))?;
                if json.len() as u64 > MAX_STATE_BYTES {
                    return Err(RpcError::limit(format!(
                        "the state inflates past {MAX_STATE_BYTES} bytes"
                    )));
                }
                json
            }
            false => state.to_vec(),
        };
        let dump: Dump = serde_json::from_slice(&json)
            .map_err(|e| RpcError::invalid_params(format!("not a state dump: {e}")))?;
        let slots: usize = dump.accounts.values().map(|a| a.storage.len()).sum();
        if dump.accounts.len() > MAX_STATE_ACCOUNTS || slots > MAX_STATE_SLOTS {
            return Err(RpcError::limit(format!(
                "a state loads at most {MAX_STATE_ACCOUNTS} accounts and {MAX_STATE_SLOTS} slots"
            )));
        }
        let mut edits = Vec::with_capacity(dump.accounts.len());
        for (address, account) in dump.accounts {
            if account.code.len() > MAX_LOADED_CODE {
                return Err(RpcError::invalid_params(format!(
                    "code of {address} is {} bytes, more than {MAX_LOADED_CODE}",
                    account.code.len()
                )));
            }
            revm::bytecode::Bytecode::new_raw_checked(account.code.clone()).map_err(|e| {
                RpcError::invalid_params(format!("code of {address} is not valid: {e}"))
            })?;
            edits.push((
                address,
                AccountEdit {
                    balance: Some(account.balance),
                    nonce: Some(account.nonce),
                    code: Some(account.code),
                    storage: account.storage.into_iter().collect(),
                },
            ));
        }
        self.control
            .edit(&self.backend, &edits)
            .map_err(RpcError::internal)
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

    fn snapshot(&self) -> jsonrpsee::core::RpcResult<U256> {
        let id = self
            .control
            .snapshot(&self.backend)
            .map_err(RpcError::internal)?;
        Ok(U256::from(id))
    }

    fn revert(&self, id: U256) -> jsonrpsee::core::RpcResult<bool> {
        let Ok(id) = u64::try_from(id) else {
            return Ok(false);
        };
        let reverted = self
            .control
            .revert(&self.backend, id)
            .map_err(RpcError::internal)?;
        Ok(reverted)
    }

    fn set_balance(&self, address: Address, balance: U256) -> jsonrpsee::core::RpcResult<()> {
        let balance = Some(balance);
        Ok(self.edit(
            address,
            AccountEdit {
                balance,
                ..Default::default()
            },
        )?)
    }

    fn set_nonce(&self, address: Address, nonce: U256) -> jsonrpsee::core::RpcResult<()> {
        let nonce = u64::try_from(nonce)
            .ok()
            .filter(|n| *n < u64::MAX)
            .ok_or_else(|| RpcError::invalid_params("nonce must be below 2^64 - 1"))?;
        let nonce = Some(nonce);
        Ok(self.edit(
            address,
            AccountEdit {
                nonce,
                ..Default::default()
            },
        )?)
    }

    fn set_code(&self, address: Address, code: Bytes) -> jsonrpsee::core::RpcResult<()> {
        revm::bytecode::Bytecode::new_raw_checked(code.clone())
            .map_err(|e| RpcError::invalid_params(format!("not valid code: {e}")))?;
        let code = Some(code);
        Ok(self.edit(
            address,
            AccountEdit {
                code,
                ..Default::default()
            },
        )?)
    }

    fn set_storage_at(
        &self,
        address: Address,
        slot: U256,
        value: U256,
    ) -> jsonrpsee::core::RpcResult<bool> {
        let storage = vec![(slot, value)];
        self.edit(
            address,
            AccountEdit {
                storage,
                ..Default::default()
            },
        )?;
        Ok(true)
    }

    fn impersonate(&self, address: Address) -> jsonrpsee::core::RpcResult<()> {
        self.control.impersonate(address, true);
        Ok(())
    }

    fn stop_impersonating(&self, address: Address) -> jsonrpsee::core::RpcResult<()> {
        self.control.impersonate(address, false);
        Ok(())
    }

    fn auto_impersonate(&self, on: bool) -> jsonrpsee::core::RpcResult<()> {
        self.control.impersonate_all(on);
        Ok(())
    }

    fn dump_state(&self) -> jsonrpsee::core::RpcResult<Bytes> {
        Ok(self.dump()?)
    }

    fn load_state(&self, state: Bytes) -> jsonrpsee::core::RpcResult<bool> {
        self.load(&state)?;
        Ok(true)
    }

    fn reset(&self, options: Option<serde_json::Value>) -> jsonrpsee::core::RpcResult<()> {
        if options
            .as_ref()
            .is_some_and(|o| o.get("forking").is_some_and(|f| !f.is_null()))
        {
            return Err(RpcError::invalid_params("tandem dev does not fork another chain").into());
        }
        let reset = self
            .control
            .reset(&self.backend)
            .map_err(RpcError::internal)?;
        match reset {
            true => Ok(()),
            false => Err(RpcError::server("this node cannot start over from its genesis").into()),
        }
    }
}
