//! Validators on Commonware's deterministic runtime and simulated network, with real redb storage
//! and real EVM execution. The same seed must give the same chain.
use crate::adversary::{Alter, Altering, Echo, Tamper, spawn_junk};
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, TxKind, U256};
use commonware_cryptography::{
    Signer as _,
    ed25519::{PrivateKey, PublicKey},
};
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{Clock, Quota, Runner, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize, TryCollect, ordered::Set, probability};
use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, UNIX_EPOCH},
};
use tandem_consensus::{Block, Chain, Channels, Config, Gossip, OnGossip, ProposerFault};
use tandem_execution::{genesis_block, recover_sender};
use tandem_mempool::{AccountState, Mempool, Pool};
use tandem_primitives::{Layer, dev, genesis};
use tandem_storage::Storage;

const VALIDATORS: usize = 4;
const QUOTA: Quota = Quota::per_second(NZU32!(10_000));
const LINK: Link = Link {
    latency: Duration::from_millis(20),
    jitter: Duration::from_millis(5),
    success_rate: probability!(1.0),
};

/// What one validator ended with: (number, block hash, state root, beneficiary, transactions) per block.
type ChainView = Vec<(u64, B256, B256, Address, usize)>;

fn fee_recipient(i: usize) -> Address {
    Address::with_last_byte(0xf0 + i as u8)
}

fn transfers(count: u64) -> Vec<tandem_primitives::TxEnvelope> {
    (0..count)
        .map(|i| {
            let tx = TxEip1559 {
                chain_id: 900,
                nonce: i / 5,
                gas_limit: 21_000,
                max_fee_per_gas: 100_000_000_000,
                max_priority_fee_per_gas: 1_000_000_000,
                to: TxKind::Call(Address::with_last_byte(0x10 + (i % 7) as u8)),
                value: U256::from(1_000 + i),
                ..Default::default()
            };
            dev::accounts()[(i % 5) as usize].sign(tx)
        })
        .collect()
}

/// A validator replaced by one of Commonware's Byzantine mocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Byzantine {
    /// Votes for its own random payloads and for every honest proposal alike.
    Conflicter,
    /// Votes to nullify every view.
    Nuller,
    /// As leader, proposes two different payloads to different halves of the validators.
    Equivocator,
}

/// What one of the validators runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Honest,
    /// An honest node but for the blocks it proposes.
    Faulty(ProposerFault),
    Mock(Byzantine),
    /// A real validator, voting honestly, whose every block sent or served has an altered body
    /// (see [`Tamper`]), and which sends an altered copy of every block it receives.
    Altering,
    /// No consensus at all: junk and mangled copies of what it hears, on every channel.
    Junk,
}

/// A peer that is not a validator but that validators and full nodes talk to (resolvers ask it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Observer {
    /// A full node following the chain, whose every block sent or served has an altered body.
    Altering,
    /// Junk and mangled copies of what it hears, on every channel.
    Junk,
}

impl Observer {
    fn key(self) -> PrivateKey {
        match self {
            Self::Altering => PrivateKey::from_seed(97),
            Self::Junk => PrivateKey::from_seed(98),
        }
    }
}

/// The identity of the simulation's honest full node (not a validator).
fn full_node_key() -> PrivateKey {
    PrivateKey::from_seed(99)
}

use tandem_consensus::channel::{
    ALL as CHANNELS, BACKFILL, BROADCAST, CERTIFICATES, RESOLVER, TIPS, TRANSACTIONS, VOTES,
};

/// Adversaries' links are faster than honest ones, so their copies win the races.
const FAST_LINK: Link = Link {
    latency: Duration::from_millis(2),
    jitter: Duration::from_millis(1),
    success_rate: probability!(1.0),
};

/// How a simulation is set up.
#[derive(Debug, Clone, Copy)]
struct Options {
    roles: [Role; VALIDATORS],
    observers: &'static [Observer],
    /// Transfers in every validator's pool at the start.
    txs: u64,
    /// Whether a blocked peer is cut off. Adversarial runs keep it connected, so it keeps
    /// attacking (a production network would disconnect it).
    disconnect_on_block: bool,
}

impl Options {
    fn honest(txs: u64) -> Self {
        Self {
            roles: [Role::Honest; VALIDATORS],
            observers: &[],
            txs,
            disconnect_on_block: true,
        }
    }

