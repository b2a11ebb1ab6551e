//! Running validators for real: Commonware's tokio runtime, authenticated p2p over TCP
//! (`lookup`: a fixed validator set with known addresses), consensus, and transaction gossip.
use crate::{Block, Channels, Config, PeerId, ValidatorKey, chain::Chain, start};
use commonware_cryptography::{ChaCha20Poly1305, Signer as _, ed25519::PublicKey};
use commonware_p2p::{
    Address, AddressableManager as _, AddressableTrackedPeers, Receiver as _, Recipients,
    authenticated::lookup,
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
/// The p2p channels every node registers, by number.
pub mod channel {
    pub const VOTES: u64 = 0;
    pub const CERTIFICATES: u64 = 1;
    pub const RESOLVER: u64 = 2;
    pub const BROADCAST: u64 = 3;
    pub const BACKFILL: u64 = 4;
    pub const TRANSACTIONS: u64 = 5;
    pub const TIPS: u64 = 6;
    /// All of them.
    pub const ALL: [u64; 7] = [
        VOTES,
        CERTIFICATES,
        RESOLVER,
        BROADCAST,
        BACKFILL,
        TRANSACTIONS,
        TIPS,
    ];
}
use channel::*;
/// How often a validator announces its latest finalization to followers.
const TIP_INTERVAL: Duration = Duration::from_secs(2);

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
    /// Full nodes allowed to connect (they follow the chain but do not vote).
    pub observers: Vec<(PeerId, SocketAddr)>,
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

/// The validators' keys as the ordered set consensus signs and verifies with.
fn validator_set(validators: &[(PeerId, SocketAddr)]) -> Result<Set<PublicKey>, StartError> {
    validators
        .iter()
        .map(|(id, _)| id.0.clone())
        .try_collect()
        .map_err(|_| StartError::Validators("duplicate validator key".into()))
}

/// The peer set a node tracks: validators (dialed, voting) and observers (accepted, following).
/// Messages per second per peer on a channel that carries a few messages a view (votes,
/// certificates, the resolver, block broadcast, tips), with room for a burst of 256 at once. The
/// p2p layer preallocates each channel's mailbox as peers x burst slots, and the router's as the
/// sum over channels, so the burst, not the rate, is what a node holds in memory (a burst of 2,048
/// on every channel was about 130 MB per validator of four).
fn consensus_quota() -> Quota {
    Quota::per_second(NZU32!(2_048)).allow_burst(NZU32!(256))
}

/// Messages per second per peer, all of them at once if they come so, on the channels that move
/// many (backfill while catching up, transactions).
fn bulk_quota() -> Quota {
    Quota::per_second(NZU32!(2_048))
}

fn tracked(
    validators: &[(PeerId, SocketAddr)],
    observers: &[(PeerId, SocketAddr)],
) -> Result<AddressableTrackedPeers<PublicKey>, StartError> {
    let map = |peers: &[(PeerId, SocketAddr)]| -> Result<Map<PublicKey, Address>, StartError> {
        peers
            .iter()
            .map(|(id, addr)| (id.0.clone(), Address::from(*addr)))
            .try_collect()
            .map_err(|_| StartError::Validators("duplicate peer key".into()))
    };
    Ok(AddressableTrackedPeers::new(
        map(validators)?,
        map(observers)?,
    ))
}

/// A full node: follows a network it does not vote in.
#[derive(Debug, Clone)]
pub struct FullNodeSpec {
    /// The node's p2p identity; the validators list it among their observers.
    pub key: ValidatorKey,
    pub validators: Vec<(PeerId, SocketAddr)>,
    pub listen: SocketAddr,
    pub partition: String,
    pub namespace: Vec<u8>,
    pub genesis: SealedBlock,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("validator set: {0}")]
    Validators(String),
}

/// The authenticated, encrypted p2p network of one node.
type LookupNetwork = lookup::Network<
    cw_tokio::Context,
    Cups<Sake<commonware_cryptography::ed25519::PrivateKey>, ChaCha20Poly1305>,
>;

