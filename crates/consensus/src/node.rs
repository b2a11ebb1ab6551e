//! Running validators for real: Commonware's tokio runtime, authenticated p2p over TCP
//! (`lookup`: a fixed validator set with known addresses), consensus, and transaction gossip.
use crate::{Block, Channels, Config, PeerId, ValidatorKey, chain::Chain, start};
use commonware_cryptography::{ChaCha20Poly1305, Signer as _, ed25519::PublicKey};
use commonware_p2p::{
    Address, AddressableManager as _, Receiver as _, Recipients, Sender as _, authenticated::lookup,
};
use commonware_runtime::{
    IoBuf, Quota, Runner as _, Spawner as _, Supervisor as _, tokio as cw_tokio,
};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{
    NZU32, NZUsize, TryCollect,
    ordered::{Map, Set},
};
use futures::{StreamExt, channel::mpsc};
use std::{future::Future, net::SocketAddr, path::Path, sync::Arc, time::Duration};
use tandem_primitives::SealedBlock;

/// Largest p2p message: a full block with room to spare.
const MAX_MESSAGE_BYTES: u32 = 20 * 1024 * 1024;
/// p2p channels.
const VOTES: u64 = 0;
const CERTIFICATES: u64 = 1;
const RESOLVER: u64 = 2;
const BROADCAST: u64 = 3;
const BACKFILL: u64 = 4;
const TRANSACTIONS: u64 = 5;

/// Commonware's tokio runtime. It is a multi-threaded tokio runtime, so tokio-based services
/// (JSON-RPC, signals) run inside it too.
pub struct Runtime(cw_tokio::Context);

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

/// Runs `f` on a fresh runtime that keeps consensus state (votes, finalized blocks) under `dir`.
pub fn run<F, Fut>(dir: &Path, f: F) -> Fut::Output
where
    F: FnOnce(Runtime) -> Fut,
    Fut: Future,
{
    let config = cw_tokio::Config::new().with_storage_directory(dir);
    cw_tokio::Runner::new(config).start(|context| f(Runtime(context)))
}

/// One validator of a network whose members and addresses are fixed at genesis.
#[derive(Debug, Clone)]
pub struct ValidatorSpec {
    pub key: ValidatorKey,
    /// Every validator, this one included, with the address it listens on.
    pub validators: Vec<(PeerId, SocketAddr)>,
    pub listen: SocketAddr,
    /// Prefix of this validator's consensus partitions (unique per validator in one process).
    pub partition: String,
    /// Chain-wide namespace: keeps signatures of one network from counting on another.
    pub namespace: Vec<u8>,
    pub genesis: SealedBlock,
    pub leader_timeout: Duration,
    pub certification_timeout: Duration,
    pub block_time: Duration,
}

/// Called with each raw transaction a peer gossips.
pub type OnGossip = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// Transaction gossip: what the node pools from peers, and what it sends them.
pub struct Gossip {
    /// Raw transactions this node accepted (from its RPC) to send to every peer.
    pub outbound: mpsc::Receiver<Vec<u8>>,
    /// Called with each raw transaction a peer sends.
    pub inbound: OnGossip,
}

impl std::fmt::Debug for Gossip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gossip").finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("validator set: {0}")]
    Validators(String),
}

impl Runtime {
    /// The runtime's own metrics (consensus views, p2p peers and traffic, storage), in Prometheus text.
    pub fn metrics(&self) -> Arc<dyn Fn() -> String + Send + Sync> {
        let context = self.0.child("metrics");
        Arc::new(move || commonware_runtime::Metrics::encode(&context))
    }

    /// Starts a validator: p2p, consensus and gossip. Returns once everything is running.
    pub async fn start_validator(
        &self,
        spec: ValidatorSpec,
        chain: Arc<Chain>,
        gossip: Gossip,
    ) -> Result<(), StartError> {
        let signer = spec.key.0.clone();
        let validators: Set<PublicKey> = spec
            .validators
            .iter()
            .map(|(id, _)| id.0.clone())
            .try_collect()
            .map_err(|_| StartError::Validators("duplicate validator key".into()))?;
        if !spec
            .validators
            .iter()
            .any(|(id, _)| id.0 == signer.public_key())
        {
            return Err(StartError::Validators(
                "this node's key is not in the validator set".into(),
            ));
        }
        let peers: Map<PublicKey, Address> = spec
            .validators
            .iter()
            .map(|(id, addr)| (id.0.clone(), Address::from(*addr)))
            .try_collect()
            .map_err(|_| StartError::Validators("duplicate validator key".into()))?;
        let mut p2p_namespace = spec.namespace.clone();
        p2p_namespace.extend_from_slice(b"_P2P");
        let handshake = Cups::<_, ChaCha20Poly1305>::new(
            Sake {
                signer: signer.clone(),
                synchrony_bound: Duration::from_secs(5),
                max_handshake_age: Duration::from_secs(10),
                version: sake::Version::V1,
            },
            cups::Version::V1,
        );
        let p2p = lookup::Config::local(
            handshake,
            &p2p_namespace,
            spec.listen,
            NZUsize!(spec.validators.len()),
            MAX_MESSAGE_BYTES,
            NZUsize!(1024),
        );
        let context = self
            .0
            .child("validator")
            .with_attribute("partition", &spec.partition);
        tracing::debug!(target: "consensus::node", "p2p config ready");
        let (mut network, mut oracle) = lookup::Network::new(context.child("network"), p2p);
        tracing::debug!(target: "consensus::node", "p2p network created");
        oracle.track(0, peers);
        // Per peer and channel. Mailboxes are sized from it, so keep it modest.
        let quota = Quota::per_second(NZU32!(2_048));
        let channels = Channels {
            votes: network.register(VOTES, quota),
            certificates: network.register(CERTIFICATES, quota),
            resolver: network.register(RESOLVER, quota),
            broadcast: network.register(BROADCAST, quota),
            backfill: network.register(BACKFILL, quota),
        };
        let (mut tx_sender, mut tx_receiver) = network.register(TRANSACTIONS, quota);
        network.start();
        tracing::debug!(target: "consensus::node", "p2p network started");

        let first = validators
            .iter()
            .next()
            .expect("at least one validator")
            .clone();
        let mut consensus_namespace = spec.namespace.clone();
        consensus_namespace.extend_from_slice(b"_CONSENSUS");
        let config = Config {
            signer,
            validators,
            partition: spec.partition.clone(),
            namespace: consensus_namespace,
            genesis: Block::genesis(spec.genesis.clone(), first),
            leader_timeout: spec.leader_timeout,
            certification_timeout: spec.certification_timeout,
            block_time: spec.block_time,
            mailbox_size: 1024,
        };
        start(
            context.child("consensus"),
            config,
            chain,
            oracle.clone(),
            oracle,
            channels,
        )
        .await;

        let Gossip {
            mut outbound,
            inbound,
        } = gossip;
        context.child("gossip_out").spawn(move |_| async move {
            while let Some(raw) = outbound.next().await {
                let _ = tx_sender.send(Recipients::All, IoBuf::from(raw), false);
            }
        });
        context.child("gossip_in").spawn(move |_| async move {
            while let Ok((_peer, message)) = tx_receiver.recv().await {
                inbound(message.as_ref());
            }
        });
        Ok(())
    }
}
