use crate::{ChainConfig, FeeParams, Layer, dev, system};
use alloy_primitives::{Address, B256, U256};
use std::path::Path;

pub use alloy_genesis::{Genesis, GenesisAccount};

/// Base fee of the genesis block when the genesis file names none: 1 gwei, as geth's.
pub const DEFAULT_GENESIS_BASE_FEE_WEI: u64 = 1_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error("cannot read genesis file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid genesis file {path}: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("genesis gas limit {0} is too low")]
    GasLimit(u64),
    #[error("genesis base fee {0} does not fit in 64 bits")]
    BaseFee(u128),
}

/// Reads a geth-style genesis file (`config.chainId`, `gasLimit`, `baseFeePerGas`, `alloc`, ...).
pub fn load(path: &Path) -> Result<Genesis, GenesisError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| GenesisError::Read {
        path: name.clone(),
        source,
    })?;
    let genesis: Genesis =
        serde_json::from_str(&text).map_err(|source| GenesisError::Parse { path: name, source })?;
    validate(&genesis)?;
    Ok(genesis)
}

fn validate(genesis: &Genesis) -> Result<(), GenesisError> {
    if genesis.gas_limit < 5_000 {
        return Err(GenesisError::GasLimit(genesis.gas_limit));
    }
    if let Some(fee) = genesis.base_fee_per_gas
        && u64::try_from(fee).is_err()
    {
        return Err(GenesisError::BaseFee(fee));
    }
    Ok(())
}

/// The chain parameters a genesis fixes. A genesis with the L1Block predeploy is an L2's.
pub fn chain_config(genesis: &Genesis) -> ChainConfig {
    let layer = if genesis.alloc.contains_key(&system::L1_BLOCK) {
        Layer::L2
    } else {
        Layer::L1
    };
    let extra = |name: &str| {
        genesis
            .config
            .extra_fields
            .get_deserialized::<u64>(name)
            .and_then(Result::ok)
    };
    let fees = FeeParams::default();
    ChainConfig {
        chain_id: genesis.config.chain_id,
        gas_limit: genesis.gas_limit,
        fees: FeeParams {
            elasticity_multiplier: extra("eip1559Elasticity")
                .unwrap_or(fees.elasticity_multiplier)
                .max(1),
            ..fees
        },
        layer,
        max_sequencer_drift: extra("maxSequencerDrift")
            .unwrap_or(ChainConfig::DEFAULT_MAX_SEQUENCER_DRIFT),
    }
}

/// A system account as genesis holds it: nonce 1 and code `0xFE`, so EIP-161 never deletes it.
fn system_account() -> GenesisAccount {
    GenesisAccount::default()
        .with_nonce(Some(1))
        .with_code(Some(system::placeholder_code()))
}

/// A system contract in EVM code (the messengers and bridges): nonce 1, as a contract created by
/// a transaction has, and empty storage.
fn evm_system_account(code: alloy_primitives::Bytes) -> GenesisAccount {
    GenesisAccount::default()
        .with_nonce(Some(1))
        .with_code(Some(code))
}

/// The L2 dev genesis: chain 901, the ten dev accounts with 10,000 ETH each, and the predeploys.
pub fn dev_l2_genesis() -> Genesis {
    let mut genesis = funded_genesis(ChainConfig::L2_DEV_CHAIN_ID);
    genesis.alloc.insert(system::L1_BLOCK, system_account());
    genesis
        .alloc
        .insert(system::L2_TO_L1_MESSAGE_PASSER, system_account());
    for vault in [system::SEQUENCER_FEE_VAULT, system::L1_FEE_VAULT] {
        genesis.alloc.insert(vault, system_account());
    }
    genesis.alloc.insert(
        system::L2_MESSENGER,
        evm_system_account(system::code::l2_messenger()),
    );
    genesis.alloc.insert(
        system::L2_STANDARD_BRIDGE,
        evm_system_account(system::code::l2_standard_bridge()),
    );
    genesis.config.extra_fields.insert(
        "maxSequencerDrift".into(),
        ChainConfig::DEV_MAX_SEQUENCER_DRIFT.into(),
    );
    // L2 gas is cheap: the data fee, not execution, is most of what a transaction pays.
    genesis.base_fee_per_gas = Some(u128::from(L2_GENESIS_BASE_FEE_WEI));
    genesis
}