    fn with(mut self, validator: usize, role: Role) -> Self {
        self.roles[validator] = role;
        self
    }
}

/// What the adversaries did, to check that they did attack (and did the same on a replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Attacks {
    /// Blocks with altered bodies sent on broadcast.
    sent: u64,
    /// Blocks with altered bodies served in answer to backfill requests.
    served: u64,
    /// Junk messages.
    junk: u64,
}

struct Sim {
    context: deterministic::Context,
    oracle: Oracle<PublicKey, deterministic::Context>,
    keys: Vec<PublicKey>,
    chains: Vec<Arc<Chain>>,
    options: Options,
    tamper: Arc<Tamper>,
    junk: Arc<AtomicU64>,
    dir: PathBuf,
}

/// A fresh store with the dev genesis committed, and a chain over it.
fn open_chain(dir: &Path, name: &str, fee_recipient: Address, allow_empty: bool) -> (Chain, Block) {
    let genesis_config = tandem_execution::dev_genesis(900);
    let chain_config = genesis::chain_config(&genesis_config);
    let storage = Arc::new(Storage::open(&dir.join(format!("{name}.redb"))).unwrap());
    let eth_genesis = genesis_block(&storage.read().unwrap(), &genesis_config).unwrap();
    storage.commit(&eth_genesis.clone().into_commit()).unwrap();
    let pool = Mempool::new(
        Default::default(),
        900,
        chain_config.gas_limit,
        chain_config.fees.min_base_fee_wei,
    );
    let chain = Chain::new(
        storage,
        Arc::new(Pool::new(pool, Layer::L1)),
        chain_config,
        fee_recipient,
        allow_empty,
        None,
    );
    let first = PrivateKey::from_seed(0).public_key();
    (chain, Block::genesis(eth_genesis.block, first))
}

/// What a node does with a gossiped transaction: the pool's one admission path.
fn pool_gossip(chain: Arc<Chain>) -> OnGossip {
    Arc::new(move |raw: &[u8]| {
        let _ = chain
            .pool
            .admit(raw, |sender| -> Result<_, Box<dyn std::error::Error>> {
                let reader = chain.storage.read()?;
                Ok(tandem_mempool::account_in(
                    &tandem_state::LatestState(&reader),
                    sender,
                )?)
            });
    })
}

/// Runs the production gossip loop on `channel` for `chain`.
fn start_gossip(
    context: &deterministic::Context,
    chain: Arc<Chain>,
    (sender, receiver): (
        simulated::Sender<PublicKey, deterministic::Context>,
        simulated::Receiver<PublicKey>,
    ),
) {
    // Nothing to send: the simulations pool their transactions directly.
    let (_, outbound) = futures::channel::mpsc::channel(1);
    let gossip = Gossip {
        outbound,
        inbound: pool_gossip(chain),
    };
    tandem_consensus::spawn_gossip(&context.child("gossip"), gossip, sender, receiver);
}

type SimSender = simulated::Sender<PublicKey, deterministic::Context>;
type SimReceiver = simulated::Receiver<PublicKey>;

/// Registers `channel` for `control`, wrapped so that it alters blocks as `alter` says, and, for
/// broadcast, echoes an altered copy of every block received.
async fn altering(
    control: &simulated::Control<PublicKey, deterministic::Context>,
    channel: u64,
    tamper: &Arc<Tamper>,
) -> (Altering<SimSender>, Echo<SimReceiver, SimSender>) {
    let (sender, receiver) = control.register(channel, QUOTA).await.unwrap();
    let (alter, receiver) = match channel {
        BROADCAST => (
            Alter::Blocks,
            Echo::blocks(receiver, sender.clone(), tamper.clone()),
        ),
        BACKFILL => (Alter::Responses, Echo::pass(receiver)),
        _ => (Alter::Nothing, Echo::pass(receiver)),
    };
    (Altering::new(sender, alter, tamper.clone()), receiver)
}

impl Sim {
    /// Starts `VALIDATORS` honest validators, fully linked, each with its own redb under `dir`,
    /// but for those given a proposer fault.
    async fn start(
        context: deterministic::Context,
        dir: &Path,
        faults: &[(usize, ProposerFault)],
        txs: u64,
    ) -> Self {
        let mut options = Options::honest(txs);
        for (i, fault) in faults {
            options = options.with(*i, Role::Faulty(*fault));
        }
        Self::start_with(context, dir, options).await
    }

