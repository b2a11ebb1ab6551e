//! Validators on Commonware's deterministic runtime and simulated network, with real redb storage
//! and real EVM execution. The same seed must give the same chain.
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, TxKind, U256};
use commonware_cryptography::{
    Signer as _,
    ed25519::{PrivateKey, PublicKey},
};
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{Clock, Quota, Runner, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize, TryCollect, ordered::Set, probability};
use parking_lot::Mutex;
use std::{path::Path, sync::Arc, time::Duration};
use tandem_consensus::{Block, Chain, Channels, Config, ProposerFault};
use tandem_execution::{genesis_block, recover_sender};
use tandem_mempool::{AccountState, Mempool};
use tandem_primitives::{dev, genesis};
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
#[derive(Debug, Clone, Copy)]
enum Byzantine {
    /// Votes for its own random payloads and for every honest proposal alike.
    Conflicter,
    /// Votes to nullify every view.
    Nuller,
    /// As leader, proposes two different payloads to different halves of the validators.
    Equivocator,
}

/// The identity of the simulation's full node (not a validator).
fn full_node_key() -> PrivateKey {
    PrivateKey::from_seed(99)
}

struct Sim {
    context: deterministic::Context,
    oracle: Oracle<PublicKey, deterministic::Context>,
    keys: Vec<PublicKey>,
    chains: Vec<Arc<Chain>>,
}

impl Sim {
    /// Starts `VALIDATORS` validators, fully linked, each with its own redb under `dir`.
    async fn start(
        context: deterministic::Context,
        dir: &Path,
        faults: &[(usize, ProposerFault)],
        txs: u64,
    ) -> Self {
        Self::start_with(context, dir, faults, None, txs).await
    }

