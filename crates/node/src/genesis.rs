use crate::{Error, Result};
use tandem_execution::genesis_block;
use tandem_primitives::Genesis;
use tandem_storage::Storage;

/// Writes the genesis block into empty storage, or checks that stored chain starts with it.
/// Returns the height of the last committed block.
pub fn init_genesis(storage: &Storage, genesis: &Genesis) -> Result<u64> {
    let reader = storage.read()?;
    let block = genesis_block(&reader, genesis)?;
    match reader.last_height() {
        None => {
            drop(reader);
            tracing::info!(target: "node", hash = %block.block.hash, accounts = genesis.alloc.len(), "writing genesis");
            storage.commit(&block.into_commit())?;
            Ok(0)
        }
        Some(last) => {
            let stored = reader.header(0)?.map(|h| h.hash_slow()).unwrap_or_default();
            if stored != block.block.hash {
                return Err(Error::GenesisMismatch {
                    stored,
                    expected: block.block.hash,
                });
            }
            Ok(last)
        }
    }
}