impl Runtime {
    /// Opens a node's p2p network: authenticated with its key, encrypted, listening on `listen`,
    /// for a peer set of `size`. Returns the node's runtime context with it.
    fn network(
        &self,
        role: &'static str,
        key: &ValidatorKey,
        listen: SocketAddr,
        namespace: &[u8],
        size: usize,
        partition: &str,
    ) -> (cw_tokio::Context, LookupNetwork, lookup::Oracle<PublicKey>) {
        let mut p2p_namespace = namespace.to_vec();
        p2p_namespace.extend_from_slice(b"_P2P");
        let handshake = Cups::<_, ChaCha20Poly1305>::new(
            Sake {
                signer: key.0.clone(),
                synchrony_bound: Duration::from_secs(5),
                max_handshake_age: Duration::from_secs(10),
                version: sake::Version::V1,
            },
            cups::Version::V1,
        );
        let config = lookup::Config::local(
            handshake,
            &p2p_namespace,
            listen,
            NZUsize!(size.max(1)),
            MAX_MESSAGE_BYTES,
            NZUsize!(1024),
        );
        let context = self.0.child(role).with_attribute("partition", partition);
        let (network, oracle) = lookup::Network::new(context.child("network"), config);
        (context, network, oracle)
    }

    /// The runtime's own metrics (consensus views, p2p peers and traffic, storage), in Prometheus text.
    pub fn metrics(&self) -> Arc<dyn Fn() -> String + Send + Sync> {
        let context = self.0.child("metrics");
        Arc::new(move || commonware_runtime::Metrics::encode(&context))
    }

    /// Counts the p2p peers the node started with `partition` is connected to right now. The count
    /// is the p2p tracker's own record: commonware-p2p keeps one series of its `connected` gauge
    /// per connected peer (added on connect, removed when the connection ends) and exposes no
    /// other count, so this reads that gauge from the runtime's metrics.
    pub fn peer_count(&self, partition: &str) -> Arc<dyn Fn() -> usize + Send + Sync> {
        let context = self.0.child("peers");
        let partition = format!("partition=\"{partition}\"");
        Arc::new(move || {
            connected_peers(&commonware_runtime::Metrics::encode(&context), &partition)
        })
    }

    /// Starts a validator: p2p, consensus and gossip. Returns once everything is running.
    pub async fn start_validator(
        &self,
        spec: ValidatorSpec,
        chain: Arc<Chain>,
        gossip: Gossip,
    ) -> Result<(), StartError> {
        let signer = spec.key.0.clone();
        let validators = validator_set(&spec.validators)?;
        if !spec
            .validators
            .iter()
            .any(|(id, _)| id.0 == signer.public_key())
        {
            return Err(StartError::Validators(
                "this node's key is not in the validator set".into(),
            ));
        }
        let peers = tracked(&spec.validators, &spec.observers)?;
        let size = spec.validators.len() + spec.observers.len();
        let (context, mut network, mut oracle) = self.network(
            "validator",
            &spec.key,
            spec.listen,
            &spec.namespace,
            size,
            &spec.partition,
        );
        oracle.track(0, peers);
        let (quota, bulk) = (consensus_quota(), bulk_quota());
        let channels = Channels {
            votes: network.register(VOTES, quota),
            certificates: network.register(CERTIFICATES, quota),
            resolver: network.register(RESOLVER, quota),
            broadcast: network.register(BROADCAST, quota),
            backfill: network.register(BACKFILL, bulk),
        };
        let (tx_sender, tx_receiver) = network.register(TRANSACTIONS, bulk);
        let (tips_sender, _tips_in) = network.register(TIPS, quota);
        network.start();

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
        let running = start(
            context.child("consensus"),
            config,
            chain.clone(),
            oracle.clone(),
            oracle,
            channels,
        )
        .await;
        spawn_tips(&context, chain, running.mailbox, tips_sender);

        spawn_gossip(&context, gossip, tx_sender, tx_receiver);
        Ok(())
    }
}

/// Sends the node's accepted transactions to every peer and pools what peers send. Generic over
/// the runtime, so the seeded simulations run the same loop.
pub fn spawn_gossip(
    context: &impl commonware_runtime::Spawner,
    gossip: Gossip,
    mut tx_sender: impl commonware_p2p::Sender<PublicKey = PublicKey>,
    mut tx_receiver: impl commonware_p2p::Receiver<PublicKey = PublicKey>,
) {
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
}