    async fn start_with(
        context: deterministic::Context,
        dir: &Path,
        faults: &[(usize, ProposerFault)],
        byzantine: Option<(usize, Byzantine)>,
        txs: u64,
    ) -> Self {
        let signers: Vec<PrivateKey> = (0..VALIDATORS as u64).map(PrivateKey::from_seed).collect();
        let validators: Set<_> = signers
            .iter()
            .map(|s| s.public_key())
            .try_collect()
            .unwrap();
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: 16 * 1024 * 1024,
                max_peers_per_set: NZUsize!(VALIDATORS + 1),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            validators
                .iter()
                .cloned()
                .chain([full_node_key().public_key()]),
        )
        .await;
        network.start();
        let genesis_config = tandem_execution::dev_genesis(900);
        let chain_config = genesis::chain_config(&genesis_config);
        let mut chains = Vec::new();
        for (i, signer) in signers.iter().enumerate() {
            let storage =
                Arc::new(Storage::open(&dir.join(format!("validator-{i}.redb"))).unwrap());
            let eth_genesis = genesis_block(&storage.read().unwrap(), &genesis_config).unwrap();
            storage.commit(&eth_genesis.clone().into_commit()).unwrap();
            let pool = Mempool::new(
                Default::default(),
                900,
                chain_config.gas_limit,
                chain_config.fees.min_base_fee_wei,
            );
            let mut chain = Chain::new(
                storage,
                Arc::new(Mutex::new(pool)),
                chain_config.clone(),
                fee_recipient(i),
                true,
                None,
            );
            if let Some((_, fault)) = faults.iter().find(|(who, _)| *who == i) {
                chain = chain.with_fault(*fault);
            }
            let chain = Arc::new(chain);
            let control = oracle.control(signer.public_key());
            let channels = Channels {
                votes: control.register(0, QUOTA).await.unwrap(),
                certificates: control.register(1, QUOTA).await.unwrap(),
                resolver: control.register(2, QUOTA).await.unwrap(),
                broadcast: control.register(3, QUOTA).await.unwrap(),
                backfill: control.register(4, QUOTA).await.unwrap(),
            };
            if let Some((who, kind)) = byzantine
                && who == i
            {
                use commonware_consensus::simplex::{
                    elector::RoundRobin,
                    mocks::{conflicter, equivocator, nuller, relay::Relay},
                };
                use commonware_cryptography::Sha256;
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
                        .start(channels.votes);
                    }
                    Byzantine::Equivocator => {
                        let config = equivocator::Config {
                            scheme,
                            elector: RoundRobin::<Sha256>::default(),
                            epoch: commonware_consensus::types::Epoch::zero(),
                            relay: Arc::new(Relay::default()),
                        };
                        equivocator::Equivocator::<_, _, _, Sha256>::new(context, config)
                            .start(channels.votes, channels.certificates);
                    }
                    Byzantine::Nuller => {
                        nuller::Nuller::<_, _, Sha256>::new(context, nuller::Config { scheme })
                            .start(channels.votes);
                    }
                }
                chains.push(chain);
                continue;
            }
            let first = validators.iter().next().unwrap().clone();
            let config = Config {
                signer: signer.clone(),
                validators: validators.clone(),
                partition: format!("validator-{i}"),
                namespace: b"tandem-test".to_vec(),
                genesis: Block::genesis(eth_genesis.block, first),
                leader_timeout: Duration::from_secs(1),
                certification_timeout: Duration::from_secs(2),
                block_time: Duration::ZERO,
                mailbox_size: 1024,
            };
            tandem_consensus::start(
                context.child("validator").with_attribute("index", i),
                config,
                chain.clone(),
                oracle.manager(),
                control,
                channels,
            )
            .await;
            chains.push(chain);
        }
        let keys: Vec<PublicKey> = signers.iter().map(|s| s.public_key()).collect();
        let sim = Self {
            context,
            oracle,
            keys,
            chains,
        };
        for i in 0..VALIDATORS {
            sim.link(i, true).await;
        }
        // Every validator's pool gets the transactions (as gossip would deliver them).
        for tx in transfers(txs) {
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

    /// Connects (or cuts off) validator `i` to and from every other.
    async fn link(&self, i: usize, up: bool) {
        for j in 0..VALIDATORS {
            if i == j {
                continue;
            }
            for (a, b) in [(i, j), (j, i)] {
                let (a, b) = (self.keys[a].clone(), self.keys[b].clone());
                if up {
                    let _ = self.oracle.add_link(a, b, LINK).await;
                } else {
                    let _ = self.oracle.remove_link(a, b).await;
                }
            }
        }
    }

    /// Starts a full node that follows the validators' finalization certificates; returns its chain.
    async fn start_full_node(&self, dir: &Path) -> Arc<Chain> {
        let genesis_config = tandem_execution::dev_genesis(900);
        let chain_config = genesis::chain_config(&genesis_config);
        let storage = Arc::new(Storage::open(&dir.join("full-node.redb")).unwrap());
        let eth_genesis = genesis_block(&storage.read().unwrap(), &genesis_config).unwrap();
        storage.commit(&eth_genesis.clone().into_commit()).unwrap();
        let pool = Mempool::new(
            Default::default(),
            900,
            chain_config.gas_limit,
            chain_config.fees.min_base_fee_wei,
        );
        let chain = Arc::new(Chain::new(
            storage,
            Arc::new(Mutex::new(pool)),
            chain_config,
            Address::ZERO,
            false,
            None,
        ));
        let key = full_node_key().public_key();
        let control = self.oracle.control(key.clone());
        let certificates = control.register(1, QUOTA).await.unwrap();
        let broadcast = control.register(3, QUOTA).await.unwrap();
        let backfill = control.register(4, QUOTA).await.unwrap();
        let (_, tips) = control.register(6, QUOTA).await.unwrap();
        for validator in &self.keys {
            for (a, b) in [
                (validator.clone(), key.clone()),
                (key.clone(), validator.clone()),
            ] {
                self.oracle.add_link(a, b, LINK).await.unwrap();
            }
        }
        let validators: Set<PublicKey> = self.keys.iter().cloned().try_collect().unwrap();
        let first = validators.iter().next().unwrap().clone();
        tandem_consensus::follow(
            self.context.child("full_node"),
            key,
            validators,
            b"tandem-test",
            Block::genesis(eth_genesis.block, first),
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
        let mut ticks = 0u64;
        while !who.iter().all(|i| self.height(*i) >= target) {
            self.context.sleep(Duration::from_millis(100)).await;
            ticks += 1;
            if ticks.is_multiple_of(600) {
                tracing::warn!(?who, target, heights = ?ALL.map(|i| self.height(i)), "still waiting");
            }
        }
    }

    fn view(&self, i: usize, upto: u64) -> ChainView {
        let reader = self.chains[i].storage.read().unwrap();
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
fn a_proposer_with_wrong_state_roots_or_future_timestamps_is_rejected_and_the_chain_moves_on() {
    for (offset, fault) in [
        (3_000, ProposerFault::WrongStateRoot),
        (9_000, ProposerFault::FutureTimestamp),
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
                    let sim = Sim::start_with(context, dir, &[], Some((3, kind)), 20).await;
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
                let reader = follower.storage.read().unwrap();
                let followed: ChainView = (1..=12)
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
                    .collect();
                (sim.view(0, 12), followed)
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
