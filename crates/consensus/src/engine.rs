//! Wires one validator: marshal (block dissemination, backfill, ordered finalized delivery), the
//! `Deferred` wrapper around the [`Application`], and the simplex engine. Generic over the runtime
//! and the network, so seeded simulations and real authenticated p2p run the same code.
use crate::{Application, Block, Finalizer, Scheme, block::Limits, chain::Chain};
use commonware_broadcast::buffered;
use commonware_consensus::{
    marshal::{
        self,
        core::Actor,
        resolver::p2p as resolver,
        standard::{Deferred, Standard},
    },
    simplex::{self, ForwardPolicy, SkipBudget, SkipPolicy, elector::RoundRobin},
    types::{Epoch, FixedEpocher, ViewDelta},
};
use commonware_cryptography::{
    Digested, Digestible, Sha256, Signer as _,
    certificate::ConstantProvider,
    ed25519::{PrivateKey, PublicKey},
};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_storage::archive::immutable;
use commonware_utils::{NZDuration, NZU16, NZU64, NZUsize, ordered::Set};
use rand_core::CryptoRng;
use std::{sync::Arc, time::Duration};

/// Blocks per epoch: the validator set is fixed, so one epoch spans the whole chain.
const EPOCH_LENGTH: u64 = 1 << 62;

/// Commonware's page cache for a node's journals and archives: this many pages of 16 KiB, allocated
/// (and zeroed) up front. alto's 10,000 pages (160 MiB), once for consensus and once for marshal,
/// held 320 MiB per node whatever the chain's size: an idle `tandem node` at about 460 MB and the
/// four-validator devnet at 1.8 GB. The journals are appended and read back in order (replay at
/// start, the recent tail after), so a few MiB per cache hold what is read again.
const PAGE_CACHE_PAGES: usize = 256;

/// The page cache of one node's journals or archives (see [`PAGE_CACHE_PAGES`]).
fn page_cache() -> CacheRef {
    CacheRef::new(NZU16!(16_384), NZUsize!(PAGE_CACHE_PAGES))
}

/// How one validator runs consensus.
#[derive(Clone, Debug)]
pub struct Config {
    pub signer: PrivateKey,
    pub validators: Set<PublicKey>,
    /// Prefix of this validator's consensus storage partitions.
    pub partition: String,
    pub namespace: Vec<u8>,
    /// The consensus genesis block; every validator must derive the same.
    pub genesis: Block,
    /// How long a leader has to propose before the view times out.
    pub leader_timeout: Duration,
    /// How long a notarized view waits for certification before it times out.
    pub certification_timeout: Duration,
    /// The least time between blocks: a leader waits this long before it builds.
    pub block_time: Duration,
    pub mailbox_size: usize,
}

/// A channel pair: what the engine sends and receives on one p2p channel.
pub struct Channels<S, R> {
    pub votes: (S, R),
    pub certificates: (S, R),
    pub resolver: (S, R),
    pub broadcast: (S, R),
    pub backfill: (S, R),
}

/// Handles of a running validator's tasks.
pub struct Running {
    pub marshal: Handle<()>,
    pub consensus: Handle<()>,
    pub mailbox: marshal::core::Mailbox<Scheme, Standard<Block>>,
}

/// Starts one validator on `context` with the given network channels.
pub async fn start<E, S, R, P, B>(
    context: E,
    config: Config,
    chain: Arc<Chain>,
    peers: P,
    blocker: B,
    channels: Channels<S, R>,
) -> Running
where
    E: Clock + CryptoRng + Spawner + Storage + Metrics,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    P: Provider<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey> + Clone,
{
    let public_key = config.signer.public_key();
    let scheme = Scheme::signer(
        &config.namespace,
        config.validators.clone(),
        config.signer.clone(),
    )
    .expect("the signer is one of the validators");
    let mailbox_size = NZUsize!(config.mailbox_size);
    let page_cache = page_cache();
    let prefix = config.partition.clone();

    let (mailbox, marshal_handle) = start_marshal(
        &context,
        public_key,
        scheme.clone(),
        &config.genesis,
        &prefix,
        mailbox_size,
        chain.clone(),
        peers,
        blocker.clone(),
        channels.broadcast,
        channels.backfill,
    )
    .await;

    let application = Deferred::new(
        context.child("application"),
        Application::new(chain, config.block_time, config.leader_timeout / 2),
        mailbox.clone(),
        FixedEpocher::new(NZU64!(EPOCH_LENGTH)),
    );
    let engine = simplex::Engine::new(
        context.child("simplex"),
        simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker,
            automaton: application.clone(),
            relay: application.clone(),
            reporter: application,
            strategy: Sequential,
            partition: format!("{prefix}-simplex"),
            mailbox_size,
            epoch: Epoch::zero(),
            floor: simplex::Floor::Genesis(config.genesis.digest()),
            replay_buffer: NZUsize!(1024 * 1024),
            write_buffer: NZUsize!(1024 * 1024),
            page_cache,
            leader_timeout: config.leader_timeout,
            certification_timeout: config.certification_timeout,
            timeout_retry: config.certification_timeout * 2,
            view_retention: ViewDelta::new(10),
            skip: SkipPolicy::Enabled {
                timeout: config.certification_timeout * 4,
                budget: SkipBudget::Participants,
            },
            fetch_timeout: NZDuration!(Duration::from_secs(1)),
            fetch_retry_delay: Duration::from_millis(100),
            forward: ForwardPolicy::Disabled,
            track_historical_votes: false,
        },
    );
    let consensus = engine.start(channels.votes, channels.certificates, channels.resolver);
    Running {
        marshal: marshal_handle,
        consensus,
        mailbox,
    }
}