/// The L2 dev genesis base fee in wei (0.001 gwei, about OP Mainnet's).
pub const L2_GENESIS_BASE_FEE_WEI: u64 = 1_000_000;

/// The genesis base fee in wei.
pub fn base_fee(genesis: &Genesis) -> u64 {
    genesis
        .base_fee_per_gas
        .and_then(|f| u64::try_from(f).ok())
        .unwrap_or(DEFAULT_GENESIS_BASE_FEE_WEI)
}

/// A dev L1 genesis without an L2: the given chain id, the ten dev accounts with 10,000 ETH each,
/// and the L1 system contracts. `tandem_execution::dev_genesis` puts the dev L2 on it
/// ([`carry_l2`]), with its genesis output, which only execution can compute.
pub fn dev_l1_genesis(chain_id: u64) -> Genesis {
    let mut genesis = funded_genesis(chain_id);
    // Room for a challenge of any L2 block; the base fee targets a quarter of it (15M, as
    // Ethereum's 30M block with elasticity 2), and proposers fill ordinary blocks to twice that.
    genesis.gas_limit = ChainConfig::L1_GAS_LIMIT;
    genesis
        .config
        .extra_fields
        .insert("eip1559Elasticity".into(), 4.into());
    // BatchInbox, with the dev batcher registered in slot 0.
    let batcher = B256::left_padding_from(dev::accounts()[dev::DEV_BATCHER].address.as_slice());
    genesis.alloc.insert(
        system::BATCH_INBOX,
        system_account().with_storage(Some([(B256::ZERO, batcher)].into_iter().collect())),
    );
    genesis.alloc.insert(system::PORTAL, system_account());
    genesis.alloc.insert(system::DISPUTE_GAME, system_account());
    genesis.alloc.insert(
        system::L1_MESSENGER,
        evm_system_account(system::code::l1_messenger()),
    );
    genesis.alloc.insert(
        system::L1_STANDARD_BRIDGE,
        evm_system_account(system::code::l1_standard_bridge()),
    );
    set_bridge_params(&mut genesis, &BridgeParams::dev());
    genesis
}

/// Arachnid's deterministic deployment proxy, where Foundry (`forge script` with a salted `new`,
/// `forge create --create2`) and most CREATE2 tooling expect it.
pub const ARACHNID_CREATE2_DEPLOYER: Address =
    alloy_primitives::address!("0x4e59b44847b379578588920ca78fbf26c0b4956c");
/// Safe's singleton factory, where Safe's deployments expect it.
pub const SAFE_SINGLETON_FACTORY: Address =
    alloy_primitives::address!("0x914d7Fec6aaC8cd542e72Bca78B30650d45643d7");
/// Both factories' program (they are one program): CREATE2 with the calldata's first 32 bytes as
/// the salt and the rest as the init code; it returns the new address. This is what the
/// presigned deployment transaction in `@safe-global/safe-singleton-factory` 2.0.0
/// (`artifacts/1/deployment.json`, from npm) leaves at its address; the end-to-end suite checks
/// the code on both layers against what that transaction's init code returns.
pub const CREATE2_DEPLOYER_CODE: [u8; 69] = alloy_primitives::hex!(
    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf3"
);

/// The given chain id, the ten dev accounts with 10,000 ETH each, and the CREATE2 factories.
fn funded_genesis(chain_id: u64) -> Genesis {
    let mut genesis = Genesis::default();
    genesis.config.chain_id = chain_id;
    genesis.gas_limit = ChainConfig::DEFAULT_GAS_LIMIT;
    genesis.base_fee_per_gas = Some(u128::from(DEFAULT_GENESIS_BASE_FEE_WEI));
    let balance = U256::from(dev::DEV_BALANCE_ETH) * U256::from(10u64).pow(U256::from(18));
    genesis.alloc = dev::accounts()
        .iter()
        .map(|account| {
            (
                account.address,
                GenesisAccount::default().with_balance(balance),
            )
        })
        .collect();
    for factory in [ARACHNID_CREATE2_DEPLOYER, SAFE_SINGLETON_FACTORY] {
        let code = GenesisAccount::default().with_code(Some(CREATE2_DEPLOYER_CODE.into()));
        genesis.alloc.insert(factory, code);
    }
    genesis
}

