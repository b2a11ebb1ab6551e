//! Commits finalized blocks, in order, as marshal delivers them; acknowledges each only after its
//! commit is durable, so marshal redelivers anything a crash interrupted.
use crate::{block::Block, chain::Chain};
use commonware_actor::Feedback;
use commonware_consensus::{Reporter, marshal::Update};
use commonware_utils::Acknowledgement;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct Finalizer {
    chain: Arc<Chain>,
}

impl Finalizer {
    pub fn new(chain: Arc<Chain>) -> Self {
        Self { chain }
    }
}

impl Reporter for Finalizer {
    type Activity = Update<Block>;

    fn report(&mut self, activity: Update<Block>) -> Feedback {
        match activity {
            Update::Tip(_, height, _) => {
                tracing::trace!(target: "consensus::finalizer", height = height.get(), "finalized tip");
                self.chain.report_tip(height.get());
            }
            Update::Block(block, ack) => match self.chain.commit(block.inner()) {
                Ok(()) => ack.acknowledge(),
                // Dropping the acknowledgement stops marshal: a finalized block that cannot be
                // committed must halt the node rather than let it diverge.
                Err(e) => {
                    tracing::error!(target: "consensus::finalizer", error = %e, "cannot commit finalized block")
                }
            },
        }
        Feedback::Ok
    }
}