    async fn start_with(context: deterministic::Context, dir: &Path, options: Options) -> Self {
        let signers: Vec<PrivateKey> = (0..VALIDATORS as u64).map(PrivateKey::from_seed).collect();
        let validators: Set<_> = signers
            .iter()
            .map(|s| s.public_key())
            .try_collect()
            .unwrap();
        let observers = [Observer::Altering, Observer::Junk].map(|o| o.key().public_key());
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: 16 * 1024 * 1024,
                max_peers_per_set: NZUsize!(VALIDATORS + 3),
                disconnect_on_block: options.disconnect_on_block,
                tracked_peer_sets: NZUsize!(1),
            },
            validators
                .iter()
                .cloned()
                .chain([full_node_key().public_key()])
                .chain(observers),
        )
        .await;
        network.start();
        let tamper = Arc::new(Tamper::new());
        let junk = Arc::new(AtomicU64::new(0));
        let mut chains = Vec::new();
        for (i, signer) in signers.iter().enumerate() {
            let (mut chain, genesis) =
                open_chain(dir, &format!("validator-{i}"), fee_recipient(i), true);
            if let Role::Faulty(fault) = options.roles[i] {
                chain = chain.with_fault(fault);
            }
            let chain = Arc::new(chain);
            chains.push(chain.clone());
            let control = oracle.control(signer.public_key());
            let context = context.child("validator").with_attribute("index", i);
            let config = Config {
                signer: signer.clone(),
                validators: validators.clone(),
                partition: format!("validator-{i}"),
                namespace: b"tandem-test".to_vec(),
                genesis,
                leader_timeout: Duration::from_secs(1),
                certification_timeout: Duration::from_secs(2),
                block_time: Duration::ZERO,
                mailbox_size: 1024,
            };
            match options.roles[i] {
                Role::Honest | Role::Faulty(_) => {
                    let channels = Channels {
                        votes: control.register(VOTES, QUOTA).await.unwrap(),
                        certificates: control.register(CERTIFICATES, QUOTA).await.unwrap(),
                        resolver: control.register(RESOLVER, QUOTA).await.unwrap(),
                        broadcast: control.register(BROADCAST, QUOTA).await.unwrap(),
                        backfill: control.register(BACKFILL, QUOTA).await.unwrap(),
                    };
                    let gossip = control.register(TRANSACTIONS, QUOTA).await.unwrap();
                    start_gossip(&context, chain.clone(), gossip);
                    tandem_consensus::start(
                        context,
                        config,
                        chain,
                        oracle.manager(),
                        control,
                        channels,
                    )
                    .await;
                }
                Role::Altering => {
                    let channels = Channels {
                        votes: altering(&control, VOTES, &tamper).await,
                        certificates: altering(&control, CERTIFICATES, &tamper).await,
                        resolver: altering(&control, RESOLVER, &tamper).await,
                        broadcast: altering(&control, BROADCAST, &tamper).await,
                        backfill: altering(&control, BACKFILL, &tamper).await,
                    };
                    tandem_consensus::start(
                        context,
                        config,
                        chain,
                        oracle.manager(),
                        control,
                        channels,
                    )
                    .await;
                }
                Role::Junk => {
                    for channel in CHANNELS {
                        let (sender, receiver) = control.register(channel, QUOTA).await.unwrap();
                        spawn_junk(&context, channel, sender, receiver, junk.clone());
                    }
                }
                Role::Mock(kind) => {
                    use commonware_consensus::simplex::{
                        elector::RoundRobin,
                        mocks::{conflicter, equivocator, nuller, relay::Relay},
                    };
                    use commonware_cryptography::Sha256;
                    let votes = control.register(VOTES, QUOTA).await.unwrap();
                    let certificates = control.register(CERTIFICATES, QUOTA).await.unwrap();
                    let scheme = tandem_consensus::Scheme::signer(
                        b"tandem-test",
                        validators.clone(),
                        signer.clone(),
                    )
                    .unwrap();
                    let context = context.child("byzantine");
                    match kind {
                        Byzantine::Conflicter => {
                            conflicter::Conflicter::<_, _, Sha256>::new(
                                context,
                                conflicter::Config { scheme },
                            )
                            .start(votes);
                        }
                        Byzantine::Equivocator => {
                            let config = equivocator::Config {
                                scheme,
                                elector: RoundRobin::<Sha256>::default(),
                                epoch: commonware_consensus::types::Epoch::zero(),
                                relay: Arc::new(Relay::default()),
                            };
                            equivocator::Equivocator::<_, _, _, Sha256>::new(context, config)
                                .start(votes, certificates);
                        }
                        Byzantine::Nuller => {
                            nuller::Nuller::<_, _, Sha256>::new(context, nuller::Config { scheme })
                                .start(votes);
                        }
                    }
                }
            }
        }
        let keys: Vec<PublicKey> = signers.iter().map(|s| s.public_key()).collect();
        let sim = Self {
            context,
            oracle,
            keys,
            chains,
            options,
            tamper,
            junk,
            dir: dir.to_path_buf(),
        };
        for i in 0..VALIDATORS {
            sim.link(i, true).await;
        }
        for observer in options.observers {
            sim.start_observer(*observer).await;
        }
        // Every validator's pool gets the transactions (as gossip would deliver them).
        for tx in transfers(options.txs) {
            let sender = recover_sender(&tx).unwrap();
            for chain in &sim.chains {
                let account = chain
                    .storage
                    .read()
                    .unwrap()
                    .account(sender)
                    .unwrap()
                    .unwrap();
                chain
                    .pool
                    .lock()
                    .add(
                        tx.clone(),
                        sender,
                        AccountState {
                            nonce: account.nonce,
                            balance: account.balance,
                        },
                    )
                    .unwrap();
            }
        }
        sim
    }

    /// Whether messages from `key` travel on the adversaries' fast links.
    fn is_adversary(&self, key: &PublicKey) -> bool {
        let validator = self.keys.iter().position(|k| k == key);
        match validator {
            Some(i) => matches!(self.options.roles[i], Role::Altering | Role::Junk),
            None => self
                .options
                .observers
                .iter()
                .any(|o| &o.key().public_key() == key),
        }
    }

    /// Links `a` to `b` and `b` to `a`.
    async fn connect(&self, a: &PublicKey, b: &PublicKey) {
        for (from, to) in [(a, b), (b, a)] {
            let link = if self.is_adversary(from) {
                FAST_LINK
            } else {
                LINK
            };
            let _ = self.oracle.add_link(from.clone(), to.clone(), link).await;
        }
    }

    /// Connects (or cuts off) validator `i` to and from every other validator. Observers keep
    /// their links.
    async fn link(&self, i: usize, up: bool) {
        for j in 0..VALIDATORS {
            if i == j {
                continue;
            }
            if up {
                self.connect(&self.keys[i], &self.keys[j]).await;
            } else {
                for (a, b) in [(i, j), (j, i)] {
                    let _ = self
                        .oracle
                        .remove_link(self.keys[a].clone(), self.keys[b].clone())
                        .await;
                }
            }
        }
    }

    /// Starts an adversarial observer, linked to every validator.
    async fn start_observer(&self, observer: Observer) {
        let key = observer.key().public_key();
        for validator in &self.keys {
            self.connect(validator, &key).await;
        }
        let control = self.oracle.control(key.clone());
        let context = self.context.child("observer");
        match observer {
            Observer::Junk => {
                for channel in CHANNELS {
                    let (sender, receiver) = control.register(channel, QUOTA).await.unwrap();
                    spawn_junk(&context, channel, sender, receiver, self.junk.clone());
                }
            }
            Observer::Altering => {
                let (chain, genesis) =
                    open_chain(&self.dir, "altering-observer", Address::ZERO, false);
                let certificates = altering(&control, CERTIFICATES, &self.tamper).await;
                let broadcast = altering(&control, BROADCAST, &self.tamper).await;
                let backfill = altering(&control, BACKFILL, &self.tamper).await;
                let (_, tips) = altering(&control, TIPS, &self.tamper).await;
                let validators: Set<PublicKey> = self.keys.iter().cloned().try_collect().unwrap();
                tandem_consensus::follow(
                    context,
                    key,
                    validators,
                    b"tandem-test",
                    genesis,
                    "altering-observer".into(),
                    Arc::new(chain),
                    self.oracle.manager(),
                    control,
                    certificates,
                    tips,
                    broadcast,
                    backfill,
                )
                .await;
            }
        }
    }

    /// Starts a full node that follows the validators' finalization certificates, linked to every
    /// validator and observer; returns its chain.
    async fn start_full_node(&self, dir: &Path) -> Arc<Chain> {
        let mut peers = self.keys.clone();
        peers.extend(self.options.observers.iter().map(|o| o.key().public_key()));
        self.start_full_node_linked(dir, &peers).await
    }

    /// Starts a full node linked to `peers` only.
    async fn start_full_node_linked(&self, dir: &Path, peers: &[PublicKey]) -> Arc<Chain> {
        let (chain, genesis) = open_chain(dir, "full-node", Address::ZERO, false);
        let chain = Arc::new(chain);
        let key = full_node_key().public_key();
        let control = self.oracle.control(key.clone());
        let certificates = control.register(CERTIFICATES, QUOTA).await.unwrap();
        let broadcast = control.register(BROADCAST, QUOTA).await.unwrap();
        let backfill = control.register(BACKFILL, QUOTA).await.unwrap();
        let (_, tips) = control.register(TIPS, QUOTA).await.unwrap();
        let gossip = control.register(TRANSACTIONS, QUOTA).await.unwrap();
        let context = self.context.child("full_node");
        start_gossip(&context, chain.clone(), gossip);
        for peer in peers {
            self.connect(peer, &key).await;
        }
        let validators: Set<PublicKey> = self.keys.iter().cloned().try_collect().unwrap();
        tandem_consensus::follow(
            context,
            key,
            validators,
            b"tandem-test",
            genesis,
            "full-node".into(),
            chain.clone(),
            self.oracle.manager(),
            control,
            certificates,
            tips,
            broadcast,
            backfill,
        )
        .await;
        chain
    }

    fn height(&self, i: usize) -> u64 {
        self.chains[i].committed_height().unwrap()
    }

    /// Waits (in simulated time) until every listed validator has committed `target` blocks.
    async fn wait(&self, who: &[usize], target: u64) {
        let chains: Vec<&Arc<Chain>> = who.iter().map(|i| &self.chains[*i]).collect();
        self.wait_for(&chains, target).await
    }

    /// Waits (in simulated time) until every chain has committed `target` blocks; panics after
    /// [`MAX_WAIT`]: a node that stops committing has halted.
    async fn wait_for(&self, chains: &[&Arc<Chain>], target: u64) {
        let start = self.context.current();
        let heights = || -> Vec<u64> {
            chains
                .iter()
                .map(|c| c.committed_height().unwrap())
                .collect()
        };
        while heights().iter().any(|h| *h < target) {
            self.context.sleep(Duration::from_millis(100)).await;
            let waited = self.context.current().duration_since(start).unwrap();
            assert!(
                waited < MAX_WAIT,
                "no progress to height {target} in {MAX_WAIT:?}: heights {:?} (validators {:?})",
                heights(),
                ALL.map(|i| self.height(i)),
            );
        }
    }

    /// Waits until validators 0-2 and `follower` reach `target`, then gives their chains up to it.
    async fn honest_views_with(&self, follower: &Arc<Chain>, target: u64) -> Vec<ChainView> {
        let chains = [&self.chains[0], &self.chains[1], &self.chains[2], follower];
        self.wait_for(&chains, target).await;
        chains.iter().map(|chain| view_of(chain, target)).collect()
    }

    fn view(&self, i: usize, upto: u64) -> ChainView {
        view_of(&self.chains[i], upto)
    }

    fn attacks(&self) -> Attacks {
        Attacks {
            sent: self.tamper.sent.load(Ordering::Relaxed),
            served: self.tamper.served.load(Ordering::Relaxed),
            junk: self.junk.load(Ordering::Relaxed),
        }
    }
}

