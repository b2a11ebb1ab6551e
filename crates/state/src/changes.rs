use alloy_primitives::{Address, B256, Bytes, U256};
use std::collections::BTreeMap;

/// The new value of one account after a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountChange {
    pub nonce: u64,
    pub balance: U256,
    pub code_hash: B256,
    /// The bytecode, when the block deployed it.
    pub code: Option<Bytes>,
    /// The account's storage was cleared (created anew) before `storage` applies.
    pub storage_cleared: bool,
    /// Changed slots; zero deletes.
    pub storage: BTreeMap<U256, U256>,
}

/// Everything a block changed in the state, in address order. `None` deletes the account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateChanges {
    pub accounts: BTreeMap<Address, Option<AccountChange>>,
}
