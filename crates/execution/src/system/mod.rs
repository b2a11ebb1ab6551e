//! L1 system contracts as stateful precompiles: native Rust inside revm, with storage in the state
//! trie, normal logs, and Solidity ABIs (alloy `sol!`, published under `contracts/`).
//!
//! [`SystemPrecompiles`] wraps Ethereum's precompiles of the active fork and claims the system
//! addresses. Every EVM tandem builds (block building, verification, `eth_call`) uses it.
pub(crate) mod batch_inbox;
pub mod dispute_game;
pub mod execute;
pub mod l1_block;
pub mod message_passer;
pub mod messenger;
pub mod output_oracle;
pub mod portal;

pub use batch_inbox::{BATCHER_SLOT, IBatchInbox, NEXT_SEQUENCE_SLOT};
pub use dispute_game::IDisputeGame;
pub use execute::IExecute;
pub use l1_block::IL1Block;
pub use message_passer::IL2ToL1MessagePasser;
pub use output_oracle::IOutputOracle;
pub use portal::IPortal;

use revm::{
    context::Cfg,
    context_interface::{ContextTr, JournalTr},
    handler::{
        EthPrecompiles, PrecompileProvider, precompile_output_to_interpreter_result as to_result,
    },
    interpreter::{CallInputs, InterpreterResult},
    precompile::{PrecompileHalt, PrecompileOutput},
    primitives::{Address, AddressSet, B256, Log, U256, hardfork::SpecId},
};
use tandem_primitives::{
    Layer,
    system::{
        BATCH_INBOX, DISPUTE_GAME, EXECUTE, L1_BLOCK, L1_SYSTEM_CONTRACTS, L2_SYSTEM_CONTRACTS,
        L2_TO_L1_MESSAGE_PASSER, OUTPUT_ORACLE, PORTAL,
    },
};

/// Ethereum's precompiles plus the system contracts of one layer.
#[derive(Debug, Clone)]
pub struct SystemPrecompiles {
    eth: EthPrecompiles,
    layer: Layer,
    warm: AddressSet,
}

/// The system contracts a layer has.
fn contracts(layer: Layer) -> &'static [Address] {
    match layer {
        Layer::L1 => &L1_SYSTEM_CONTRACTS,
        Layer::L2 => &L2_SYSTEM_CONTRACTS,
    }
}

impl SystemPrecompiles {
    pub fn new(spec: SpecId, layer: Layer) -> Self {
        let eth = EthPrecompiles::new(spec);
        let mut warm = eth.warm_addresses().clone();
        // Warm like the Ethereum precompiles: a call costs 100 gas, not 2,600.
        warm.extend(contracts(layer).iter().copied());
        Self { eth, layer, warm }
    }
}

impl<CTX: ContextTr> PrecompileProvider<CTX> for SystemPrecompiles {
    type Output = InterpreterResult;

    fn set_spec(&mut self, spec: <CTX::Cfg as Cfg>::Spec) -> bool {
        let changed = <EthPrecompiles as PrecompileProvider<CTX>>::set_spec(&mut self.eth, spec);
        self.warm.clone_from(self.eth.warm_addresses());
        self.warm.extend(contracts(self.layer).iter().copied());
        changed
    }

    fn run(
        &mut self,
        ctx: &mut CTX,
        inputs: &CallInputs,
    ) -> Result<Option<InterpreterResult>, String> {
        type Contract<CTX> = fn(&mut Call<'_, CTX>) -> Result<PrecompileOutput, String>;
        let contract: Contract<CTX> = match (self.layer, inputs.bytecode_address) {
            (Layer::L1, BATCH_INBOX) => batch_inbox::call,
            (Layer::L1, PORTAL) => portal::call,
            (Layer::L1, OUTPUT_ORACLE) => output_oracle::call,
            (Layer::L1, EXECUTE) => execute::call,
            (Layer::L1, DISPUTE_GAME) => dispute_game::call,
            (Layer::L2, L2_TO_L1_MESSAGE_PASSER) => message_passer::call,
            (Layer::L2, L1_BLOCK) => l1_block::call,
            _ => {
                return <EthPrecompiles as PrecompileProvider<CTX>>::run(
                    &mut self.eth,
                    ctx,
                    inputs,
                );
            }
        };
        let mut call = Call::new(ctx, inputs);
        let output = match contract(&mut call) {
            Ok(output) => output,
            Err(e) => return call.into_db_error().map(Some).ok_or(e),
        };
        Ok(Some(to_result(output, inputs.gas_limit)))
    }

    fn warm_addresses(&self) -> &AddressSet {
        &self.warm
    }
}

alloy_sol_types::sol! {
    /// The errors every system contract answers with, by signature.
    interface SystemErrors {
        error BadCall(bytes4 selector);
        error NotAllowed();
    }
}

/// Keeps a failed state read's error in `slot` (see `Call::db_error`) and gives its message.
fn kept<E: std::fmt::Display>(slot: &mut Option<E>) -> impl FnOnce(E) -> String + '_ {
    move |e| {
        let message = e.to_string();
        *slot = Some(e);
        message
    }
}

