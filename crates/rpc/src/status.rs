//! What the node knows of its network beyond its own storage: how many peers it is connected to,
//! and how far the chain has finalized. `net_peerCount`, `eth_syncing` and `/metrics` read it;
//! consensus updates it. A node without p2p (`tandem dev`, the L2) leaves it empty, so it
//! honestly reports no peers and is never behind.
use parking_lot::Mutex;
use std::sync::Arc;

/// Counts the p2p peers the node is connected to right now.
pub type PeerCount = Arc<dyn Fn() -> usize + Send + Sync>;

/// A node at most this many blocks behind the newest finalized block it knows of is at the tip,
/// not syncing: a validator hears of each finalization a moment before it has executed that
/// block, and marshal hands blocks over one at a time.
pub const AT_TIP_BLOCKS: u64 = 2;

/// The node's view of the network.
#[derive(Default)]
pub struct NetworkStatus {
    peers: Option<PeerCount>,
    sync: Mutex<SyncState>,
}

#[derive(Debug, Default)]
struct SyncState {
    /// The newest finalized height heard of from consensus.
    highest: Option<u64>,
    /// The executed height when the node fell behind, while it is behind.
    starting: Option<u64>,
}

impl std::fmt::Debug for NetworkStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkStatus")
            .field("peers", &self.peer_count())
            .field("sync", &*self.sync.lock())
            .finish()
    }
}

/// geth's `eth_syncing` answer when the node is behind (quantities in hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncProgress {
    /// The executed height when this sync began.
    #[serde(with = "alloy_serde::quantity")]
    pub starting_block: u64,
    /// The executed height now.
    #[serde(with = "alloy_serde::quantity")]
    pub current_block: u64,
    /// The newest finalized height the node knows of.
    #[serde(with = "alloy_serde::quantity")]
    pub highest_block: u64,
}

/// `eth_syncing`: `false` at the tip, the progress otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syncing(pub Option<SyncProgress>);

impl serde::Serialize for Syncing {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            None => s.serialize_bool(false),
            Some(progress) => progress.serialize(s),
        }
    }
}

impl NetworkStatus {
    /// A node on a p2p network, whose peers `peers` counts.
    pub fn new(peers: PeerCount) -> Self {
        Self {
            peers: Some(peers),
            sync: Mutex::default(),
        }
    }

    /// Connected p2p peers; 0 without a network.
    pub fn peer_count(&self) -> usize {
        self.peers.as_ref().map_or(0, |count| count())
    }

    /// Records that consensus finalized `height`, while the node has executed up to `executed`.
    pub fn observe_finalized(&self, height: u64, executed: u64) {
        let mut sync = self.sync.lock();
        let highest = sync.highest.map_or(height, |h| h.max(height));
        sync.highest = Some(highest);
        if highest > executed.saturating_add(AT_TIP_BLOCKS) {
            sync.starting.get_or_insert(executed);
        } else {
            sync.starting = None;
        }
    }

    /// The newest finalized height heard of from consensus, if any.
    pub fn highest_finalized(&self) -> Option<u64> {
        self.sync.lock().highest
    }

    /// Whether a node that has executed up to `executed` is behind, and by how much.
    pub fn syncing(&self, executed: u64) -> Syncing {
        let mut sync = self.sync.lock();
        let Some(highest) = sync.highest else {
            return Syncing(None);
        };
        if highest <= executed.saturating_add(AT_TIP_BLOCKS) {
            sync.starting = None;
            return Syncing(None);
        }
        let starting = *sync.starting.get_or_insert(executed);
        Syncing(Some(SyncProgress {
            starting_block: starting.min(executed),
            current_block: executed,
            highest_block: highest,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_without_network_has_no_peers_and_is_never_behind() {
        let status = NetworkStatus::default();
        assert_eq!(status.peer_count(), 0);
        assert_eq!(status.syncing(0), Syncing(None));
        assert_eq!(serde_json::to_value(status.syncing(7)).unwrap(), false);
    }

    #[test]
    fn peer_count_asks_the_source_each_time() {
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(2));
        let source = count.clone();
        let status = NetworkStatus::new(Arc::new(move || {
            source.load(std::sync::atomic::Ordering::Relaxed)
        }));
        assert_eq!(status.peer_count(), 2);
        count.store(5, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(status.peer_count(), 5);
    }

    #[test]
    fn a_node_behind_reports_where_its_sync_started_until_it_catches_up() {
        let status = NetworkStatus::default();
        status.observe_finalized(100, 10);
        let progress = SyncProgress {
            starting_block: 10,
            current_block: 10,
            highest_block: 100,
        };
        assert_eq!(status.syncing(10), Syncing(Some(progress)));
        // Progress keeps the start; a newer finalization raises the target.
        status.observe_finalized(120, 60);
        assert_eq!(
            status.syncing(60),
            Syncing(Some(SyncProgress {
                starting_block: 10,
                current_block: 60,
                highest_block: 120,
            }))
        );
        assert_eq!(
            serde_json::to_value(status.syncing(60)).unwrap(),
            serde_json::json!({"startingBlock": "0xa", "currentBlock": "0x3c", "highestBlock": "0x78"})
        );
        // Caught up: not syncing, and the next sync starts afresh.
        assert_eq!(status.syncing(120), Syncing(None));
        status.observe_finalized(200, 120);
        assert_eq!(status.syncing(120).0.unwrap().starting_block, 120);
    }

    #[test]
    fn a_validator_a_block_or_two_behind_is_at_the_tip() {
        let status = NetworkStatus::default();
        status.observe_finalized(41, 40);
        assert_eq!(status.syncing(40), Syncing(None));
        status.observe_finalized(42, 40);
        assert_eq!(status.syncing(40), Syncing(None));
        status.observe_finalized(43, 40);
        assert_eq!(status.syncing(40).0.unwrap().highest_block, 43);
    }

    #[test]
    fn an_older_finalization_never_lowers_the_highest() {
        let status = NetworkStatus::default();
        status.observe_finalized(50, 0);
        status.observe_finalized(20, 0);
        assert_eq!(status.highest_finalized(), Some(50));
    }
}
