use serde::{Deserialize, Serialize};

/// EIP-1559 parameters of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct FeeParams {
    /// Gas limit / gas target.
    pub elasticity_multiplier: u64,
    /// The base fee moves at most 1/denominator per block.
    pub base_fee_change_denominator: u64,
    /// The base fee never falls below this, in wei.
    pub min_base_fee_wei: u64,
}

impl Default for FeeParams {
    fn default() -> Self {
        Self {
            elasticity_multiplier: 2,
            base_fee_change_denominator: 8,
            min_base_fee_wei: 7,
        }
    }
}

/// Which of tandem's two chains a chain is: it decides which system contracts it has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// The base chain: BatchInbox and the other L1 system contracts.
    #[default]
    L1,
    /// The rollup: the L1Block and message-passer predeploys.
    L2,
}

/// Parameters of one chain that every node must agree on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainConfig {
    pub chain_id: u64,
    pub gas_limit: u64,
    pub fees: FeeParams,
    #[serde(default)]
    pub layer: Layer,
    /// L2: how far (seconds) a block's timestamp may run ahead of its L1 origin's. It bounds how
    /// long a sequencer can hold back the Portal's queue: deposits and forced transactions are
    /// included by the first block whose origin reaches them.
    #[serde(default = "default_max_sequencer_drift")]
    pub max_sequencer_drift: u64,
}

fn default_max_sequencer_drift() -> u64 {
    ChainConfig::DEFAULT_MAX_SEQUENCER_DRIFT
}

impl ChainConfig {
    /// How far a proposer fills a block with ordinary transactions: twice the base fee's target
    /// (the whole limit at elasticity 2). Only a transaction allowed more gas than EIP-7825's cap
    /// (a fault-proof challenge) may take a block past it, up to the limit.
    pub fn soft_gas_limit(&self) -> u64 {
        (self.gas_limit / self.fees.elasticity_multiplier.max(1) * 2).min(self.gas_limit)
    }

    /// The L1 devnet chain id.
    pub const L1_DEV_CHAIN_ID: u64 = 900;
    /// The L2 devnet chain id.
    pub const L2_DEV_CHAIN_ID: u64 = 901;
    /// Block gas limit of the dev L2, as anvil's.
    pub const DEFAULT_GAS_LIMIT: u64 = 30_000_000;
    /// Block gas limit of the dev L1, as Ethereum's since late 2025: room for a challenge that
    /// re-executes any L2 block (its gas, and its witness within the L2's witness budget). Its
    /// base fee targets a quarter of it (elasticity 4), and proposers fill ordinary blocks to
    /// half of it ([`ChainConfig::soft_gas_limit`]).
    pub const L1_GAS_LIMIT: u64 = 60_000_000;
    /// Production sequencer drift: 10 minutes of L1 time.
    pub const DEFAULT_MAX_SEQUENCER_DRIFT: u64 = 600;
    /// The dev L2's sequencer drift, short so the forced-inclusion window is short.
    pub const DEV_MAX_SEQUENCER_DRIFT: u64 = 30;
}

/// EIP-1559: the base fee of the block after one with `gas_used` of `gas_limit` at `base_fee`.
pub fn next_base_fee(params: &FeeParams, gas_used: u64, gas_limit: u64, base_fee: u64) -> u64 {
    let target = gas_limit / params.elasticity_multiplier.max(1);
    let denominator = u128::from(params.base_fee_change_denominator.max(1));
    let next = if target == 0 || gas_used == target {
        base_fee
    } else if gas_used > target {
        let delta =
            u128::from(base_fee) * u128::from(gas_used - target) / u128::from(target) / denominator;
        base_fee.saturating_add(u64::try_from(delta.max(1)).unwrap_or(u64::MAX))
    } else {
        let delta =
            u128::from(base_fee) * u128::from(target - gas_used) / u128::from(target) / denominator;
        base_fee.saturating_sub(u64::try_from(delta).unwrap_or(u64::MAX))
    };
    next.max(params.min_base_fee_wei)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_fee_rises_when_full_falls_when_empty_and_holds_at_target() {
        let p = FeeParams::default();
        assert_eq!(
            next_base_fee(&p, 30_000_000, 30_000_000, 1_000_000_000),
            1_125_000_000
        );
        assert_eq!(next_base_fee(&p, 0, 30_000_000, 1_000_000_000), 875_000_000);
        assert_eq!(
            next_base_fee(&p, 15_000_000, 30_000_000, 1_000_000_000),
            1_000_000_000
        );
        assert_eq!(
            next_base_fee(&p, 0, 30_000_000, 7),
            7,
            "never below the minimum"
        );
        assert_eq!(
            next_base_fee(&p, 15_000_001, 30_000_000, 8),
            9,
            "rises by at least 1 over target"
        );
    }
}