/// Starts marshal for one node: block broadcast and backfill over p2p, the finalized archives, and
/// ordered delivery of finalized blocks to the [`Finalizer`]. Validators and full nodes both run it.
#[allow(clippy::too_many_arguments)]
async fn start_marshal<E, S, R, P, B>(
    context: &E,
    public_key: PublicKey,
    scheme: Scheme,
    genesis: &Block,
    prefix: &str,
    mailbox_size: std::num::NonZeroUsize,
    chain: Arc<Chain>,
    peers: P,
    blocker: B,
    broadcast: (S, R),
    backfill: (S, R),
) -> (marshal::core::Mailbox<Scheme, Standard<Block>>, Handle<()>)
where
    E: Clock + CryptoRng + Spawner + Storage + Metrics,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    P: Provider<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    let page_cache = page_cache();
    // Every block from a peer, or from the archives, is decoded under the chain's limits.
    let limits = Limits::new(&chain.config);
    let resolver = resolver::init(
        context.child("resolver"),
        resolver::Config {
            public_key: public_key.clone(),
            peer_provider: peers.clone(),
            blocker,
            mailbox_size,
            fetch_timeout: NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        backfill,
    );
    let (broadcast_engine, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: public_key.clone(),
            mailbox_size,
            deque_size: 16,
            priority: false,
            codec_config: limits,
            peer_provider: peers,
            strategy: Sequential,
        },
    );
    broadcast_engine.start(broadcast);
    tracing::debug!(target: "consensus::engine", partition = %prefix, "broadcast started");

    use commonware_cryptography::certificate::Verifier as _;
    let finalizations = immutable::Archive::init(
        context.child("finalizations_by_height"),
        archive(
            prefix,
            "finalizations",
            &page_cache,
            Scheme::certificate_codec_config_unbounded(),
        ),
    )
    .await
    .expect("finalizations archive opens");
    let blocks = immutable::Archive::init(
        context.child("finalized_blocks"),
        archive(prefix, "blocks", &page_cache, limits),
    )
    .await
    .expect("finalized blocks archive opens");

    tracing::debug!(target: "consensus::engine", partition = %prefix, "archives open");
    let genesis_digest = genesis.digest();
    let (actor, mailbox, _floor) = Actor::init(
        context.child("marshal"),
        finalizations,
        blocks,
        marshal::Config {
            provider: ConstantProvider::new(scheme.clone()),
            epocher: FixedEpocher::new(NZU64!(EPOCH_LENGTH)),
            start: marshal::Start::Genesis(Digested::precomputed(genesis.clone(), genesis_digest)),
            partition_prefix: prefix.to_string(),
            mailbox_size,
            view_retention: ViewDelta::new(10),
            prunable_items_per_section: NZU64!(1024),
            page_cache: page_cache.clone(),
            replay_buffer: NZUsize!(1024 * 1024),
            key_write_buffer: NZUsize!(1024 * 1024),
            value_write_buffer: NZUsize!(1024 * 1024),
            block_codec_config: limits,
            max_repair: NZUsize!(10),
            max_pending_acks: NZUsize!(1),
            strategy: Sequential,
        },
    )
    .await;
    tracing::debug!(target: "consensus::engine", partition = %prefix, "marshal initialized");
    let marshal_handle = actor.start(Finalizer::new(chain.clone()), buffer, resolver);
    (mailbox, marshal_handle)
}