/// How long a scenario waits for a height before it calls the node halted.
const MAX_WAIT: Duration = Duration::from_secs(120);

/// `chain`'s committed blocks 1 to `upto`.
fn view_of(chain: &Chain, upto: u64) -> ChainView {
    let reader = chain.storage.read().unwrap();
    (1..=upto)
        .map(|n| {
            let block = reader.block(n).unwrap().unwrap();
            (
                n,
                block.hash,
                block.header().state_root,
                block.header().beneficiary,
                block.block.transactions.len(),
            )
        })
        .collect()
}

/// The simulated clock starts in June 2025, so block timestamps look like real ones (and a block
/// can be stamped an hour before its parent).
fn start_time() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

/// Runs a scenario on a fresh deterministic runtime with `seed`.
fn simulate<T: Send + 'static>(
    seed: u64,
    scenario: impl AsyncFnOnce(&Path, deterministic::Context) -> T,
) -> T {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let config = deterministic::Config::new()
        .with_seed(seed)
        .with_start_time(start_time())
        .with_timeout(Some(Duration::from_secs(900)));
    deterministic::Runner::new(config).start(async |context| scenario(dir.path(), context).await)
}

const ALL: [usize; VALIDATORS] = [0, 1, 2, 3];

/// The seeds a scenario runs: `default`, or `TANDEM_SIM_SEEDS=N` more (from `offset`) for a wider sweep.
fn seeds(offset: u64, default: &[u64]) -> Vec<u64> {
    match std::env::var("TANDEM_SIM_SEEDS")
        .ok()
        .and_then(|n| n.parse::<u64>().ok())
    {
        Some(n) => (offset..offset + n).collect(),
        None => default.to_vec(),
    }
}

