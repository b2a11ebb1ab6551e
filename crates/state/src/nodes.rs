use alloy_primitives::B256;
use parking_lot::RwLock;
use std::collections::HashMap;
use tandem_storage::Reader;

/// Trie nodes by hash: new nodes in memory over the committed ones in a snapshot.
///
/// Nodes that a change makes unreachable from the newest root are kept, so older roots stay
/// readable for historical queries and proofs.
#[derive(Debug, Default)]
pub struct NodeDb<'r> {
    base: Option<&'r Reader>,
    overlay: RwLock<HashMap<B256, Vec<u8>>>,
}

impl<'r> NodeDb<'r> {
    /// Nodes over a database snapshot.
    pub fn new(base: &'r Reader) -> Self {
        Self {
            base: Some(base),
            overlay: RwLock::default(),
        }
    }

    /// Nodes held only in memory, such as a witness.
    pub fn in_memory(nodes: impl IntoIterator<Item = (B256, Vec<u8>)>) -> Self {
        Self {
            base: None,
            overlay: RwLock::new(nodes.into_iter().collect()),
        }
    }

    /// The nodes written since this was created.
    pub fn take_new(&self) -> Vec<(B256, Vec<u8>)> {
        let mut nodes: Vec<_> = self.overlay.write().drain().collect();
        nodes.sort_unstable_by_key(|(hash, _)| *hash);
        nodes
    }
}

impl eth_trie::DB for NodeDb<'_> {
    type Error = tandem_storage::Error;

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Self::Error> {
        let Ok(hash) = B256::try_from(key) else {
            return Ok(None);
        };
        if let Some(node) = self.overlay.read().get(&hash) {
            return Ok(Some(node.clone()));
        }
        match self.base {
            Some(reader) => reader.trie_node(hash),
            None => Ok(None),
        }
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> Result<(), Self::Error> {
        if let Ok(hash) = B256::try_from(key) {
            self.overlay.write().insert(hash, value);
        }
        Ok(())
    }

    fn remove(&self, _key: &[u8]) -> Result<(), Self::Error> {
        // Kept on purpose: older roots still reference this node.
        Ok(())
    }

    fn flush(&self) -> Result<(), Self::Error> {
        Ok(())
    }
}