/// Base cost of any system-contract call, like a cheap precompile.
const BASE_GAS: u64 = 200;

/// The slot of `mapping[key]` for a Solidity mapping declared at `slot`: keccak256(abi.encode(key, slot)).
pub fn mapping_slot(key: B256, slot: u64) -> U256 {
    let mut preimage = [0u8; 64];
    preimage[..32].copy_from_slice(key.as_slice());
    preimage[56..].copy_from_slice(&slot.to_be_bytes());
    U256::from_be_bytes(revm::primitives::keccak256(preimage).0)
}

/// One call into a system contract: its inputs, and storage and log access metered at EVM prices.
/// Journal operations themselves are free, so every access adds its gas here.
pub(crate) struct Call<'a, CTX: ContextTr> {
    ctx: &'a mut CTX,
    pub(crate) address: Address,
    pub(crate) caller: Address,
    pub(crate) value: U256,
    pub(crate) is_static: bool,
    pub(crate) delegated: bool,
    pub(crate) input: revm::primitives::Bytes,
    gas_limit: u64,
    reservoir: u64,
    pub(crate) gas: u64,
    refund: i64,
    /// A state read that failed (a witness budget refusal, a storage error): kept typed, so the
    /// EVM reports it as the database's error, as for any other account or slot read, not as a
    /// failure of the system contract.
    db_error: Option<<CTX::Db as revm::Database>::Error>,
}

impl<'a, CTX: ContextTr> Call<'a, CTX> {
    fn new(ctx: &'a mut CTX, inputs: &CallInputs) -> Self {
        let input = inputs.input.bytes(ctx);
        Self {
            address: inputs.bytecode_address,
            caller: inputs.caller,
            value: inputs.call_value(),
            is_static: inputs.is_static,
            // DELEGATECALL or CALLCODE run the code against another account's storage: refused.
            delegated: inputs.target_address != inputs.bytecode_address,
            input,
            gas_limit: inputs.gas_limit,
            reservoir: inputs.reservoir,
            gas: BASE_GAS,
            refund: 0,
            db_error: None,
            ctx,
        }
    }

    /// Hands a failed state read back to the EVM (see `db_error`); the call then ends.
    fn into_db_error(mut self) -> Option<InterpreterResult> {
        let e = self.db_error.take()?;
        *self.ctx.error() = Err(revm::context_interface::context::ContextError::Db(e));
        Some(InterpreterResult::new(
            revm::interpreter::InstructionResult::FatalExternalError,
            revm::primitives::Bytes::new(),
            revm::interpreter::Gas::new(0),
        ))
    }

    pub(crate) fn sload(&mut self, slot: U256) -> Result<U256, String> {
        let gas = self.ctx.cfg().gas_params().clone();
        let loaded = self
            .ctx
            .journal_mut()
            .sload(self.address, slot)
            .map_err(kept(&mut self.db_error))?;
        self.gas += gas.warm_storage_read_cost()
            + if loaded.is_cold {
                gas.cold_storage_additional_cost()
            } else {
                0
            };
        Ok(loaded.data)
    }

    pub(crate) fn sstore(&mut self, slot: U256, value: U256) -> Result<(), String> {
        let gas = self.ctx.cfg().gas_params().clone();
        let stored = self
            .ctx
            .journal_mut()
            .sstore(self.address, slot, value)
            .map_err(kept(&mut self.db_error))?;
        self.gas +=
            gas.sstore_static_gas() + gas.sstore_dynamic_gas(true, &stored.data, stored.is_cold);
        self.refund += gas.sstore_refund(true, &stored.data);
        Ok(())
    }

    /// Reads a slot of system contract `address` (this one or a neighbour) at a price the
    /// contract sets itself (native bookkeeping, not an EVM SLOAD).
    pub(crate) fn sload_priced(
        &mut self,
        address: Address,
        slot: U256,
        gas: u64,
    ) -> Result<U256, String> {
        self.gas = self.gas.saturating_add(gas);
        let journal = self.ctx.journal_mut();
        journal
            .load_account(address)
            .map_err(kept(&mut self.db_error))?;
        Ok(journal
            .sload(address, slot)
            .map_err(kept(&mut self.db_error))?
            .data)
    }