#[test]
fn all_online_validators_finalize_the_same_blocks_and_the_same_seed_gives_the_same_chain() {
    for seed in seeds(1_000, &[1, 2, 3]) {
        let run = || {
            simulate(seed, async |dir, context| {
                let sim = Sim::start(context, dir, &[], 40).await;
                sim.wait(&ALL, 8).await;
                ALL.map(|i| sim.view(i, 8))
            })
        };
        let first = run();
        for view in &first[1..] {
            assert_eq!(
                view, &first[0],
                "seed {seed}: every validator finalizes the same blocks and state roots"
            );
        }
        let included: usize = first[0].iter().map(|b| b.4).sum();
        assert_eq!(
            included, 40,
            "seed {seed}: every transaction is included exactly once: {:?}",
            first[0]
        );
        assert_eq!(
            first,
            run(),
            "seed {seed}: the same seed gives the same chain"
        );
    }
}

#[test]
fn a_partitioned_validator_falls_behind_while_the_rest_finalize_then_catches_up() {
    for seed in seeds(2_000, &[4, 5, 2_001]) {
        let run = || {
            simulate(seed, async |dir, context| {
                let sim = Sim::start(context, dir, &[], 20).await;
                sim.wait(&ALL, 3).await;
                sim.link(3, false).await;
                let cut = sim.height(3);
                sim.wait(&[0, 1, 2], cut + 6).await;
                let stuck = sim.height(3);
                assert!(
                    stuck <= cut + 1,
                    "seed {seed}: the isolated validator cannot finalize alone ({cut} -> {stuck})"
                );
                sim.link(3, true).await;
                sim.wait(&ALL, cut + 6).await;
                ALL.map(|i| sim.view(i, cut + 6))
            })
        };
        let first = run();
        for view in &first[1..] {
            assert_eq!(
                view, &first[0],
                "seed {seed}: the healed validator caught up to the same blocks"
            );
        }
        assert_eq!(
            first,
            run(),
            "seed {seed}: the same seed gives the same chain"
        );
    }
}