/// Puts an L2 on this L1: writes its rules into EXECUTE's storage (slots 0 to 5: chain id, gas
/// limit, elasticity, base-fee change denominator, minimum base fee, sequencer drift), so L1
/// re-executes L2 blocks and decodes batches exactly as the L2 runs them, and the output root of
/// its genesis block into the DisputeGame (slot 0), the parent a challenge of L2 block 1 starts
/// from and the one the first output must name. The two go together, so every L1 that carries an
/// L2 can dispute its first output.
pub fn carry_l2(genesis: &mut Genesis, l2: &ChainConfig, genesis_output_root: B256) {
    let storage = [
        l2.chain_id,
        l2.gas_limit,
        l2.fees.elasticity_multiplier,
        l2.fees.base_fee_change_denominator,
        l2.fees.min_base_fee_wei,
        l2.max_sequencer_drift,
    ]
    .into_iter()
    .enumerate()
    .map(|(slot, value)| (B256::from(U256::from(slot)), B256::from(U256::from(value))))
    .collect();
    genesis.alloc.insert(
        system::EXECUTE,
        system_account().with_storage(Some(storage)),
    );
    genesis.alloc.insert(
        system::DISPUTE_GAME,
        system_account().with_storage(Some(
            [(B256::ZERO, genesis_output_root)].into_iter().collect(),
        )),
    );
}

/// What an L1 genesis fixes about settlement, in OutputOracle's storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeParams {
    /// Seconds of L1 time after which an output is final.
    pub challenge_window: u64,
    /// L2 blocks between outputs.
    pub output_interval: u64,
    /// The least bond a proposer posts with an output, in wei.
    pub min_bond: U256,
}

impl BridgeParams {
    /// The devnet's: a 60 s window, an output every 20 L2 blocks (5 s), 1 ETH bonds.
    pub fn dev() -> Self {
        Self {
            challenge_window: 60,
            output_interval: 20,
            min_bond: U256::from(10u64).pow(U256::from(18)),
        }
    }

    /// Production defaults: a one-hour window (a dispute is one L1 transaction), an output every
    /// 1,800 L2 blocks (7.5 minutes), 1 ETH bonds.
    pub fn production() -> Self {
        Self {
            challenge_window: 3_600,
            output_interval: 1_800,
            min_bond: U256::from(10u64).pow(U256::from(18)),
        }
    }
}

/// Writes `params` into the OutputOracle of an L1 genesis (slots 1, 2 and 3).
pub fn set_bridge_params(genesis: &mut Genesis, params: &BridgeParams) {
    let storage = [
        (1u64, U256::from(params.challenge_window)),
        (2, U256::from(params.output_interval)),
        (3, params.min_bond),
    ]
    .into_iter()
    .map(|(slot, value)| (B256::from(U256::from(slot)), B256::from(value)))
    .collect();
    genesis.alloc.insert(
        system::OUTPUT_ORACLE,
        system_account().with_storage(Some(storage)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geth_style_alloc_parses() {
        let text = r#"{
            "config": {"chainId": 900},
            "gasLimit": "0x1c9c380",
            "baseFeePerGas": "0x3b9aca00",
            "alloc": {
                "f39Fd6e51aad88F6F4ce6aB8827279cffFb92266": {"balance": "0x21e19e0c9bab2400000"},
                "0x0000000000000000000000000000000000001234": {"code": "0x6001", "storage": {"0x01": "0x02"}, "nonce": "0x1", "balance": "0"}
            }
        }"#;
        let dir = std::env::temp_dir().join(format!("tandem-genesis-{}", std::process::id()));
        std::fs::write(&dir, text).unwrap();
        let genesis = load(&dir).unwrap();
        std::fs::remove_file(&dir).ok();
        assert_eq!(genesis.config.chain_id, 900);
        assert_eq!(genesis.gas_limit, 30_000_000);
        assert_eq!(base_fee(&genesis), 1_000_000_000);
        assert_eq!(genesis.alloc.len(), 2);
    }

    #[test]
    fn unreadable_genesis_names_the_file() {
        let err = load(Path::new("/nonexistent/genesis.json")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/genesis.json"));
    }
}
