//! `eth_simulateV1`: blocks of calls run one after another on a block's state, as geth runs them,
//! and thrown away.
use crate::{Backend, RpcError, blocks::with_state_of, call, convert, error::Result, overrides};
use alloy_consensus::{SignableTransaction, TxEip1559, TxEip2930, TxLegacy};
use alloy_eips::BlockId;
use alloy_eips::Typed2718;
use alloy_primitives::{Address, B256, Bloom, Bytes, Log, LogData, U256, address, b256};
use alloy_rpc_types_eth::simulate::{
    SimBlock, SimCallResult, SimulateError, SimulatePayload, SimulatedBlock,
};
use parking_lot::Mutex;
use revm::{
    Database, DatabaseCommit, ExecuteEvm,
    context::TxEnv,
    context_interface::result::ExecutionResult,
    database::CacheDB,
    interpreter::{CallInputs, CallOutcome, CreateInputs, CreateOutcome},
};
use std::sync::Arc;
use tandem_primitives::{Block, Header, Receipt, SealedBlock, StoredTx, TxEnvelope, TxType};
use tandem_state::{StateDb, StateReader};

/// The most blocks one `eth_simulateV1` simulates (geth's limit).
pub(crate) const MAX_BLOCKS: usize = 256;
/// The most calls one `eth_simulateV1` runs, in all its blocks.
pub(crate) const MAX_CALLS: usize = 1_000;
/// Gas all of one `eth_simulateV1`'s calls may use together (geth's RPC gas cap).
pub(crate) const GAS_CAP: u64 = 50_000_000;
/// What one `eth_simulateV1`'s calls may return in all (return data and logs), before it is
/// refused: the answer is built in memory before it is sent.
pub(crate) const MAX_OUTPUT_BYTES: usize = 8 << 20;
/// How far apart simulated blocks are when their time is not given (geth's).
const BLOCK_SECONDS: u64 = 12;
/// Where `traceTransfers` says ETH moved from, and the event it uses (ERC-20's `Transfer`).
const TRANSFER_LOG_ADDRESS: Address = address!("0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE");
const TRANSFER_TOPIC: B256 =
    b256!("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");

type Db<'a> = CacheDB<StateDb<&'a dyn StateReader>>;

/// `eth_simulateV1`: the blocks of `payload` on top of the state of `block`, each call's result,
/// and the blocks as they would be.
pub(crate) fn simulate(
    backend: &Backend,
    payload: &SimulatePayload,
    block: Option<BlockId>,
) -> Result<Vec<serde_json::Value>> {
    if payload.block_state_calls.len() > MAX_BLOCKS {
        return Err(RpcError::limit(format!(
            "a simulation holds at most {MAX_BLOCKS} blocks"
        )));
    }
    let calls: usize = payload
        .block_state_calls
        .iter()
        .map(|b| b.calls.len())
        .sum();
    if calls > MAX_CALLS {
        return Err(RpcError::limit(format!(
            "a simulation runs at most {MAX_CALLS} calls"
        )));
    }
    let _slot = backend.calls.take()?;
    let reader = backend.storage.read()?;
    with_state_of(backend, &reader, block, |state, base| {
        let mut db = CacheDB::new(StateDb(state));
        let mut parent = SealedBlock::seal(Block {
            header: base.clone(),
            transactions: Vec::new(),
        });
        let mut budget = Budget {
            gas: GAS_CAP,
            output: MAX_OUTPUT_BYTES,
        };
        let mut out = Vec::with_capacity(payload.block_state_calls.len());
        for sim in &payload.block_state_calls {
            let (block, results) =
                simulate_block(backend, payload, sim, &parent, &mut db, &mut budget)?;
            let mut json = serde_json::to_value(SimulatedBlock {
                inner: convert::block(&block, payload.return_full_transactions, None),
                calls: results,
            })
            .map_err(RpcError::internal)?;
            // The calls' logs name the block they are in, known only now.
            for call in json["calls"].as_array_mut().into_iter().flatten() {
                for log in call["logs"].as_array_mut().into_iter().flatten() {
                    log["blockHash"] = serde_json::json!(block.hash);
                }
            }
            out.push(json);
            parent = block;
        }
        Ok(out)
    })
}

