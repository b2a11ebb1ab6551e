//! revm setup, the block executor, the fee market and sender recovery for tandem's L1.
//!
//! A block is built (or re-executed) by an [`Executor`]: it runs transactions one by one on top of
//! the parent state, and on [`Executor::finish`] folds the changes into the state trie and seals the
//! Ethereum header. The same environment code serves `eth_call` and `eth_estimateGas`.
pub mod budget;
pub mod challenge_cost;
mod env;
mod executor;
pub mod l2;
mod recover;
pub mod stateless;
pub mod system;
pub mod witness;

pub use env::{
    BlockAttributes, EvmInspector, TandemEvm, block_env, build_evm, cfg_env, evm_spec,
    intrinsic_gas, settles_dispute, tx_env, tx_gas_limit_cap,
};
pub use executor::{
    AccountEdit, Error, ExecutedBlock, Executor, ExecutorDb, TraceContext, TraceDb, Traced, Tracer,
    TxOutcome, Write, carry_l2_genesis, dev_genesis, dev_genesis_with, genesis_block,
    genesis_output,
};
pub use recover::{RecoveryError, recover_sender, recover_senders};

pub use revm;