impl Runtime {
    /// Starts a full node: p2p as an observer of the validators, marshal following their
    /// finalization certificates, and gossip. Returns once everything is running.
    pub async fn start_full_node(
        &self,
        spec: FullNodeSpec,
        chain: Arc<Chain>,
        gossip: Gossip,
    ) -> Result<(), StartError> {
        let signer = spec.key.0.clone();
        let validators = validator_set(&spec.validators)?;
        let size = spec.validators.len() + 1;
        let (context, mut network, mut oracle) = self.network(
            "full_node",
            &spec.key,
            spec.listen,
            &spec.namespace,
            size,
            &spec.partition,
        );
        oracle.track(0, tracked(&spec.validators, &[])?);
        let (quota, bulk) = (consensus_quota(), bulk_quota());
        let (_votes_out, votes) = network.register(VOTES, quota);
        let certificates = network.register(CERTIFICATES, quota);
        let (_resolver_out, resolver) = network.register(RESOLVER, quota);
        let broadcast = network.register(BROADCAST, quota);
        let backfill = network.register(BACKFILL, bulk);
        let (tx_sender, tx_receiver) = network.register(TRANSACTIONS, bulk);
        let (_tips_out, tips) = network.register(TIPS, quota);
        network.start();
        // A full node takes no part in voting: drain what arrives on those channels.
        for (name, mut receiver) in [("drain_votes", votes), ("drain_resolver", resolver)] {
            context
                .child(name)
                .spawn(move |_| async move { while receiver.recv().await.is_ok() {} });
        }
        let first = validators
            .iter()
            .next()
            .expect("at least one validator")
            .clone();
        let mut consensus_namespace = spec.namespace.clone();
        consensus_namespace.extend_from_slice(b"_CONSENSUS");
        crate::follow(
            context.child("consensus"),
            signer.public_key(),
            validators,
            &consensus_namespace,
            Block::genesis(spec.genesis.clone(), first),
            spec.partition.clone(),
            chain,
            oracle.clone(),
            oracle,
            certificates,
            tips,
            broadcast,
            backfill,
        )
        .await;
        spawn_gossip(&context, gossip, tx_sender, tx_receiver);
        Ok(())
    }
}

/// The name of the p2p tracker's gauge of connected peers, after the node's role prefix.
const CONNECTED_PEERS: &str = "_network_tracker_directory_connected";

/// The series of [`CONNECTED_PEERS`] carrying `partition_label` in Prometheus text: one per peer.
fn connected_peers(metrics: &str, partition_label: &str) -> usize {
    metrics
        .lines()
        .filter_map(|line| line.split_once('{'))
        .filter(|(name, labels)| {
            name.ends_with(CONNECTED_PEERS) && labels.contains(partition_label)
        })
        .count()
}

/// Announces the validator's latest finalization certificate every [`TIP_INTERVAL`], so full nodes
/// joining an idle network learn how far to sync.
fn spawn_tips(
    context: &cw_tokio::Context,
    chain: Arc<Chain>,
    mailbox: commonware_consensus::marshal::core::Mailbox<
        crate::Scheme,
        commonware_consensus::marshal::standard::Standard<Block>,
    >,
    mut sender: impl commonware_p2p::Sender<PublicKey = PublicKey>,
) {
    use commonware_codec::Encode as _;
    use commonware_runtime::Clock as _;
    context.child("tips").spawn(move |context| async move {
        loop {
            context.sleep(TIP_INTERVAL).await;
            let Ok(height) = chain.committed_height() else {
                continue;
            };
            if height == 0 {
                continue;
            }
            if let Some(finalization) = mailbox
                .get_finalization(commonware_consensus::types::Height::new(height))
                .await
            {
                let _ = sender.send(Recipients::All, finalization.encode(), false);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connected_peers_counts_the_trackers_series_of_one_node() {
        let metrics = "\
# HELP validator_network_tracker_directory_connected Unix timestamp in milliseconds when each connected peer became active
# TYPE validator_network_tracker_directory_connected gauge
validator_network_tracker_directory_connected{partition=\"node-aa\",peer=\"01\"} 1700000000000
validator_network_tracker_directory_connected{partition=\"node-aa\",peer=\"02\"} 1700000000001
validator_network_tracker_directory_connected{partition=\"node-aab\",peer=\"01\"} 1700000000002
full_node_network_tracker_directory_connected{partition=\"node-bb\",peer=\"01\"} 1700000000003
validator_network_tracker_tracked{partition=\"node-aa\"} 3
";
        assert_eq!(connected_peers(metrics, "partition=\"node-aa\""), 2);
        assert_eq!(connected_peers(metrics, "partition=\"node-bb\""), 1);
        assert_eq!(connected_peers(metrics, "partition=\"node-cc\""), 0);
    }
}
