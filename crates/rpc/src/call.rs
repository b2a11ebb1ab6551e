//! `eth_call` and `eth_estimateGas`: a transaction run on a block's state and thrown away.
use crate::{Backend, RpcError, blocks::with_state_of, error::Result};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_rpc_types_eth::TransactionRequest;
use revm::{
    ExecuteEvm,
    context::TxEnv,
    context_interface::result::{EVMError, ExecutionResult, HaltReason, InvalidTransaction},
    database::CacheDB,
};
use tandem_execution::{BlockAttributes, Traced, Tracer, block_env, cfg_env, tx_gas_limit_cap};
use tandem_primitives::{ChainConfig, Header};
use tandem_state::{StateDb, StateReader};

use crate::overrides::{self, Overrides};

/// Calls (`eth_call`, `eth_estimateGas`, `eth_simulateV1`) running at once on one node; more wait
/// their turn, up to [`CALL_WAIT`], then are refused. Each is bounded by its gas; this bounds them
/// together (memory, and the cores), however many clients ask.
pub(crate) const MAX_CALLS_AT_ONCE: usize = 8;
const CALL_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The places of the calls running now ([`MAX_CALLS_AT_ONCE`]).
#[derive(Debug, Default)]
pub(crate) struct CallSlots {
    running: parking_lot::Mutex<usize>,
    freed: parking_lot::Condvar,
}

/// A running call's place; it frees itself when dropped.
pub(crate) struct CallSlot(std::sync::Arc<CallSlots>);

impl CallSlots {
    /// A place, once one is free (waiting at most [`CALL_WAIT`]).
    pub(crate) fn take(self: &std::sync::Arc<Self>) -> Result<CallSlot> {
        let deadline = std::time::Instant::now() + CALL_WAIT;
        let mut running = self.running.lock();
        while *running >= MAX_CALLS_AT_ONCE {
            if self.freed.wait_until(&mut running, deadline).timed_out() {
                return Err(RpcError::limit(format!(
                    "{MAX_CALLS_AT_ONCE} calls are running and more are waiting; try again"
                )));
            }
        }
        *running += 1;
        Ok(CallSlot(self.clone()))
    }
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        *self.0.running.lock() -= 1;
        self.0.freed.notify_one();
    }
}

enum Outcome {
    Success { gas_used: u64, output: Bytes },
    Revert { output: Bytes },
    Halt { reason: HaltReason },
}

pub(crate) fn tx_env(request: &TransactionRequest, chain_id: u64, gas_limit: u64) -> TxEnv {
    let dynamic = request.max_fee_per_gas.is_some() || request.max_priority_fee_per_gas.is_some();
    TxEnv {
        tx_type: if dynamic {
            2
        } else if request.access_list.is_some() {
            1
        } else {
            0
        },
        caller: request.from.unwrap_or(Address::ZERO),
        gas_limit,
        gas_price: request
            .max_fee_per_gas
            .or(request.gas_price)
            .unwrap_or_default(),
        gas_priority_fee: if dynamic {
            Some(request.max_priority_fee_per_gas.unwrap_or_default())
        } else {
            None
        },
        kind: request.to.unwrap_or(TxKind::Create),
        value: request.value.unwrap_or_default(),
        data: request.input.input().cloned().unwrap_or_default(),
        nonce: request.nonce.unwrap_or_default(),
        chain_id: Some(chain_id),
        access_list: request.access_list.clone().unwrap_or_default(),
        ..Default::default()
    }
}

/// An EVM set up to run `request` on the state after `header` with `gas_limit`, as `eth_call`
/// runs it (`overrides` applied first), and the transaction it runs.
fn prepare<'a>(
    state: &'a dyn StateReader,
    header: &Header,
    chain: &ChainConfig,
    request: &TransactionRequest,
    gas_limit: u64,
    overrides: Overrides<'_>,
) -> Result<(CallEvm<'a>, TxEnv)> {
    let mut db = CacheDB::new(StateDb(state));
    let header = match overrides.block {
        Some(block) => &overrides::apply_block(header, block, &mut db)?,
        None => header,
    };
    if let Some(state) = overrides.state {
        overrides::apply_state(&mut db, state)?;
    }
    let gas_limit = gas_limit.min(header.gas_limit);
    let evm = evm_over(db, header, chain, request, false);
    Ok((evm, tx_env(request, chain.chain_id, gas_limit)))
}