/// What a simulation may still spend: gas, and bytes of output.
struct Budget {
    gas: u64,
    output: usize,
}

/// One simulated block on `parent`: its header from the defaults and `sim`'s overrides, then its
/// calls in order, each on the state the ones before it left.
fn simulate_block(
    backend: &Backend,
    payload: &SimulatePayload,
    sim: &SimBlock,
    parent: &SealedBlock,
    db: &mut Db<'_>,
    budget: &mut Budget,
) -> Result<(SealedBlock, Vec<SimCallResult>)> {
    let chain = &backend.chain;
    let before = parent.header();
    let mut header = Header {
        parent_hash: parent.hash,
        number: before.number.saturating_add(1),
        timestamp: before.timestamp.saturating_add(BLOCK_SECONDS),
        gas_used: 0,
        base_fee_per_gas: Some(match payload.validation {
            true => tandem_primitives::next_base_fee(
                &chain.fees,
                before.gas_used,
                before.gas_limit,
                before.base_fee_per_gas.unwrap_or_default(),
            ),
            false => 0,
        }),
        transactions_root: Default::default(),
        receipts_root: Default::default(),
        logs_bloom: Bloom::ZERO,
        // What the simulated state's root would be is not computed.
        state_root: B256::ZERO,
        ..before.clone()
    };
    if let Some(overrides) = &sim.block_overrides {
        header = overrides::apply_block(&header, overrides, db)?;
    }
    if header.number <= before.number || header.timestamp < before.timestamp {
        return Err(RpcError::invalid_params(format!(
            "block {} at {} does not follow block {} at {}",
            header.number, header.timestamp, before.number, before.timestamp
        )));
    }
    if let Some(overrides) = &sim.state_overrides {
        overrides::apply_state(db, overrides)?;
    }
    let mut transactions = Vec::with_capacity(sim.calls.len());
    let mut receipts: Vec<Receipt> = Vec::with_capacity(sim.calls.len());
    let mut results = Vec::with_capacity(sim.calls.len());
    for (index, request) in sim.calls.iter().enumerate() {
        let gas_limit = request
            .gas
            .unwrap_or(header.gas_limit.saturating_sub(header.gas_used))
            .min(call::cap(chain, request, &header))
            .min(budget.gas);
        if header.gas_used.saturating_add(gas_limit) > header.gas_limit {
            return Err(RpcError::server(format!(
                "block gas limit reached: call {index} wants {gas_limit}, the block has {} left",
                header.gas_limit - header.gas_used
            )));
        }
        let mut request = request.clone();
        let from = request.from.unwrap_or_default();
        let nonce = match request.nonce {
            Some(nonce) => nonce,
            None => db
                .basic(from)
                .map_err(RpcError::internal)?
                .map(|a| a.nonce)
                .unwrap_or_default(),
        };
        request.nonce = Some(nonce);
        if payload.validation && request.max_fee_per_gas.is_none() && request.gas_price.is_none() {
            request.max_fee_per_gas = Some(u128::from(header.base_fee_per_gas.unwrap_or_default()));
        }
        let env = call::tx_env(&request, chain.chain_id, gas_limit);
        // With the balance check off revm assumes the cost fits in 256 bits: check it here.
        {
            use revm::context_interface::Transaction;
            env.max_balance_spending().map_err(|e| {
                RpcError::invalid_params(format!("call {index}: {}", call::invalid_tx_message(&e)))
            })?;
        }
        let transfers = Arc::new(Mutex::new(Frames::default()));
        let mut evm = call::evm_over(&mut *db, &header, chain, &request, payload.validation);
        evm.ctx.cfg.disable_balance_check = !payload.validation;
        if payload.trace_transfers {
            evm.inspector = Box::new(TransferLogs(transfers.clone()));
        }
        let done = match payload.trace_transfers {
            true => {
                use revm::InspectEvm;
                evm.inspect_tx(env.clone())
            }
            false => evm.transact(env.clone()),
        }
        .map_err(call::refused)?;
        drop(evm);
        db.commit(done.state);
        let (status, gas_used, output, logs, error) = match done.result {
            ExecutionResult::Success {
                output, gas, logs, ..
            } => (true, gas.tx_gas_used(), output.into_data(), logs, None),
            ExecutionResult::Revert { output, gas, .. } => {
                let error = SimulateError {
                    code: 3,
                    message: RpcError::reverted(&output).message,
                    data: Some(output.clone()),
                };
                (false, gas.tx_gas_used(), output, Vec::new(), Some(error))
            }
            ExecutionResult::Halt { reason, gas, .. } => {
                let error = SimulateError {
                    code: SimulateError::VM_EXECUTION_ERROR_CODE,
                    message: call::halt_message(&reason),
                    data: None,
                };
                (
                    false,
                    gas.tx_gas_used(),
                    Bytes::new(),
                    Vec::new(),
                    Some(error),
                )
            }
        };
        // With traceTransfers, the logs as they happened, ETH moves among them.
        let logs = match payload.trace_transfers && status {
            true => std::mem::take(&mut transfers.lock().done),
            false => logs,
        };
        budget.gas = budget.gas.saturating_sub(gas_used);
        let output_bytes = output.len()
            + logs
                .iter()
                .map(|l| l.data.data.len() + 32 * l.data.topics().len() + 20)
                .sum::<usize>();
        budget.output = budget.output.checked_sub(output_bytes).ok_or_else(|| {
            RpcError::limit(format!(
                "the simulation's calls return more than {MAX_OUTPUT_BYTES} bytes"
            ))
        })?;
        header.gas_used += gas_used;
        let tx = placeholder_tx(&env, chain.chain_id);
        let hash = tx.tx_hash();
        let first_log = receipts.iter().map(|r| r.logs().len()).sum::<usize>() as u64;
        results.push(SimCallResult {
            return_data: output,
            logs: logs
                .iter()
                .enumerate()
                .map(|(i, log)| alloy_rpc_types_eth::Log {
                    inner: log.clone(),
                    block_hash: None,
                    block_number: Some(header.number),
                    block_timestamp: Some(header.timestamp),
                    transaction_hash: Some(hash),
                    transaction_index: Some(index as u64),
                    log_index: Some(first_log + i as u64),
                    removed: false,
                })
                .collect(),
            gas_used,
            max_used_gas: None,
            status,
            error,
        });
        let ty = TxType::try_from(tx.ty()).unwrap_or(TxType::Legacy);
        receipts.push(Receipt::from_parts(
            status,
            header.gas_used,
            &logs,
            ty,
            None,
            None,
        ));
        transactions.push(StoredTx { sender: from, tx });
    }
    let txs: Vec<TxEnvelope> = transactions.iter().map(|t| t.tx.clone()).collect();
    header.transactions_root = tandem_primitives::body::transactions_root(&txs);
    header.receipts_root = alloy_consensus::proofs::calculate_receipt_root(&receipts);
    header.logs_bloom = receipts.iter().fold(Bloom::ZERO, |b, r| b | r.logs_bloom());
    let block = SealedBlock::seal(Block {
        header,
        transactions,
    });
    Ok((block, results))
}

