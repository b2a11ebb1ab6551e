//! Block-building order beyond tips: a challenge is never outbid.
use crate::BestTransactions;
use alloy_consensus::Transaction;
use tandem_primitives::Layer;

/// `best` with every sender whose transactions settle a dispute
/// ([`tandem_execution::settles_dispute`]) moved to the front, with its other transactions so
/// their nonces stay in order; both parts keep the pool's order. Block builders take this, and a
/// challenge may use the room above the soft gas limit that ordinary transactions never reach,
/// so a challenge sent under any load lands in the next block unless other challenges fill it.
/// Spamming DisputeGame calls to delay one costs the whole block's gas at a base fee that rises
/// every full block.
pub fn disputes_first(best: BestTransactions, layer: Layer) -> BestTransactions {
    best.prioritize(|tx| tandem_execution::settles_dispute(layer, tx.tx.kind()))
}