    /// Writes a slot at a price the contract sets itself (native bookkeeping, not an EVM SSTORE).
    pub(crate) fn sstore_priced(
        &mut self,
        slot: U256,
        value: U256,
        gas: u64,
    ) -> Result<(), String> {
        self.gas = self.gas.saturating_add(gas);
        self.ctx
            .journal_mut()
            .sstore(self.address, slot, value)
            .map_err(kept(&mut self.db_error))?;
        Ok(())
    }

    /// Reads another account's storage (a system contract reading its neighbour's).
    pub(crate) fn sload_at(&mut self, address: Address, slot: U256) -> Result<U256, String> {
        let gas = self.ctx.cfg().gas_params().clone();
        let journal = self.ctx.journal_mut();
        let account = journal
            .load_account(address)
            .map_err(kept(&mut self.db_error))?;
        let mut cost = if account.is_cold {
            gas.cold_storage_additional_cost()
        } else {
            0
        };
        let loaded = journal
            .sload(address, slot)
            .map_err(kept(&mut self.db_error))?;
        cost += gas.warm_storage_read_cost()
            + if loaded.is_cold {
                gas.cold_storage_additional_cost()
            } else {
                0
            };
        self.gas += cost;
        Ok(loaded.data)
    }

    /// Writes another system contract's storage (the DisputeGame deleting outputs).
    pub(crate) fn sstore_at(
        &mut self,
        address: Address,
        slot: U256,
        value: U256,
    ) -> Result<(), String> {
        let gas = self.ctx.cfg().gas_params().clone();
        let journal = self.ctx.journal_mut();
        journal
            .load_account(address)
            .map_err(kept(&mut self.db_error))?;
        let stored = journal
            .sstore(address, slot, value)
            .map_err(kept(&mut self.db_error))?;
        self.gas +=
            gas.sstore_static_gas() + gas.sstore_dynamic_gas(true, &stored.data, stored.is_cold);
        Ok(())
    }

    /// Moves `amount` from `from` (this contract or a neighbour) to `to`; `false` when `from`
    /// holds less.
    pub(crate) fn transfer(
        &mut self,
        from: Address,
        to: Address,
        amount: U256,
    ) -> Result<bool, String> {
        self.gas += 9_000;
        let failed = self
            .ctx
            .journal_mut()
            .transfer(from, to, amount)
            .map_err(kept(&mut self.db_error))?;
        Ok(failed.is_none())
    }

    /// Destroys `amount` of `address`'s balance. `false` when it holds less.
    pub(crate) fn burn_at(&mut self, address: Address, amount: U256) -> Result<bool, String> {
        use revm::context_interface::journaled_state::account::JournaledAccountTr;
        let mut account = self
            .ctx
            .journal_mut()
            .load_account_mut(address)
            .map_err(kept(&mut self.db_error))?;
        Ok(account.data.decr_balance(amount))
    }

    /// Emits a log as another system contract (the OutputOracle's deletion event).
    pub(crate) fn log_as(&mut self, address: Address, data: revm::primitives::LogData) {
        let gas = self.ctx.cfg().gas_params().clone();
        self.gas += 375 + gas.log_cost(data.topics().len() as u8, data.data.len() as u64);
        self.ctx.journal_mut().log(Log { address, data });
    }

    /// The hash of an earlier L1 block at any depth (zero if unknown): system contracts may look
    /// past BLOCKHASH's 256 blocks, since every node keeps every header.
    pub(crate) fn l1_block_hash(&mut self, number: u64) -> Result<B256, String> {
        use revm::Database;
        self.gas += 2_100;
        self.ctx
            .db_mut()
            .block_hash(number)
            .map_err(kept(&mut self.db_error))
    }

    /// The L1 (or L2) block's timestamp.
    pub(crate) fn timestamp(&self) -> u64 {
        use revm::context_interface::Block;
        self.ctx.block().timestamp().saturating_to()
    }

    /// The L1 (or L2) block's number.
    pub(crate) fn block_number(&self) -> u64 {
        use revm::context_interface::Block;
        self.ctx.block().number().saturating_to()
    }

    /// Whether this call is the transaction itself (sent straight to this contract by its signer),
    /// not a call from a contract or delegated code.
    pub(crate) fn is_top_level(&self) -> bool {
        use revm::context_interface::Transaction;
        self.ctx.tx().kind() == revm::primitives::TxKind::Call(self.address)
            && self.caller == self.origin()
    }

