use alloy_consensus::{Transaction, Typed2718};
use alloy_primitives::{Address, B256, U256};
use revm::{
    context::{BlockEnv, CfgEnv, TxEnv},
    context_interface::block::BlobExcessGasAndPrice,
    primitives::hardfork::SpecId,
};
use tandem_primitives::TxEnvelope;

/// The Ethereum fork tandem executes: the newest revm supports that needs no system contracts
/// we do not run.
pub fn evm_spec() -> SpecId {
    SpecId::OSAKA
}

/// Whether a transaction to `to` settles a dispute: on L1, a call to the DisputeGame. Such a call
/// may use a whole block (past EIP-7825's cap and the soft limit ordinary transactions fill
/// blocks to), and block builders take it before ordinary transactions, so a challenge gets into
/// the next block whatever the load.
pub fn settles_dispute(layer: tandem_primitives::Layer, to: alloy_primitives::TxKind) -> bool {
    use tandem_primitives::{Layer, system::DISPUTE_GAME};
    matches!((layer, to), (Layer::L1, alloy_primitives::TxKind::Call(to)) if to == DISPUTE_GAME)
}

/// The most gas one transaction may use: EIP-7825's cap (2^24), except for a call that
/// [`settles_dispute`], which may use a whole block: a challenge re-executes a whole L2 block (its
/// gas and its witness) in one transaction.
pub fn tx_gas_limit_cap(
    layer: tandem_primitives::Layer,
    to: alloy_primitives::TxKind,
    block_gas_limit: u64,
) -> u64 {
    match settles_dispute(layer, to) {
        true => block_gas_limit,
        false => revm::primitives::eip7825::TX_GAS_LIMIT_CAP,
    }
}

/// The inspector slot of every EVM: a no-op, which a [`crate::Tracer`] swaps for its own inspector
/// while the transaction it traces runs (nothing else runs inspected).
pub type EvmInspector<DB> = Box<dyn revm::Inspector<revm::handler::MainnetContext<DB>> + Send>;

/// Every EVM tandem runs: mainnet rules of [`evm_spec`] plus tandem's system contracts.
pub type TandemEvm<DB> = revm::context::Evm<
    revm::handler::MainnetContext<DB>,
    EvmInspector<DB>,
    revm::handler::instructions::EthInstructions<
        revm::interpreter::interpreter::EthInterpreter,
        revm::handler::MainnetContext<DB>,
    >,
    crate::system::SystemPrecompiles,
    revm::handler::EthFrame<revm::interpreter::interpreter::EthInterpreter>,
>;

/// Builds an EVM over `db` for one block: block building, verification, `eth_call` and tracing
/// all use this, so the system contracts answer everywhere.
pub fn build_evm<DB: revm::Database>(
    db: DB,
    cfg: CfgEnv,
    block: BlockEnv,
    layer: tandem_primitives::Layer,
) -> TandemEvm<DB> {
    use revm::{Context, MainBuilder, MainContext, inspector::NoOpInspector};
    let idle: EvmInspector<DB> = Box::new(NoOpInspector);
    Context::mainnet()
        .with_db(db)
        .with_cfg(cfg)
        .with_block(block)
        .build_mainnet_with_inspector(idle)
        .with_precompiles(crate::system::SystemPrecompiles::new(evm_spec(), layer))
}

/// The block-independent EVM configuration of a chain.
pub fn cfg_env(chain_id: u64) -> CfgEnv {
    let mut cfg = CfgEnv::new_with_spec(evm_spec());
    cfg.chain_id = chain_id;
    cfg
}

/// What the proposer of a block chooses; everything else follows from the parent and the transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockAttributes {
    pub timestamp: u64,
    /// Receives the priority fees.
    pub beneficiary: Address,
    /// `mixHash`: randomness from consensus (zero in dev mode).
    pub prev_randao: B256,
}

/// The EVM's view of a block.
pub fn block_env(number: u64, attrs: &BlockAttributes, gas_limit: u64, base_fee: u64) -> BlockEnv {
    BlockEnv {
        number: U256::from(number),
        beneficiary: attrs.beneficiary,
        timestamp: U256::from(attrs.timestamp),
        gas_limit,
        basefee: base_fee,
        difficulty: U256::ZERO,
        prevrandao: Some(attrs.prev_randao),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new_with_spec(0, evm_spec())),
        slot_num: 0,
    }
}

/// The EVM's view of a signed transaction from `sender`.
pub fn tx_env(tx: &TxEnvelope, sender: Address) -> TxEnv {
    TxEnv {
        tx_type: tx.ty(),
        caller: sender,
        gas_limit: tx.gas_limit(),
        gas_price: tx.max_fee_per_gas(),
        kind: tx.kind(),
        value: tx.value(),
        data: tx.input().clone(),
        nonce: tx.nonce(),
        chain_id: tx.chain_id(),
        access_list: tx.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: tx.max_priority_fee_per_gas(),
        blob_hashes: tx
            .blob_versioned_hashes()
            .map(<[B256]>::to_vec)
            .unwrap_or_default(),
        max_fee_per_blob_gas: tx.max_fee_per_blob_gas().unwrap_or_default(),
        authorization_list: tx
            .authorization_list()
            .map(|list| {
                list.iter()
                    .cloned()
                    .map(revm::context_interface::either::Either::Left)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The gas a transaction needs before it runs any code: the larger of the intrinsic gas and the
/// EIP-7623 calldata floor. A gas limit below this is "intrinsic gas too low".
pub fn intrinsic_gas(tx: &TxEnvelope, sender: Address) -> u64 {
    let gas = revm::context_interface::cfg::gas::calculate_initial_tx_gas_for_tx(
        tx_env(tx, sender),
        evm_spec(),
        None,
    );
    (gas.initial_regular_gas + gas.initial_state_gas).max(gas.floor_gas)
}
