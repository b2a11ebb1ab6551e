use alloy_primitives::B256;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use tandem_storage::Reader;

/// Trie nodes by hash: new nodes in memory over the committed ones in a snapshot.
///
/// Every insert and every removal is recorded, repeats included, because the store counts how many
/// places refer to each node: two storage tries may hold the same node, and both references count.
#[derive(Debug, Default)]
pub struct NodeDb<'r> {
    source: NodeSource<'r>,
    overlay: RwLock<HashMap<B256, Vec<u8>>>,
    inserted: Mutex<Vec<B256>>,
    removed: Mutex<Vec<B256>>,
}

/// Where a state update reads the trie nodes it does not write itself: the store (with
/// uncommitted blocks on top), or a witness alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeSource<'r> {
    base: Option<&'r Reader>,
    pending: Option<&'r HashMap<B256, Vec<u8>>>,
    seen: Option<&'r Mutex<HashMap<B256, Vec<u8>>>>,
}

impl<'r> NodeSource<'r> {
    /// The store's nodes, with those of uncommitted `pending` blocks on top.
    pub fn store(reader: &'r Reader, pending: Option<&'r crate::Pending>) -> Self {
        Self {
            base: Some(reader),
            pending: pending.map(|p| &p.nodes),
            seen: None,
        }
    }

    /// A witness's nodes, and nothing else: a missing node is an error, never an empty subtree.
    pub fn witness(state: &'r crate::WitnessState) -> Self {
        Self {
            base: None,
            pending: Some(state.nodes()),
            seen: None,
        }
    }

    /// Also remembers every node read from here (not those the update writes), for a witness.
    pub fn recording(self, seen: &'r Mutex<HashMap<B256, Vec<u8>>>) -> Self {
        Self {
            seen: Some(seen),
            ..self
        }
    }
}

impl NodeSource<'_> {
    /// The node with `hash`, or `None` if this source lacks it.
    pub fn node(&self, hash: B256) -> Result<Option<Vec<u8>>, tandem_storage::Error> {
        let node = match self.pending.and_then(|p| p.get(&hash)) {
            Some(node) => Some(node.clone()),
            None => match self.base {
                Some(reader) => reader.trie_node(hash)?,
                None => None,
            },
        };
        if let (Some(seen), Some(node)) = (self.seen, &node) {
            seen.lock().insert(hash, node.clone());
        }
        Ok(node)
    }

    /// The node with `hash`; one this source lacks is an error ([`crate::Error::Witness`]),
    /// never an empty subtree.
    pub fn fetch(&self, hash: B256) -> crate::Result<Vec<u8>> {
        self.node(hash)?
            .ok_or_else(|| crate::Error::Witness(format!("no trie node {hash}")))
    }
}

impl<'r> From<&'r Reader> for NodeSource<'r> {
    fn from(reader: &'r Reader) -> Self {
        Self::store(reader, None)
    }
}

/// What a state update wrote to and removed from the trie.
#[derive(Debug, Default)]
pub struct TrieWrites {
    /// New nodes, once per reference that was added.
    pub inserted: Vec<(B256, Vec<u8>)>,
    /// Nodes that lost a reference.
    pub removed: Vec<B256>,
}

impl<'r> NodeDb<'r> {
    /// Nodes over a database snapshot.
    pub fn new(base: &'r Reader) -> Self {
        Self::over(NodeSource::from(base))
    }

    /// Nodes read from `source`, with what is written kept in memory.
    pub fn over(source: NodeSource<'r>) -> Self {
        Self {
            source,
            ..Self::default()
        }
    }

    /// Nodes held only in memory, such as a witness.
    pub fn in_memory(nodes: impl IntoIterator<Item = (B256, Vec<u8>)>) -> Self {
        Self {
            overlay: RwLock::new(nodes.into_iter().collect()),
            ..Self::default()
        }
    }

    /// Records that a trie root lost its reference (the trie got a new root or was dropped).
    pub(crate) fn release_root(&self, root: B256) {
        if root != alloy_trie::EMPTY_ROOT_HASH {
            self.removed.lock().push(root);
        }
    }

    /// Everything written and removed since this was created.
    pub fn take_writes(&self) -> TrieWrites {
        let overlay = self.overlay.read();
        let inserted = self
            .inserted
            .lock()
            .drain(..)
            .filter_map(|hash| overlay.get(&hash).map(|node| (hash, node.clone())))
            .collect();
        TrieWrites {
            inserted,
            removed: std::mem::take(&mut *self.removed.lock()),
        }
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
        self.source.node(hash)
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> Result<(), Self::Error> {
        if let Ok(hash) = B256::try_from(key) {
            self.overlay.write().insert(hash, value);
            self.inserted.lock().push(hash);
        }
        Ok(())
    }

    fn remove(&self, key: &[u8]) -> Result<(), Self::Error> {
        // Only recorded: the node is deleted, if ever, once no state in the history window uses it.
        if let Ok(hash) = B256::try_from(key) {
            self.removed.lock().push(hash);
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), Self::Error> {
        Ok(())
    }
}