    /// The transaction's signer (`tx.origin`).
    pub(crate) fn origin(&self) -> Address {
        use revm::context_interface::Transaction;
        self.ctx.tx().caller()
    }

    /// Pays `amount` of this contract's balance to `to`, at the price of a value-bearing CALL.
    /// `false` when the contract holds less.
    pub(crate) fn pay(&mut self, to: Address, amount: U256) -> Result<bool, String> {
        self.gas += 9_000;
        let failed = self
            .ctx
            .journal_mut()
            .transfer(self.address, to, amount)
            .map_err(kept(&mut self.db_error))?;
        Ok(failed.is_none())
    }

    /// This contract's balance.
    pub(crate) fn balance(&mut self) -> Result<U256, String> {
        let account = self
            .ctx
            .journal_mut()
            .load_account(self.address)
            .map_err(kept(&mut self.db_error))?;
        Ok(account.data.info.balance)
    }

    /// Destroys `amount` of this contract's balance. `false` when it holds less.
    pub(crate) fn burn(&mut self, amount: U256) -> Result<bool, String> {
        use revm::context_interface::journaled_state::account::JournaledAccountTr;
        let mut account = self
            .ctx
            .journal_mut()
            .load_account_mut(self.address)
            .map_err(kept(&mut self.db_error))?;
        Ok(account.data.decr_balance(amount))
    }

    /// Gas the call has left after what is charged so far.
    pub(crate) fn gas_left(&self) -> u64 {
        self.gas_limit.saturating_sub(self.gas)
    }

    /// Whether the gas charged so far exceeds what the call has.
    pub(crate) fn out_of_gas(&self) -> bool {
        self.gas > self.gas_limit
    }

    /// Adds gas for work the helpers do not meter.
    pub(crate) fn charge(&mut self, gas: u64) {
        self.gas = self.gas.saturating_add(gas);
    }

    pub(crate) fn log(&mut self, data: revm::primitives::LogData) {
        let gas = self.ctx.cfg().gas_params().clone();
        self.gas += 375 + gas.log_cost(data.topics().len() as u8, data.data.len() as u64);
        self.ctx.journal_mut().log(Log {
            address: self.address,
            data,
        });
    }

    /// Decodes the call against a contract's interface, or gives the revert data to answer with:
    /// `NotAllowed()` for a DELEGATECALL or CALLCODE, `BadCall(selector)` for anything else it does
    /// not know. Every system contract declares both errors with these signatures.
    pub(crate) fn decode<I: alloy_sol_types::SolInterface>(&self) -> Result<I, Vec<u8>> {
        use alloy_sol_types::SolError;
        if self.delegated {
            return Err(SystemErrors::NotAllowed {}.abi_encode());
        }
        // Strict: canonical offsets, no aliasing, so decoding copies no more than the input
        // holds (a non-strict decoder expands overlapping `bytes[]` elements a thousandfold
        // before any gas is charged). Trailing bytes are allowed, as Solidity allows them.
        let config = alloy_sol_types::abi::AbiDecoderConfig::new()
            .strict(true)
            .validate_allow_trailing_bytes(true)
            .memory_limit(self.input.len().saturating_mul(2).saturating_add(64 * 1024));
        I::abi_decode_with_config(&self.input, config).map_err(|_| {
            let selector: [u8; 4] = self
                .input
                .get(..4)
                .and_then(|s| s.try_into().ok())
                .unwrap_or_default();
            SystemErrors::BadCall {
                selector: selector.into(),
            }
            .abi_encode()
        })
    }

    /// Charges for hashing `bytes`, as the KECCAK256 opcode would.
    pub(crate) fn charge_keccak(&mut self, bytes: usize) {
        self.gas += 30 + 6 * (bytes as u64).div_ceil(32);
    }

    pub(crate) fn revert(&self, data: Vec<u8>) -> Result<PrecompileOutput, String> {
        Ok(PrecompileOutput::revert(
            self.gas.min(self.gas_limit),
            data.into(),
            self.reservoir,
        ))
    }

    pub(crate) fn finish(&self, output: Vec<u8>) -> Result<PrecompileOutput, String> {
        if self.gas > self.gas_limit {
            return Ok(PrecompileOutput::halt(
                PrecompileHalt::OutOfGas,
                self.reservoir,
            ));
        }
        Ok(PrecompileOutput {
            gas_refunded: self.refund,
            ..PrecompileOutput::new(self.gas, output.into(), self.reservoir)
        })
    }
}