/// Marshal's archives keep every section they ever wrote open, each with its write buffers. With
/// alto's sizing (a value section per MiB of blocks, 1 MiB buffers, an ordinal section per 1,024
/// blocks) a node's memory grew with the chain: the devnet under a steady load (300 tx/s) passed
/// 2.5 GB in ten minutes. Sections of 256 MiB of blocks (or 16,384 heights) and 64 KiB buffers
/// make that a few MiB a day. (These shape the files: a data directory written before them must
/// start fresh.)
const ARCHIVE_SECTION_BYTES: u64 = 256 * 1024 * 1024;
const ARCHIVE_SECTION_ITEMS: u64 = 16_384;
const ARCHIVE_WRITE_BUFFER: usize = 64 * 1024;

/// Storage of one of marshal's immutable archives.
fn archive<C>(
    prefix: &str,
    name: &str,
    page_cache: &CacheRef,
    codec_config: C,
) -> immutable::Config<C> {
    immutable::Config {
        metadata_partition: format!("{prefix}-{name}-metadata"),
        freezer_table_partition: format!("{prefix}-{name}-freezer-table"),
        freezer_table_initial_size: 64,
        freezer_table_resize_frequency: 10,
        freezer_table_resize_chunk_size: 10,
        freezer_key_partition: format!("{prefix}-{name}-freezer-key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: format!("{prefix}-{name}-freezer-value"),
        freezer_value_target_size: ARCHIVE_SECTION_BYTES,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-{name}-ordinal"),
        items_per_section: NZU64!(ARCHIVE_SECTION_ITEMS),
        codec_config,
        replay_buffer: NZUsize!(1024 * 1024),
        freezer_key_write_buffer: NZUsize!(ARCHIVE_WRITE_BUFFER),
        freezer_value_write_buffer: NZUsize!(ARCHIVE_WRITE_BUFFER),
        ordinal_write_buffer: NZUsize!(ARCHIVE_WRITE_BUFFER),
    }
}

/// Starts a full node: no votes, just marshal, fed with the finalization certificates validators
/// broadcast. Each certificate is verified against the validator set before marshal sees it; marshal
/// then fetches the finalized blocks (and any it missed) from peers and delivers them in order.
#[allow(clippy::too_many_arguments)]
pub async fn follow<E, S, R, P, B>(
    context: E,
    identity: PublicKey,
    validators: Set<PublicKey>,
    namespace: &[u8],
    genesis: Block,
    partition: String,
    chain: Arc<Chain>,
    peers: P,
    blocker: B,
    certificates: (S, R),
    tips: R,
    broadcast: (S, R),
    backfill: (S, R),
) -> Handle<()>
where
    E: Clock + CryptoRng + Spawner + Storage + Metrics,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    P: Provider<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    use commonware_codec::Decode as _;
    use commonware_consensus::{
        Reporter as _,
        simplex::types::{Activity, Certificate, Finalization},
    };
    use commonware_cryptography::certificate::Verifier as _;
    let scheme = Scheme::verifier(namespace, validators);
    let (mut mailbox, handle) = start_marshal(
        &context,
        identity,
        scheme.clone(),
        &genesis,
        &partition,
        NZUsize!(1024),
        chain,
        peers,
        blocker,
        broadcast,
        backfill,
    )
    .await;
    // Tips: each validator's latest finalization, announced periodically, so an idle network
    // still tells a new full node how far to sync.
    let (mut tip_mailbox, tip_scheme, mut tips) = (mailbox.clone(), scheme.clone(), tips);
    context.child("tips").spawn(move |mut context| async move {
        let codec = tip_scheme.certificate_codec_config();
        while let Ok((peer, message)) = tips.recv().await {
            match Finalization::<Scheme, crate::Digest>::decode_cfg(message, &codec) {
                Ok(finalization) if finalization.verify(&mut context, &tip_scheme, &Sequential) => {
                    tip_mailbox.report(Activity::Finalization(finalization));
                }
                _ => tracing::debug!(target: "consensus::follower", %peer, "invalid finalization tip"),
            }
        }
    });
    let (_sender, mut receiver) = certificates;
    context.child("certificates").spawn(move |mut context| async move {
        let codec = scheme.certificate_codec_config();
        while let Ok((peer, message)) = receiver.recv().await {
            let Ok(certificate) = Certificate::<Scheme, crate::Digest>::decode_cfg(message, &codec) else {
                tracing::debug!(target: "consensus::follower", %peer, "undecodable certificate");
                continue;
            };
            if let Certificate::Finalization(finalization) = certificate {
                if finalization.verify(&mut context, &scheme, &Sequential) {
                    mailbox.report(Activity::Finalization(finalization));
                } else {
                    tracing::warn!(target: "consensus::follower", %peer, "invalid finalization certificate");
                }
            }
        }
    });
    handle
}
