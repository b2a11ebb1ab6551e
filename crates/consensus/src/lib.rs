//! BFT consensus for tandem's L1: Commonware simplex with marshal, around Ethereum execution blocks.
//!
//! Every Commonware type lives in this crate. A consensus [`Block`] wraps one Ethereum block, and
//! decoding refuses it unless its header commits to its body; the [`Application`] proposes blocks
//! from the mempool on the parent's post-state (committed or not yet final) and verifies others'
//! by re-executing them; the [`Finalizer`] commits finalized blocks in order, idempotently by
//! height, and acknowledges each only once it is durable.
mod application;
mod block;
mod chain;
mod engine;
mod finalizer;
mod keys;
mod node;

pub use application::Application;
pub use block::{Block, ConsensusContext, Digest, InvalidSender, Limits as BlockLimits, Refused};
pub use chain::{
    Chain, Error, MAX_FUTURE_SECONDS, MAX_PAST_SECONDS, OnCommit, OnTip, ProposerFault,
};
pub use engine::{Channels, Config, Running, follow, start};
pub use finalizer::Finalizer;
pub use keys::{KeyError, PeerId, ValidatorKey};
pub use node::{
    FullNodeSpec, Gossip, OnGossip, Runtime, StartError, ValidatorSpec, channel, run, spawn_gossip,
};

/// The certificate scheme validators sign votes with: ed25519, attributable.
pub type Scheme = commonware_consensus::simplex::scheme::ed25519::Scheme;