#[test]
fn a_proposer_with_wrong_state_roots_or_timestamps_far_off_is_rejected_and_the_chain_moves_on() {
    for (offset, fault) in [
        (3_000, ProposerFault::WrongStateRoot),
        (9_000, ProposerFault::FutureTimestamp),
        (12_000, ProposerFault::PastTimestamp),
    ] {
        for seed in seeds(offset, &[offset + 6, offset + 7]) {
            let run = || {
                simulate(seed, async |dir, context| {
                    let sim = Sim::start(context, dir, &[(3, fault)], 20).await;
                    sim.wait(&ALL, 10).await;
                    ALL.map(|i| sim.view(i, 10))
                })
            };
            let first = run();
            for view in &first[1..] {
                assert_eq!(
                    view, &first[0],
                    "{fault:?} seed {seed}: honest and faulty validators agree on the finalized chain"
                );
            }
            assert!(
                first[0].iter().all(|b| b.2 != B256::repeat_byte(0xbb)),
                "{fault:?} seed {seed}: no wrong state root is final"
            );
            assert!(
                first[0].iter().all(|b| b.3 != fee_recipient(3)),
                "{fault:?} seed {seed}: no block of the faulty proposer is final"
            );
            assert!(
                first[0].iter().any(|b| b.3 == fee_recipient(0)),
                "{fault:?} seed {seed}: honest proposers keep producing"
            );
            assert_eq!(
                first,
                run(),
                "{fault:?} seed {seed}: the same seed gives the same chain"
            );
        }
    }
}