/// An EVM over `db` in the block of `header`, as `eth_call` runs one (no nonce check, no base
/// fee unless the request names fees) or, with `validate`, as a block would (`eth_simulateV1`).
pub(crate) fn evm_over<DB: revm::Database>(
    db: DB,
    header: &Header,
    chain: &ChainConfig,
    request: &TransactionRequest,
    validate: bool,
) -> tandem_execution::TandemEvm<DB> {
    let mut cfg = cfg_env(chain.chain_id);
    // As geth: calls and estimates never check the nonce (a client may ask with its pending one).
    cfg.disable_nonce_check = !validate;
    // As geth: a call may come from an address with code (a contract, a delegated account).
    cfg.disable_eip3607 = !validate;
    let fees_given = request.gas_price.is_some() || request.max_fee_per_gas.is_some();
    cfg.disable_base_fee = !validate && !fees_given;
    cfg.disable_block_gas_limit = true;
    cfg.tx_gas_limit_cap = Some(cap(chain, request, header));
    let attrs = BlockAttributes {
        timestamp: header.timestamp,
        beneficiary: header.beneficiary,
        prev_randao: header.mix_hash,
    };
    let block = block_env(
        header.number,
        &attrs,
        header.gas_limit,
        header.base_fee_per_gas.unwrap_or_default(),
    );
    tandem_execution::build_evm(db, cfg, block, chain.layer)
}

type CallEvm<'a> = tandem_execution::TandemEvm<CacheDB<StateDb<&'a dyn StateReader>>>;

/// The EVM's refusal of a call as an RPC error.
pub(crate) fn refused<E: std::fmt::Display>(e: EVMError<E, InvalidTransaction>) -> RpcError {
    match e {
        EVMError::Transaction(e) => RpcError::server(invalid_tx_message(&e)),
        EVMError::Custom(why) => RpcError::server(why),
        e => RpcError::internal(e),
    }
}

fn run(
    state: &dyn StateReader,
    header: &Header,
    chain: &ChainConfig,
    request: &TransactionRequest,
    gas_limit: u64,
    overrides: Overrides<'_>,
) -> Result<Outcome> {
    let (mut evm, env) = prepare(state, header, chain, request, gas_limit, overrides)?;
    let done = evm.transact(env).map_err(refused)?;
    Ok(match done.result {
        ExecutionResult::Success { output, gas, .. } => Outcome::Success {
            gas_used: gas.tx_gas_used(),
            output: output.into_data(),
        },
        ExecutionResult::Revert { output, .. } => Outcome::Revert { output },
        ExecutionResult::Halt { reason, .. } => Outcome::Halt { reason },
    })
}

/// Runs a call as `eth_call` does, under `tracer`'s inspector (as transaction 0), for
/// `debug_traceCall` and `trace_call`.
pub(crate) fn trace<T>(
    backend: &Backend,
    request: &TransactionRequest,
    block: Option<BlockId>,
    overrides: Overrides<'_>,
    mut tracer: T,
) -> Result<()>
where
    T: for<'a> Tracer<revm::handler::MainnetContext<CacheDB<StateDb<&'a dyn StateReader>>>>,
{
    use revm::{ExecuteEvm, InspectEvm, context_interface::result::ResultAndState};
    let reader = backend.storage.read()?;
    with_state_of(backend, &reader, block, |state, header| {
        let gas_limit = call_gas_limit(&backend.chain, request, header);
        let (mut evm, env) = prepare(state, header, &backend.chain, request, gas_limit, overrides)?;
        let Some(inspector) = tracer.begin(0, Default::default()) else {
            return Ok(());
        };
        evm.inspector = inspector;
        let result = evm.inspect_one_tx(env.clone());
        let state = evm.finalize();
        let outcome = ResultAndState::new(result.map_err(refused)?, state);
        tracer.end(Traced {
            index: 0,
            hash: Default::default(),
            env: &env,
            block: &evm.ctx.block,
            outcome: &outcome,
            db: &tandem_execution::TraceDb(&evm.ctx.journaled_state.database),
        });
        Ok(())
    })
}

/// geth's wording for a call the EVM refuses to start.
pub(crate) fn invalid_tx_message(e: &InvalidTransaction) -> String {
    match e {
        InvalidTransaction::LackOfFundForMaxFee { fee, balance } => {
            format!("insufficient funds for gas * price + value: balance {balance}, tx cost {fee}")
        }
        InvalidTransaction::NonceTooLow { tx, state } => {
            format!("nonce too low: next nonce {state}, tx nonce {tx}")
        }
        InvalidTransaction::NonceTooHigh { tx, state } => {
            format!("nonce too high: next nonce {state}, tx nonce {tx}")
        }
        InvalidTransaction::CallGasCostMoreThanGasLimit {
            initial_gas,
            gas_limit,
        } => {
            format!("intrinsic gas too low: gas {gas_limit}, minimum needed {initial_gas}")
        }
        InvalidTransaction::GasPriceLessThanBasefee => {
            "max fee per gas less than block base fee".into()
        }
        other => other.to_string(),
    }
}

