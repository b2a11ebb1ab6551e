//! Fee suggestions and `eth_feeHistory`.
use crate::{
    Backend, RpcError,
    blocks::{latest, resolve_number},
    error::Result,
};
use alloy_consensus::Transaction;
use alloy_eips::BlockNumberOrTag;
use alloy_primitives::U256;
use alloy_rpc_types_eth::FeeHistory;
use tandem_primitives::next_base_fee;
use tandem_storage::Reader;

/// The tip suggested when recent blocks give no better evidence: 1 gwei, as anvil and geth.
const DEFAULT_TIP_WEI: u128 = 1_000_000_000;
/// How many recent blocks the tip suggestion looks at.
const TIP_SAMPLE_BLOCKS: u64 = 20;

/// A tip that recent blocks accepted: the median of the lowest tip in each recent non-empty block,
/// or the default when they were empty.
pub(crate) fn suggested_tip(reader: &Reader) -> Result<u128> {
    let latest = latest(reader)?;
    let mut lowest = Vec::new();
    for number in latest.saturating_sub(TIP_SAMPLE_BLOCKS - 1)..=latest {
        let Some(block) = reader.block(number)? else {
            continue;
        };
        let base_fee = block.header().base_fee_per_gas.unwrap_or_default();
        if let Some(tip) = block
            .block
            .transactions
            .iter()
            .filter_map(|t| t.tx.effective_tip_per_gas(base_fee))
            .min()
        {
            lowest.push(tip);
        }
    }
    if lowest.is_empty() {
        return Ok(DEFAULT_TIP_WEI);
    }
    lowest.sort_unstable();
    Ok(lowest[lowest.len() / 2].max(1))
}

/// The base fee of the next block.
pub(crate) fn next_block_base_fee(backend: &Backend, reader: &Reader) -> Result<u64> {
    let header = reader
        .header(latest(reader)?)?
        .ok_or_else(|| RpcError::internal("latest header missing"))?;
    if backend.chain.layer == tandem_primitives::Layer::L2 {
        // L2 counts its last block's witness too.
        use tandem_execution::system::l1_block::{DATA_SLOT, WITNESS_SLOT};
        let slot = |slot: U256| reader.storage(tandem_primitives::system::L1_BLOCK, slot.into());
        let used = tandem_execution::l2::BlockUse {
            witness: slot(WITNESS_SLOT)?.saturating_to(),
            data: slot(DATA_SLOT)?.saturating_to(),
        };
        return Ok(tandem_execution::l2::next_base_fee(
            &backend.chain,
            &header,
            used,
        ));
    }
    Ok(next_base_fee(
        &backend.chain.fees,
        header.gas_used,
        header.gas_limit,
        header.base_fee_per_gas.unwrap_or_default(),
    ))
}

/// `eth_gasPrice`: the next base fee plus the suggested tip, as geth answers.
pub(crate) fn gas_price(backend: &Backend) -> Result<U256> {
    let reader = backend.storage.read()?;
    Ok(U256::from(
        u128::from(next_block_base_fee(backend, &reader)?) + suggested_tip(&reader)?,
    ))
}

pub(crate) fn fee_history(
    backend: &Backend,
    count: u64,
    newest: BlockNumberOrTag,
    percentiles: Option<&[f64]>,
) -> Result<FeeHistory> {
    if count > backend.limits.max_fee_history {
        return Err(RpcError::invalid_params(format!(
            "block count {count} exceeds the limit {}",
            backend.limits.max_fee_history
        )));
    }
    if let Some(p) = percentiles
        && (p.iter().any(|x| !(0.0..=100.0).contains(x)) || p.windows(2).any(|w| w[0] > w[1]))
    {
        return Err(RpcError::invalid_params(
            "reward percentiles must be ascending and within [0, 100]",
        ));
    }
    let reader = backend.storage.read()?;
    let newest = resolve_number(&reader, newest)?
        .ok_or_else(|| RpcError::invalid_params("newest block not found"))?;
    let count = count.min(newest + 1);
    let oldest = newest + 1 - count;
    let mut history = FeeHistory {
        oldest_block: oldest,
        ..Default::default()
    };
    if count == 0 {
        return Ok(history);
    }
    let mut rewards = Vec::new();
    for number in oldest..=newest {
        let block = reader
            .block(number)?
            .ok_or_else(|| RpcError::internal(format!("block {number} missing")))?;
        let header = block.header();
        let base_fee = header.base_fee_per_gas.unwrap_or_default();
        history.base_fee_per_gas.push(u128::from(base_fee));
        history.gas_used_ratio.push(if header.gas_limit == 0 {
            0.0
        } else {
            header.gas_used as f64 / header.gas_limit as f64
        });
        history.base_fee_per_blob_gas.push(1);
        history.blob_gas_used_ratio.push(0.0);
        if let Some(percentiles) = percentiles {
            let receipts = reader.receipts(number)?.unwrap_or_default();
            rewards.push(block_rewards(&block, &receipts, base_fee, percentiles));
        }
        if number == newest {
            // What the block after the newest will charge: the latest's own rule when the newest
            // is the latest (L2 counts its witness), EIP-1559 over its gas otherwise.
            let next = match Some(number) == reader.last_height() {
                true => next_block_base_fee(backend, &reader)?,
                false => next_base_fee(
                    &backend.chain.fees,
                    header.gas_used,
                    header.gas_limit,
                    base_fee,
                ),
            };
            history.base_fee_per_gas.push(u128::from(next));
            history.base_fee_per_blob_gas.push(1);
        }
    }
    history.reward = percentiles.map(|_| rewards);
    Ok(history)
}

/// The tips at the given percentiles of a block's gas, as geth weighs them.
fn block_rewards(
    block: &tandem_primitives::SealedBlock,
    receipts: &[tandem_primitives::Receipt],
    base_fee: u64,
    percentiles: &[f64],
) -> Vec<u128> {
    let mut previous = 0;
    let mut tips: Vec<(u128, u64)> = block
        .block
        .transactions
        .iter()
        .zip(receipts)
        .map(|(t, r)| {
            let gas = r.cumulative_gas_used() - previous;
            previous = r.cumulative_gas_used();
            (
                t.tx.effective_tip_per_gas(base_fee).unwrap_or_default(),
                gas,
            )
        })
        .collect();
    if tips.is_empty() {
        return vec![0; percentiles.len()];
    }
    tips.sort_unstable();
    let total: u64 = tips.iter().map(|(_, g)| g).sum();
    let mut out = Vec::with_capacity(percentiles.len());
    let (mut index, mut sum) = (0, tips[0].1);
    for p in percentiles {
        let threshold = (total as f64 * p / 100.0) as u64;
        while sum < threshold && index + 1 < tips.len() {
            index += 1;
            sum += tips[index].1;
        }
        out.push(tips[index].0);
    }
    out
}