/// A simulated call as a transaction: its fields, signed with a placeholder (r = s = 1), as
/// geth's simulated blocks carry them.
fn placeholder_tx(env: &TxEnv, chain_id: u64) -> TxEnvelope {
    let signature = alloy_primitives::Signature::new(U256::from(1), U256::from(1), false);
    let to = env.kind;
    match env.tx_type {
        2 => TxEip1559 {
            chain_id,
            nonce: env.nonce,
            gas_limit: env.gas_limit,
            max_fee_per_gas: env.gas_price,
            max_priority_fee_per_gas: env.gas_priority_fee.unwrap_or_default(),
            to,
            value: env.value,
            access_list: env.access_list.clone(),
            input: env.data.clone(),
        }
        .into_signed(signature)
        .into(),
        1 => TxEip2930 {
            chain_id,
            nonce: env.nonce,
            gas_price: env.gas_price,
            gas_limit: env.gas_limit,
            to,
            value: env.value,
            access_list: env.access_list.clone(),
            input: env.data.clone(),
        }
        .into_signed(signature)
        .into(),
        _ => TxLegacy {
            chain_id: Some(chain_id),
            nonce: env.nonce,
            gas_price: env.gas_price,
            gas_limit: env.gas_limit,
            to,
            value: env.value,
            input: env.data.clone(),
        }
        .into_signed(signature)
        .into(),
    }
}

