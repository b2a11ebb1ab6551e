//! Opening a node's chain: storage with genesis written or checked, a pool, and the JSON-RPC
//! backend over them. Every node (L1 dev or validator, L2 sequencer or verifier) starts here.
use crate::{Backend, Limits};
use std::{path::Path, sync::Arc};
use tandem_execution::genesis_block;
use tandem_mempool::{Mempool, Pool};
use tandem_primitives::{Genesis, dev::DevAccount, genesis::chain_config};
use tandem_storage::{History, Storage};

/// Why a chain could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Storage(#[from] tandem_storage::Error),
    #[error(transparent)]
    Execution(#[from] tandem_execution::Error),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("the data directory holds chain {stored}, but the genesis gives {expected}")]
    GenesisMismatch {
        stored: tandem_primitives::B256,
        expected: tandem_primitives::B256,
    },
}

type Result<T, E = OpenError> = std::result::Result<T, E>;

/// What every kind of node starts with: its storage (with genesis written or checked), a pool and
/// the JSON-RPC backend over them.
pub fn open_backend(
    data_dir: &Path,
    history: History,
    genesis: &Genesis,
    mempool: &tandem_mempool::Config,
    limits: &Limits,
    dev_signers: &[DevAccount],
) -> Result<Backend> {
    std::fs::create_dir_all(data_dir).map_err(|source| OpenError::DataDir {
        path: data_dir.display().to_string(),
        source,
    })?;
    let storage = Arc::new(Storage::open_with(&data_dir.join("chain.redb"), history)?);
    let head = init_genesis(&storage, genesis)?;
    tracing::info!(target: "node", head, data_dir = %data_dir.display(), "chain opened");
    let chain = chain_config(genesis);
    let pool = Mempool::new(
        mempool.clone(),
        chain.chain_id,
        chain.gas_limit,
        chain.fees.min_base_fee_wei,
    );
    let pool = Arc::new(Pool::new(pool, chain.layer));
    let mut backend = Backend::new(storage, pool, chain, limits.clone());
    backend.dev_signers = Arc::new(dev_signers.to_vec());
    Ok(backend)
}

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
                return Err(OpenError::GenesisMismatch {
                    stored,
                    expected: block.block.hash,
                });
            }
            Ok(last)
        }
    }
}