#[test]
fn one_byzantine_validator_from_commonware_mocks_breaks_neither_safety_nor_liveness() {
    for (offset, kind) in [
        (4_000, Byzantine::Conflicter),
        (5_000, Byzantine::Nuller),
        (8_000, Byzantine::Equivocator),
    ] {
        for seed in seeds(offset, &[offset + 1, offset + 2]) {
            let run = || {
                simulate(seed, async |dir, context| {
                    let options = Options::honest(20).with(3, Role::Mock(kind));
                    let sim = Sim::start_with(context, dir, options).await;
                    sim.wait(&[0, 1, 2], 8).await;
                    [0, 1, 2].map(|i| sim.view(i, 8))
                })
            };
            let first = run();
            for view in &first[1..] {
                assert_eq!(
                    view, &first[0],
                    "{kind:?} seed {seed}: the honest validators agree"
                );
            }
            assert_eq!(
                first[0].iter().map(|b| b.4).sum::<usize>(),
                20,
                "{kind:?} seed {seed}: every transaction included once"
            );
            assert_eq!(
                first,
                run(),
                "{kind:?} seed {seed}: the same seed gives the same chain"
            );
        }
    }
}

#[test]
fn a_crash_that_loses_unsynced_consensus_writes_loses_no_finalized_block() {
    use commonware_runtime::deterministic::{FaultConfig, PartialWriteMode, WriteConfig};
    for seed in seeds(6_000, &[6_001, 6_002, 6_003]) {
        let dir = tempfile::tempdir().unwrap();
        // Unsynced consensus writes (votes, archives) keep a random half of their bytes at the crash.
        let faults = FaultConfig::default().write(WriteConfig {
            failure_rate: probability!(0.0),
            retention_rate: probability!(0.5),
            mode: PartialWriteMode::Subset,
        });
        let config = deterministic::Config::new()
            .with_seed(seed)
            .with_start_time(start_time())
            .with_timeout(Some(Duration::from_secs(900)))
            .with_storage_fault_config(faults);
        let path = dir.path().to_path_buf();
        let (before, checkpoint) =
            deterministic::Runner::new(config).start_and_recover(async |context| {
                let sim = Sim::start(context, &path, &[], 20).await;
                sim.wait(&ALL, 6).await;
                let heights = ALL.map(|i| sim.height(i));
                (heights, ALL.map(|i| sim.view(i, heights[i])))
            });
        // Every task stops here, mid-flight: the crash.
        let path = dir.path().to_path_buf();
        let after = deterministic::Runner::from(checkpoint).start(async |context| {
            let sim = Sim::start(context, &path, &[], 0).await;
            let top = before.0.iter().max().copied().unwrap();
            sim.wait(&ALL, top + 4).await;
            ALL.map(|i| sim.view(i, top + 4))
        });
        for i in ALL {
            let (height, view) = (before.0[i], &before.1[i]);
            assert_eq!(
                &after[i][..height as usize],
                &view[..],
                "seed {seed}: validator {i} kept every finalized block up to {height}"
            );
        }
        for view in &after[1..] {
            assert_eq!(
                view, &after[0],
                "seed {seed}: after recovery every validator has the same chain"
            );
        }
    }
}

#[test]
fn a_full_node_started_late_syncs_from_genesis_to_the_same_blocks() {
    for seed in seeds(7_000, &[7_001, 7_002]) {
        let run = || {
            simulate(seed, async |dir, context| {
                let sim = Sim::start(context, dir, &[], 20).await;
                sim.wait(&ALL, 6).await;
                let follower = sim.start_full_node(dir).await;
                sim.wait(&ALL, 12).await;
                while follower.committed_height().unwrap() < 12 {
                    sim.context.sleep(Duration::from_millis(100)).await;
                }
                (sim.view(0, 12), view_of(&follower, 12))
            })
        };
        let (validator, follower) = run();
        assert_eq!(
            follower, validator,
            "seed {seed}: the full node has the validators' blocks and state roots"
        );
        assert_eq!(
            (validator, follower),
            run(),
            "seed {seed}: the same seed gives the same chain"
        );
    }
}

