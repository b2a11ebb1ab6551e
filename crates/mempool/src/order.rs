//! Block-building order beyond tips: a challenge is never outbid.
use crate::PoolTx;
use alloy_consensus::Transaction;
use std::collections::HashSet;
use tandem_primitives::Layer;

/// `best` (the pool's best-first order) with every transaction that settles a dispute
/// ([`tandem_execution::settles_dispute`]) moved to the front, together with its sender's other
/// transactions so their nonces stay in order; both parts keep the pool's order. Block builders
/// take this, and a challenge may use the room above the soft gas limit that ordinary
/// transactions never reach, so a challenge sent under any load lands in the next block unless
/// other challenges fill it. Spamming DisputeGame calls to delay one costs the whole block's gas
/// at a base fee that rises every full block.
pub fn disputes_first(best: Vec<PoolTx>, layer: Layer) -> Vec<PoolTx> {
    let settling: HashSet<_> = best
        .iter()
        .filter(|tx| tandem_execution::settles_dispute(layer, tx.tx.kind()))
        .map(|tx| tx.sender)
        .collect();
    if settling.is_empty() {
        return best;
    }
    let (mut first, rest): (Vec<_>, Vec<_>) = best
        .into_iter()
        .partition(|tx| settling.contains(&tx.sender));
    first.extend(rest);
    first
}
