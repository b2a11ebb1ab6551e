use crate::{Error, StateReader};
use alloy_primitives::{Address, B256, U256};
use alloy_trie::KECCAK_EMPTY;
use revm::{bytecode::Bytecode, database_interface::DatabaseRef, state::AccountInfo};

/// A revm database over any [`StateReader`]. Wrap it in revm's `CacheDB` to execute on it.
#[derive(Debug, Clone, Copy)]
pub struct StateDb<S>(pub S);

impl<S: StateReader> DatabaseRef for StateDb<S> {
    type Error = Error;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Error> {
        Ok(self.0.account(address)?.map(|a| AccountInfo {
            balance: a.balance,
            nonce: a.nonce,
            code_hash: a.code_hash,
            code: (a.code_hash == KECCAK_EMPTY).then(Bytecode::default),
            ..Default::default()
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Error> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        Ok(self
            .0
            .code(code_hash)?
            // Code no valid state holds (a malformed EIP-7702 delegation) runs as plain bytes
            // rather than stop the node.
            .map(|code| {
                Bytecode::new_raw_checked(code.clone()).unwrap_or(Bytecode::new_legacy(code))
            })
            .unwrap_or_default())
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Error> {
        self.0.storage(address, B256::from(index))
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Error> {
        Ok(self.0.block_hash(number)?.unwrap_or_default())
    }
}
