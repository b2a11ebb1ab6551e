//! geth's state and block overrides, as `eth_call`, `eth_estimateGas`, `debug_traceCall` and
//! `eth_simulateV1` take them: written into the call's own cache of the state, never the node's.
use crate::{RpcError, error::Result};
use alloy_primitives::{B256, U256};
use alloy_rpc_types_eth::{BlockOverrides, state::StateOverride};
use revm::{Database, database::CacheDB};
use tandem_primitives::Header;
use tandem_state::{StateDb, StateReader};

type Db<'a> = CacheDB<StateDb<&'a dyn StateReader>>;

/// What a call runs over besides the block's own state and header.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Overrides<'a> {
    pub state: Option<&'a StateOverride>,
    pub block: Option<&'a BlockOverrides>,
}

/// Writes `overrides` into `db`: balances, nonces, code, and storage replaced whole (`state`) or
/// slot by slot (`stateDiff`).
pub(crate) fn apply_state(db: &mut Db<'_>, overrides: &StateOverride) -> Result<()> {
    for (address, account) in overrides {
        if account.move_precompile_to.is_some() {
            return Err(RpcError::invalid_params(
                "movePrecompileToAddress is not supported",
            ));
        }
        if account.state.is_some() && account.state_diff.is_some() {
            return Err(RpcError::invalid_params(format!(
                "account {address} has both 'state' and 'stateDiff'"
            )));
        }
        let mut info = db
            .basic(*address)
            .map_err(RpcError::internal)?
            .unwrap_or_default();
        if let Some(balance) = account.balance {
            info.balance = balance;
        }
        if let Some(nonce) = account.nonce {
            info.nonce = nonce;
        }
        if let Some(code) = &account.code {
            let code = revm::bytecode::Bytecode::new_raw_checked(code.clone()).map_err(|e| {
                RpcError::invalid_params(format!("code of {address} is not valid: {e}"))
            })?;
            info.code_hash = code.hash_slow();
            info.code = Some(code);
        }
        db.insert_account_info(*address, info);
        let word = |b: &B256| U256::from_be_bytes(b.0);
        if let Some(state) = &account.state {
            let slots = state.iter().map(|(k, v)| (word(k), word(v))).collect();
            db.replace_account_storage(*address, slots)
                .map_err(RpcError::internal)?;
        }
        for (slot, value) in account.state_diff.iter().flatten() {
            db.insert_account_storage(*address, word(slot), word(value))
                .map_err(RpcError::internal)?;
        }
    }
    Ok(())
}

/// `header` with `overrides`'s fields; block hashes it names go into `db` for BLOCKHASH.
pub(crate) fn apply_block(
    header: &Header,
    overrides: &BlockOverrides,
    db: &mut Db<'_>,
) -> Result<Header> {
    let mut header = header.clone();
    if let Some(number) = overrides.number {
        header.number = u64::try_from(number)
            .map_err(|_| RpcError::invalid_params("block number override past 2^64"))?;
    }
    if let Some(time) = overrides.time {
        header.timestamp = time;
    }
    if let Some(gas_limit) = overrides.gas_limit {
        header.gas_limit = gas_limit;
    }
    if let Some(coinbase) = overrides.coinbase {
        header.beneficiary = coinbase;
    }
    if let Some(random) = overrides.random {
        header.mix_hash = random;
    }
    if let Some(base_fee) = overrides.base_fee {
        header.base_fee_per_gas = Some(
            u64::try_from(base_fee)
                .map_err(|_| RpcError::invalid_params("base fee override past 2^64"))?,
        );
    }
    if let Some(difficulty) = overrides.difficulty {
        header.difficulty = difficulty;
    }
    for (number, hash) in overrides.block_hash.iter().flatten() {
        db.cache.block_hashes.insert(U256::from(*number), *hash);
    }
    Ok(header)
}