/// The logs of the frames running now (innermost last) and those of the frames done.
#[derive(Debug, Default)]
struct Frames {
    open: Vec<Vec<Log>>,
    done: Vec<Log>,
}

impl Frames {
    fn enter(&mut self, transfer: Option<(Address, Address, U256)>) {
        self.open
            .push(transfer.and_then(transfer_log).into_iter().collect());
    }

    /// A frame ends: its logs join its caller's if it succeeded, else they are gone.
    fn leave(&mut self, ok: bool) {
        let logs = self.open.pop().unwrap_or_default();
        if !ok {
            return;
        }
        match self.open.last_mut() {
            Some(caller) => caller.extend(logs),
            None => self.done.extend(logs),
        }
    }
}

/// An ETH move as `traceTransfers` shows it; none for a move of nothing.
fn transfer_log((from, to, value): (Address, Address, U256)) -> Option<Log> {
    (!value.is_zero()).then(|| Log {
        address: TRANSFER_LOG_ADDRESS,
        data: LogData::new_unchecked(
            vec![TRANSFER_TOPIC, from.into_word(), to.into_word()],
            Bytes::from(value.to_be_bytes::<32>()),
        ),
    })
}

/// `traceTransfers`: every ETH move as an ERC-20-style `Transfer` log from
/// 0xEeee...EEeE, in order with the logs contracts emit.
struct TransferLogs(Arc<Mutex<Frames>>);

impl<CTX> revm::Inspector<CTX> for TransferLogs {
    fn log(&mut self, _: &mut CTX, log: Log) {
        if let Some(frame) = self.0.lock().open.last_mut() {
            frame.push(log);
        }
    }

    fn call(&mut self, _: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        let transfer = inputs
            .transfer_value()
            .map(|v| (inputs.transfer_from(), inputs.transfer_to(), v));
        self.0.lock().enter(transfer);
        None
    }

    fn call_end(&mut self, _: &mut CTX, _: &CallInputs, outcome: &mut CallOutcome) {
        self.0.lock().leave(outcome.result.is_ok());
    }

    fn create(&mut self, _: &mut CTX, _: &mut CreateInputs) -> Option<CreateOutcome> {
        // The new address is known when the frame ends; its transfer is added then.
        self.0.lock().enter(None);
        None
    }

    fn create_end(&mut self, _: &mut CTX, inputs: &CreateInputs, outcome: &mut CreateOutcome) {
        let mut frames = self.0.lock();
        let moved = outcome
            .address
            .and_then(|to| transfer_log((inputs.caller(), to, inputs.value())));
        if let (Some(log), Some(frame)) = (moved, frames.open.last_mut()) {
            frame.insert(0, log);
        }
        frames.leave(outcome.result.is_ok());
    }

    fn selfdestruct(&mut self, contract: Address, target: Address, value: U256) {
        let mut frames = self.0.lock();
        frames.enter(Some((contract, target, value)));
        frames.leave(true);
    }
}