/// Checks what every adversarial scenario promises: the honest nodes' chains are the same block
/// for block, and the same seed replays the same chains and the same attacks.
fn assert_agree_and_replay<T: PartialEq + std::fmt::Debug>(
    what: &str,
    seed: u64,
    run: impl Fn() -> (Vec<ChainView>, T),
) -> (Vec<ChainView>, T) {
    let first = run();
    for (i, view) in first.0.iter().enumerate().skip(1) {
        assert_eq!(
            view, &first.0[0],
            "{what} seed {seed}: honest node {i} has the same blocks and state roots as node 0"
        );
    }
    assert_eq!(
        first,
        run(),
        "{what} seed {seed}: the same seed gives the same chains and attacks"
    );
    first
}

#[test]
fn peers_that_serve_other_bodies_under_the_right_header_neither_halt_nor_fork_honest_nodes() {
    // Validator 3 votes honestly but sends and serves every block with an altered body and echoes
    // an altered copy of every block it receives; an observer that resolvers ask does the same.
    // Validator 2 is cut off for a while and catches up, and a full node joins late: both must
    // fetch finalized blocks from peers that include the two adversaries.
    let options = Options {
        observers: &[Observer::Altering],
        disconnect_on_block: false,
        ..Options::honest(30).with(3, Role::Altering)
    };
    for seed in seeds(10_000, &[10_001, 10_002, 10_003]) {
        let run = || {
            simulate(seed, async |dir, context| {
                let sim = Sim::start_with(context, dir, options).await;
                sim.wait(&[0, 1, 2], 3).await;
                sim.link(2, false).await;
                let cut = sim.height(2);
                sim.wait(&[0, 1], cut + 5).await;
                sim.link(2, true).await;
                sim.wait(&[0, 1, 2], cut + 7).await;
                // A full node whose only peers are the two adversaries gets certificates (from
                // validator 3) but no block it can decode: it commits nothing rather than a
                // wrong block, and syncs once honest peers appear.
                let adversaries = [sim.keys[3].clone(), Observer::Altering.key().public_key()];
                let follower = sim.start_full_node_linked(dir, &adversaries).await;
                sim.context.sleep(Duration::from_secs(10)).await;
                assert_eq!(follower.committed_height().unwrap(), 0);
                assert!(
                    sim.attacks().served > 0,
                    "the full node asked the adversaries"
                );
                let full_node = full_node_key().public_key();
                for validator in &sim.keys[..3] {
                    sim.connect(validator, &full_node).await;
                }
                let target = cut + 10;
                let views = sim.honest_views_with(&follower, target).await;
                (views, (sim.attacks(), sim.context.auditor().state()))
            })
        };
        let (views, (attacks, _)) = assert_agree_and_replay("altered bodies", seed, run);
        assert!(
            attacks.sent > 0 && attacks.served > 0,
            "seed {seed}: the adversaries attacked on broadcast and backfill: {attacks:?}"
        );
        assert_eq!(
            views[0].iter().map(|b| b.4).sum::<usize>(),
            30,
            "seed {seed}: every transaction included once, and nothing else"
        );
    }
}

#[test]
fn junk_on_every_channel_from_a_validator_and_an_observer_neither_halts_nor_forks_honest_nodes() {
    // Validator 3 runs no consensus: it and an observer send random bytes and mangled copies of
    // what they hear on every channel (votes, certificates, resolver, broadcast, backfill,
    // transactions, tips) to every peer, and stay connected when blocked.
    let options = Options {
        observers: &[Observer::Junk],
        disconnect_on_block: false,
        ..Options::honest(20).with(3, Role::Junk)
    };
    for seed in seeds(11_000, &[11_001, 11_002, 11_003]) {
        let run = || {
            simulate(seed, async |dir, context| {
                let sim = Sim::start_with(context, dir, options).await;
                sim.wait(&[0, 1, 2], 4).await;
                let follower = sim.start_full_node(dir).await;
                let target = 10;
                let views = sim.honest_views_with(&follower, target).await;
                (views, (sim.attacks(), sim.context.auditor().state()))
            })
        };
        let (views, (attacks, _)) = assert_agree_and_replay("junk", seed, run);
        assert!(
            attacks.junk > 1_000,
            "seed {seed}: junk was sent: {attacks:?}"
        );
        assert_eq!(
            views[0].iter().map(|b| b.4).sum::<usize>(),
            20,
            "seed {seed}: every transaction included once"
        );
    }
}