pub(crate) fn halt_message(reason: &HaltReason) -> String {
    match reason {
        HaltReason::OutOfGas(_) => "out of gas".into(),
        HaltReason::InvalidFEOpcode | HaltReason::OpcodeNotFound => "invalid opcode".into(),
        HaltReason::StackOverflow => "stack overflow".into(),
        HaltReason::StackUnderflow => "stack underflow".into(),
        other => format!("execution halted: {other:?}"),
    }
}

/// The gas a call runs with: what it asks for, at most the block's and a transaction's cap
/// ([`tx_gas_limit_cap`]).
fn call_gas_limit(chain: &ChainConfig, request: &TransactionRequest, header: &Header) -> u64 {
    request
        .gas
        .unwrap_or(header.gas_limit)
        .min(header.gas_limit)
        .min(cap(chain, request, header))
}

pub(crate) fn cap(chain: &ChainConfig, request: &TransactionRequest, header: &Header) -> u64 {
    let to = request.to.unwrap_or(TxKind::Create);
    tx_gas_limit_cap(chain.layer, to, header.gas_limit)
}

/// Runs a call on the state of `block` and returns its output.
pub(crate) fn call(
    backend: &Backend,
    request: &TransactionRequest,
    block: Option<BlockId>,
    overrides: Overrides<'_>,
) -> Result<Bytes> {
    let _slot = backend.calls.take()?;
    let reader = backend.storage.read()?;
    with_state_of(backend, &reader, block, |state, header| {
        match run(
            state,
            header,
            &backend.chain,
            request,
            call_gas_limit(&backend.chain, request, header),
            overrides,
        )? {
            Outcome::Success { output, .. } => Ok(output),
            Outcome::Revert { output } => Err(RpcError::reverted(&output)),
            Outcome::Halt { reason } => Err(RpcError::server(halt_message(&reason))),
        }
    })
}

/// The least gas with which the transaction succeeds, by binary search as geth does.
pub(crate) fn estimate_gas(
    backend: &Backend,
    request: &TransactionRequest,
    block: Option<BlockId>,
    overrides: Overrides<'_>,
) -> Result<u64> {
    let _slot = backend.calls.take()?;
    let reader = backend.storage.read()?;
    let chain = &backend.chain;
    // At the head, estimate in the block the transaction would land in (as geth's pending block):
    // contracts that read the block number or time see what they will see.
    let at_head = matches!(
        block,
        None | Some(BlockId::Number(
            BlockNumberOrTag::Latest | BlockNumberOrTag::Pending
        ))
    );
    with_state_of(backend, &reader, block, |state, header| {
        let next;
        let header = if at_head {
            next = Header {
                number: header.number + 1,
                timestamp: header.timestamp.saturating_add(1),
                ..header.clone()
            };
            &next
        } else {
            header
        };
        let mut hi = call_gas_limit(chain, request, header);
        // A caller cannot pay for more gas than its balance covers.
        let price = request
            .max_fee_per_gas
            .or(request.gas_price)
            .unwrap_or_default();
        if price > 0 {
            let from = request.from.unwrap_or_default();
            let overridden = overrides
                .state
                .and_then(|o| o.get(&from))
                .and_then(|a| a.balance);
            let balance = match overridden {
                Some(balance) => balance,
                None => state.account(from)?.map(|a| a.balance).unwrap_or_default(),
            };
            let available =
                balance.saturating_sub(request.value.unwrap_or_default()) / U256::from(price);
            hi = hi.min(available.try_into().unwrap_or(u64::MAX));
        }
        let used = match run(state, header, chain, request, hi, overrides)? {
            Outcome::Success { gas_used, .. } => gas_used,
            Outcome::Revert { output } => return Err(RpcError::reverted(&output)),
            Outcome::Halt {
                reason: HaltReason::OutOfGas(_),
            } => {
                return Err(RpcError::server(format!(
                    "gas required exceeds allowance ({hi})"
                )));
            }
            Outcome::Halt { reason } => return Err(RpcError::server(halt_message(&reason))),
        };
        let succeeds = |gas: u64| -> Result<bool> {
            Ok(matches!(
                run(state, header, chain, request, gas, overrides)?,
                Outcome::Success { .. }
            ))
        };
        // Most transactions succeed with exactly what they used; others need the 63/64 reserve.
        if used < hi && succeeds(used)? {
            return Ok(used);
        }
        let mut lo = used.saturating_sub(1);
        let optimistic = ((used + 2_300) * 64 / 63).min(hi);
        if optimistic < hi && succeeds(optimistic)? {
            hi = optimistic;
        }
        while lo + 1 < hi {
            // Stop within 1.5% of the answer, as geth does.
            if (hi - lo) * 1000 / hi < 15 {
                break;
            }
            let mid = lo + (hi - lo) / 2;
            if succeeds(mid)? { hi = mid } else { lo = mid }
        }
        Ok(hi)
    })
}
