//! Fault proofs inside one process: a faulty proposer posts outputs wrong in each way that matters,
//! and the challenger (the library `tandem l2 challenger` runs) proves the first wrong block to the
//! DisputeGame in one L1 transaction; honest outputs survive every challenge, bogus ones included.
//! L1 runs the real executor with Portal, BatchInbox, OutputOracle, DisputeGame and EXECUTE; L2
//! blocks are the real state transition; batches go through BatchInbox.
use crate::bridge::{Bridge, Chain, INTERVAL, PROPOSER, WINDOW, deposit_call, fresh, l2_call};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use tandem_execution::{
    BlockAttributes, ExecutedBlock, Executor,
    l2::{L1Origin, L2BlockInputs, QueuedTx, derive_l2_block, execute_l2_block},
    system::{
        IDisputeGame, IL2ToL1MessagePasser, IOutputOracle, IPortal, dispute_game::BURN_DIVISOR,
        l1_block::QUEUE_HASH_SLOT,
    },
};
use tandem_primitives::protocol::{Withdrawal, next_queue_hash, output_root};
use tandem_primitives::{
    BridgeParams, Header, StoredTx, TxEnvelope, genesis,
    system::{DISPUTE_GAME, L1_BLOCK, L2_TO_L1_MESSAGE_PASSER, OUTPUT_ORACLE, PORTAL},
};
use tandem_rollup::{
    Batch, BatchBlock,
    challenger::{self, Claim, OnL1, Verdict},
    outputs::{output_at, proposal},
};
use tandem_state::LatestState;

pub(crate) const FAULTY: usize = 5;
pub(crate) const CHALLENGER: usize = 6;

pub(crate) fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

/// The ways an output can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    StateRoot,
    StorageRoot,
    BlockHash,
    GasUsed,
    SkippedDeposit,
    ReorderedDeposit,
    ExtraTransaction,
    DroppedTransaction,
    Timestamp,
    L1Origin,
    Fee,
    ForgedWithdrawal,
    InvalidBatch,
    ValidAfterWrong,
}

const FAULTS: [Fault; 14] = [
    Fault::StateRoot,
    Fault::StorageRoot,
    Fault::BlockHash,
    Fault::GasUsed,
    Fault::SkippedDeposit,
    Fault::ReorderedDeposit,
    Fault::ExtraTransaction,
    Fault::DroppedTransaction,
    Fault::Timestamp,
    Fault::L1Origin,
    Fault::Fee,
    Fault::ForgedWithdrawal,
    Fault::InvalidBatch,
    Fault::ValidAfterWrong,
];

impl Fault {
    /// Whether the fault changes a claimed root after execution (the first block of output 1)
    /// rather than how a block executes (its last block).
    fn is_tweak(self) -> bool {
        matches!(
            self,
            Fault::StateRoot
                | Fault::StorageRoot
                | Fault::BlockHash
                | Fault::GasUsed
                | Fault::ValidAfterWrong
        )
    }

    /// The claimed output of a block whose true header is `header` and output `true_output`.
    fn tweak(self, header: &Header, o: &tandem_rollup::outputs::Output) -> B256 {
        let flip = |h: B256| B256::from(U256::from_be_bytes(h.0) ^ U256::from(1));
        let (mut state, mut passer, mut hash) =
            (o.state_root, o.message_passer_storage_root, o.block_hash);
        match self {
            Fault::StateRoot | Fault::ValidAfterWrong => state = flip(state),
            Fault::StorageRoot => passer = flip(passer),
            Fault::BlockHash => hash = flip(hash),
            Fault::GasUsed => {
                let mut h = header.clone();
                h.gas_used += 1;
                hash = h.hash_slow();
            }
            _ => unreachable!("not a tweak"),
        }
        output_root(state, passer, hash)
    }
}

/// A block built outside the state transition's rules, as a faulty proposer's node might: the
/// deposits in the order given, the transactions without the L1 data fee and at any timestamp.
pub(crate) fn rogue_block(
    chain: &Chain,
    timestamp: u64,
    origin: L1Origin,
    deposits: &[QueuedTx],
    txs: &[StoredTx],
) -> ExecutedBlock {
    let reader = chain.storage.read().unwrap();
    let parent = chain.head();
    let attrs = BlockAttributes {
        timestamp,
        beneficiary: tandem_primitives::system::SEQUENCER_FEE_VAULT,
        prev_randao: origin.hash,
    };
    let mut queue_hash = B256::from(
        reader
            .storage(L1_BLOCK, B256::from(QUEUE_HASH_SLOT))
            .unwrap(),
    );
    let next = L1Origin::queue_index_of(&parent) + deposits.len() as u64;
    let mut executor = Executor::new(
        &reader,
        LatestState(&reader),
        &chain.config,
        &parent,
        &attrs,
    );
    executor.set_l1_origin(&origin).unwrap();
    for entry in deposits {
        let TxEnvelope::Deposit(deposit) = &entry.tx.tx else {
            panic!("not a deposit")
        };
        executor.execute_deposit(deposit.inner().clone()).unwrap();
        queue_hash = next_queue_hash(queue_hash, entry.tx.tx.tx_hash());
    }
    executor.set_queue(next, queue_hash).unwrap();
    executor.set_extra_data(origin.extra_data(next, deposits.len() as u64));
    for tx in txs {
        executor.execute(tx.tx.clone(), tx.sender).unwrap();
    }
    executor.finish().unwrap()
}

/// What a scenario leaves for the challenge: the honest bridge, the faulty chain and the claim.
pub(crate) struct Scenario {
    pub(crate) b: Bridge,
    pub(crate) faulty: Chain,
    pub(crate) claim: Claim,
    pub(crate) wrong_block: u64,
    /// A withdrawal only the faulty chain has, with its L2 block.
    pub(crate) forged: Option<(Withdrawal, u64)>,
}

/// Runs L2 blocks 1 and 2 (deposits, transfers) with an honest output 0, then blocks 3 and 4 with
/// deposits due in block 4 and its batch on L1; the faulty proposer posts output 1 (blocks 3-4)
/// wrong by `fault`.
pub(crate) fn scenario(fault: Fault) -> Scenario {
    let mut b = Bridge::new();
    let users: Vec<_> = (0..3).map(fresh).collect();
    let mut txs = Vec::new();
    for (from, user) in users.iter().enumerate() {
        txs.push(b.l1_tx(
            from,
            PORTAL,
            eth(1),
            deposit_call(user.address, eth(1), 100_000, vec![]),
        ));
    }
    b.mine_l1(txs, 1);
    b.mine_l2(Vec::new());
    b.mine_l2(vec![l2_call(
        &users[0],
        0,
        users[1].address,
        U256::from(7),
        vec![],
    )]);
    b.propose();
    assert_eq!(b.output_count(), 1);
    b.mine_l2(vec![l2_call(
        &users[1],
        0,
        users[2].address,
        U256::from(9),
        vec![],
    )]);
    // Two deposits due from the next L2 block on.
    let txs = vec![
        b.l1_tx(
            3,
            PORTAL,
            eth(2),
            deposit_call(users[0].address, eth(2), 100_000, vec![]),
        ),
        b.l1_tx(
            4,
            PORTAL,
            eth(3),
            deposit_call(users[2].address, eth(3), 100_000, vec![]),
        ),
    ];
    b.mine_l1(txs, 1);
    let withdraw = IL2ToL1MessagePasser::initiateWithdrawalCall {
        to: users[1].address,
        gasLimit: 100_000,
        data: Bytes::new(),
    };
    let block4_txs = vec![
        l2_call(&users[0], 1, users[2].address, U256::from(11), vec![]),
        l2_call(
            &users[1],
            1,
            L2_TO_L1_MESSAGE_PASSER,
            U256::from(1_000),
            withdraw.abi_encode(),
        ),
    ];
    if fault == Fault::InvalidBatch {
        // The batch's block 4 runs past the sequencer drift: derivation takes it without its
        // transactions; the faulty chain runs them anyway.
        let l1_head = b.l1.head();
        let origin = origin_of(&l1_head);
        let raw = L2BlockInputs {
            timestamp: origin.timestamp + b.l2.config.max_sequencer_drift + 10,
            l1_origin: origin,
            queue: b.queue.clone(),
            transactions: block4_txs.clone(),
        };
        let reader = b.l2.storage.read().unwrap();
        let (block, broken) = derive_l2_block(
            (&reader).into(),
            LatestState(&reader),
            &b.l2.config,
            &b.l2.head(),
            &raw,
        )
        .unwrap();
        drop(reader);
        assert!(broken.is_some(), "the batch block breaks the drift rule");
        b.l2.storage.commit(&block.executed.into_commit()).unwrap();
        b.inputs.insert(4, raw.clone());
        let stored3 = b.l2.storage.read().unwrap().block(3).unwrap().unwrap();
        let header3 = stored3.header();
        b.post_batch(Batch {
            blocks: vec![
                BatchBlock {
                    number: 3,
                    timestamp: header3.timestamp,
                    l1_origin: L1Origin::of_header(header3).unwrap().number,
                    transactions: stored3
                        .block
                        .transactions
                        .iter()
                        .map(|t| t.tx.clone())
                        .collect(),
                },
                BatchBlock {
                    number: 4,
                    timestamp: raw.timestamp,
                    l1_origin: origin.number,
                    transactions: block4_txs.iter().map(|t| t.tx.clone()).collect(),
                },
            ],
        });
    } else {
        b.mine_l2(block4_txs);
        b.post_batches();
    }
    // The faulty node: the honest chain up to the wrong block, then its own.
    let dir = tempfile::tempdir().unwrap();
    let faulty = Chain::new(&dir, "faulty", &genesis::dev_l2_genesis());
    let wrong_block = if fault.is_tweak() { 3 } else { 4 };
    for number in 1..wrong_block {
        replay(&faulty, &b.inputs[&number]);
    }
    let mut forged = None;
    if !fault.is_tweak() {
        let honest = b.inputs[&4].clone();
        let due: Vec<QueuedTx> = honest
            .queue
            .iter()
            .filter(|e| e.index >= L1Origin::queue_index_of(&faulty.head()))
            .cloned()
            .collect();
        assert_eq!(due.len(), 2, "two deposits are due in block 4");
        let mut inputs = honest.clone();
        let block = match fault {
            Fault::SkippedDeposit => {
                inputs.queue.clear();
                executed(&faulty, &inputs)
            }
            Fault::ReorderedDeposit => rogue_block(
                &faulty,
                honest.timestamp,
                honest.l1_origin,
                &[due[1].clone(), due[0].clone()],
                &honest.transactions,
            ),
            Fault::ExtraTransaction => {
                inputs.transactions.push(l2_call(
                    &users[2],
                    0,
                    users[0].address,
                    U256::from(5),
                    vec![],
                ));
                executed(&faulty, &inputs)
            }
            Fault::DroppedTransaction => {
                inputs.transactions.pop();
                executed(&faulty, &inputs)
            }
            Fault::Timestamp => {
                inputs.timestamp += 1;
                executed(&faulty, &inputs)
            }
            Fault::L1Origin => {
                let earlier =
                    b.l1.storage
                        .read()
                        .unwrap()
                        .header(honest.l1_origin.number - 1);
                inputs.l1_origin = origin_of(&earlier.unwrap().unwrap());
                executed(&faulty, &inputs)
            }
            Fault::Fee => {
                inputs.l1_origin.base_fee *= 3;
                executed(&faulty, &inputs)
            }
            Fault::ForgedWithdrawal => {
                // 1,000 ETH minted from nothing to the faulty proposer on L2, and 5 withdrawn
                // (what the Portal holds from others' deposits would pay it).
                let thief = fresh(99);
                let mut deposits = due;
                let mut minted = deposits[1].clone();
                let TxEnvelope::Deposit(d) = &minted.tx.tx else {
                    unreachable!()
                };
                let mut d = d.inner().clone();
                d.from = thief.address;
                d.to = alloy_primitives::TxKind::Call(thief.address);
                d.mint = eth(1_000).to();
                minted.tx.sender = thief.address;
                minted.tx.tx = TxEnvelope::Deposit(alloy_primitives::Sealed::new(d));
                deposits[1] = minted;
                let withdraw = IL2ToL1MessagePasser::initiateWithdrawalCall {
                    to: thief.address,
                    gasLimit: 100_000,
                    data: Bytes::new(),
                };
                let mut txs = honest.transactions.clone();
                // The deposit from the thief used its nonce 0.
                txs.push(l2_call(
                    &thief,
                    1,
                    L2_TO_L1_MESSAGE_PASSER,
                    eth(5),
                    withdraw.abi_encode(),
                ));
                let block =
                    rogue_block(&faulty, honest.timestamp, honest.l1_origin, &deposits, &txs);
                let passed = block
                    .receipts
                    .iter()
                    .flat_map(|r| r.logs().to_vec())
                    .filter_map(|l| {
                        IL2ToL1MessagePasser::MessagePassed::decode_log_data(&l.data).ok()
                    })
                    .find(|e| e.sender == thief.address)
                    .unwrap();
                forged = Some((
                    Withdrawal {
                        nonce: passed.nonce,
                        sender: passed.sender,
                        target: passed.target,
                        value: passed.value,
                        gas_limit: passed.gasLimit,
                        data: passed.data,
                    },
                    4,
                ));
                block
            }
            Fault::InvalidBatch => rogue_block(
                &faulty,
                honest.timestamp,
                honest.l1_origin,
                &due,
                &honest.transactions,
            ),
            _ => unreachable!(),
        };
        faulty.storage.commit(&block.into_commit()).unwrap();
    }
    let roots = (3..=4)
        .map(|number| {
            let honest = output_at(&b.l2.storage.read().unwrap(), number)
                .unwrap()
                .unwrap();
            if fault.is_tweak() {
                let header =
                    b.l2.storage
                        .read()
                        .unwrap()
                        .header(number)
                        .unwrap()
                        .unwrap();
                fault.tweak(&header, &honest)
            } else if number < wrong_block {
                honest.output_root
            } else {
                output_at(&faulty.storage.read().unwrap(), number)
                    .unwrap()
                    .unwrap()
                    .output_root
            }
        })
        .collect::<Vec<_>>();
    assert_ne!(
        roots,
        proposal(&b.l2.storage.read().unwrap(), 3, 4)
            .unwrap()
            .unwrap()
            .block_roots
    );
    let claim = Claim {
        index: 1,
        first_block: 3,
        roots,
    };
    b.propose_claim(FAULTY, &claim);
    // An honest output on top of the wrong one.
    if fault == Fault::ValidAfterWrong {
        for _ in 0..INTERVAL {
            b.mine_l2(Vec::new());
        }
        b.post_batches();
        let honest = proposal(&b.l2.storage.read().unwrap(), 5, 6)
            .unwrap()
            .unwrap();
        b.propose_claim(
            PROPOSER,
            &Claim {
                index: 2,
                first_block: 5,
                roots: honest.block_roots,
            },
        );
    }
    std::mem::forget(dir); // the faulty chain's files live as long as the test process
    Scenario {
        b,
        faulty,
        claim,
        wrong_block,
        forged,
    }
}

pub(crate) fn origin_of(header: &Header) -> L1Origin {
    L1Origin {
        number: header.number,
        hash: header.hash_slow(),
        timestamp: header.timestamp,
        base_fee: header.base_fee_per_gas.unwrap_or_default(),
    }
}

pub(crate) fn executed(chain: &Chain, inputs: &L2BlockInputs) -> ExecutedBlock {
    let reader = chain.storage.read().unwrap();
    execute_l2_block(
        (&reader).into(),
        LatestState(&reader),
        &chain.config,
        &chain.head(),
        inputs,
    )
    .unwrap()
    .executed
}

pub(crate) fn replay(chain: &Chain, inputs: &L2BlockInputs) {
    let block = executed(chain, inputs);
    chain.storage.commit(&block.into_commit()).unwrap();
}

impl Bridge {
    /// Proposes `claim` from dev account `from` with the minimum bond; it must be accepted.
    pub(crate) fn propose_claim(&mut self, from: usize, claim: &Claim) {
        let call = IOutputOracle::proposeOutputCall {
            outputRoot: *claim.roots.last().unwrap(),
            l2BlockNumber: claim.last_block(),
            parentOutputRoot: self.parent_on_l1(),
            blockRoots: claim.roots.clone(),
        };
        let tx = self.l1_tx(
            from,
            OUTPUT_ORACLE,
            BridgeParams::dev().min_bond,
            call.abi_encode(),
        );
        assert!(
            self.mine_l1(vec![tx], 1)[0].status(),
            "output {} proposed",
            claim.index
        );
    }

    /// Where L2 block `number`'s inputs sit on L1.
    pub(crate) fn on_l1(&self, number: u64) -> OnL1 {
        let (sequence, (batch, _, _)) = self
            .batches
            .iter()
            .enumerate()
            .find(|(_, (_, first, last))| (*first..=*last).contains(&number))
            .unwrap();
        let origin = self.inputs[&number].l1_origin.number;
        OnL1 {
            batch_sequence: sequence as u64,
            batch: batch.clone(),
            origin_header: self
                .l1
                .storage
                .read()
                .unwrap()
                .header(origin)
                .unwrap()
                .unwrap(),
        }
    }

    /// The challenger's call against block `number` of `claim`, from the honest node.
    pub(crate) fn challenge_of(&self, claim: &Claim, number: u64) -> IDisputeGame::Challenge {
        challenger::challenge(
            &self.l2.storage.read().unwrap(),
            &self.l2.config,
            claim,
            number,
            &self.on_l1(number),
            &self.inputs[&number],
        )
        .unwrap()
    }

    /// Sends a challenge with the minimum bond: `Some(won)` if it went through, `None` if it
    /// reverted.
    pub(crate) fn send_challenge(&mut self, c: IDisputeGame::Challenge) -> Option<bool> {
        let call = IDisputeGame::challengeCall { c };
        // As the challenger sends it: as much gas as an L1 block has, so re-executing any L2
        // block is paid for.
        let tx = self.l1_tx_with_gas(
            CHALLENGER,
            DISPUTE_GAME,
            BridgeParams::dev().min_bond,
            call.abi_encode(),
            self.l1.config.gas_limit,
        );
        let receipt = self.mine_l1(vec![tx], 1).remove(0);
        if !receipt.status() {
            if std::env::var("TANDEM_TEST_DEBUG").is_ok() {
                eprintln!("challenge reverted: {:?}", self.last_results[0]);
            }
            return None;
        }
        let event = receipt
            .logs()
            .iter()
            .find_map(|l| IDisputeGame::Challenged::decode_log_data(&l.data).ok())
            .unwrap();
        Some(event.won)
    }

    pub(crate) fn l1_balance(&self, address: Address) -> U256 {
        self.l1.balance(address)
    }
}

/// A call of EXECUTE on L2 block `inputs` after the output `parent`, over `witness`.
pub(crate) fn execute_call(
    parent: &tandem_rollup::outputs::Output,
    inputs: &L2BlockInputs,
    witness: &tandem_execution::witness::ExecutionWitness,
) -> tandem_execution::system::IExecute::executeCall {
    tandem_execution::system::IExecute::executeCall {
        parentStateRoot: parent.state_root,
        parentMessagePasserRoot: parent.message_passer_storage_root,
        parentBlockHash: parent.block_hash,
        inputs: tandem_execution::stateless::encode_inputs(inputs),
        witness: alloy_rlp::encode(witness).into(),
    }
}

/// The L1 fee the challenger paid for its last transaction.
fn last_fee(b: &Bridge) -> U256 {
    let reader = b.l1.storage.read().unwrap();
    let head = reader.last_height().unwrap();
    let header = reader.header(head).unwrap().unwrap();
    let receipts = reader.receipts(head).unwrap().unwrap();
    let gas = receipts.last().unwrap().cumulative_gas_used();
    U256::from(gas) * U256::from(header.base_fee_per_gas.unwrap() + 1)
}

#[test]
fn the_challenger_wins_against_every_kind_of_wrong_output() {
    let bond = BridgeParams::dev().min_bond;
    for fault in FAULTS {
        let Scenario {
            mut b,
            faulty,
            claim,
            wrong_block,
            forged,
        } = scenario(fault);
        let count = b.output_count();
        // The challenger finds the first wrong block from its own chain.
        let verdict = challenger::check(&b.l2.storage.read().unwrap(), &claim).unwrap();
        assert_eq!(verdict, Verdict::Wrong(wrong_block), "{fault:?}");
        // A withdrawal only the wrong output holds has a proof against it, but not final yet.
        if let Some((withdrawal, block)) = &forged {
            assert!(
                !b.finalize(forged_proof(&faulty, withdrawal, 1, *block)),
                "{fault:?}"
            );
        }
        let (challenger_before, faulty_before, oracle_before) = (
            b.l1_balance(dev_address(CHALLENGER)),
            b.l1_balance(dev_address(FAULTY)),
            b.l1_balance(OUTPUT_ORACLE),
        );
        let challenge = b.challenge_of(&claim, wrong_block);
        assert_eq!(b.send_challenge(challenge), Some(true), "{fault:?}");
        let fee = last_fee(&b);
        // The wrong output and every later one are gone; the bonds moved.
        assert_eq!(b.output_count(), 1, "{fault:?}");
        assert!(count >= 2);
        let burn = bond / U256::from(BURN_DIVISOR);
        assert_eq!(
            b.l1_balance(dev_address(CHALLENGER)) + fee,
            challenger_before + bond - burn,
            "{fault:?}: the challenger gets its bond back and the wrong bond less the burn"
        );
        assert_eq!(
            b.l1_balance(dev_address(FAULTY)),
            faulty_before,
            "{fault:?}"
        );
        assert_eq!(b.l1_balance(DISPUTE_GAME), U256::ZERO);
        let later_bonds = bond * U256::from(count - 2);
        assert_eq!(
            b.l1_balance(OUTPUT_ORACLE),
            oracle_before - bond - later_bonds,
            "{fault:?}: later outputs' bonds went back to their proposers"
        );
        // The honest proposer proposes again, and that output stands against a challenge.
        b.propose();
        assert!(b.output_count() >= 2, "{fault:?}");
        let honest = Claim {
            index: 1,
            first_block: 3,
            roots: proposal(&b.l2.storage.read().unwrap(), 3, 4)
                .unwrap()
                .unwrap()
                .block_roots,
        };
        assert_eq!(
            challenger::check(&b.l2.storage.read().unwrap(), &honest).unwrap(),
            Verdict::Agrees
        );
        // The forged withdrawal can never be finalized: not against the honest output, even final.
        if let Some((withdrawal, block)) = &forged {
            b.mine_l1(Vec::new(), WINDOW + 1);
            assert!(
                !b.finalize(forged_proof(&faulty, withdrawal, 1, *block)),
                "{fault:?}"
            );
        }
    }
}

#[test]
fn unchallenged_a_forged_withdrawal_would_be_paid() {
    // What the challenger prevents: the same forged output, left alone for the window.
    let Scenario {
        mut b,
        faulty,
        forged,
        ..
    } = scenario(Fault::ForgedWithdrawal);
    let (withdrawal, block) = forged.unwrap();
    let before = b.l1_balance(withdrawal.target);
    b.mine_l1(Vec::new(), WINDOW + 1);
    assert!(b.finalize(forged_proof(&faulty, &withdrawal, 1, block)));
    assert_eq!(b.l1_balance(withdrawal.target), before + eth(5));
}

pub(crate) fn dev_address(i: usize) -> Address {
    tandem_primitives::dev::accounts()[i].address
}

/// The Portal call finalizing `withdrawal` with a proof from the faulty chain's block `block`,
/// claimed under output `index`.
pub(crate) fn forged_proof(
    faulty: &Chain,
    withdrawal: &Withdrawal,
    index: u64,
    block: u64,
) -> Bytes {
    let reader = faulty.storage.read().unwrap();
    let output = output_at(&reader, block).unwrap().unwrap();
    let slot = B256::from(tandem_execution::system::message_passer::sent_message_slot(
        withdrawal.hash(),
    ));
    let proof =
        tandem_state::prove(&reader, output.state_root, L2_TO_L1_MESSAGE_PASSER, &[slot]).unwrap();
    assert!(
        !proof.storage[0].value.is_zero(),
        "the faulty chain holds the withdrawal"
    );
    IPortal::finalizeWithdrawalCall {
        withdrawal: IPortal::Withdrawal {
            nonce: withdrawal.nonce,
            sender: withdrawal.sender,
            target: withdrawal.target,
            value: withdrawal.value,
            gasLimit: withdrawal.gas_limit,
            data: withdrawal.data.clone(),
        },
        outputIndex: U256::from(index),
        outputRootProof: IPortal::OutputRootProof {
            version: B256::ZERO,
            stateRoot: output.state_root,
            messagePasserStorageRoot: output.message_passer_storage_root,
            blockHash: output.block_hash,
        },
        withdrawalProof: proof.storage[0].proof.clone(),
    }
    .abi_encode()
    .into()
}

#[test]
fn honest_outputs_survive_every_challenge_and_bogus_ones_change_nothing() {
    let bond = BridgeParams::dev().min_bond;
    let Scenario { mut b, .. } = scenario(Fault::Fee);
    // Replace the wrong output with the honest one first.
    let wrong = b.challenge_of(&challenger_claim(&b, 1), 4);
    assert_eq!(b.send_challenge(wrong), Some(true));
    b.propose();
    let honest = challenger_claim(&b, 1);
    assert_eq!(
        challenger::check(&b.l2.storage.read().unwrap(), &honest).unwrap(),
        Verdict::Agrees
    );
    let proposer = dev_address(PROPOSER);
    // A challenge of each honest block, with honest data: it loses and the bond goes to the proposer.
    for number in 3..=4 {
        let before = (
            b.l1_balance(dev_address(CHALLENGER)),
            b.l1_balance(proposer),
        );
        let c = b.challenge_of(&honest, number);
        assert_eq!(b.send_challenge(c), Some(false), "block {number}");
        let fee = last_fee(&b);
        assert_eq!(b.l1_balance(dev_address(CHALLENGER)) + fee + bond, before.0);
        assert_eq!(b.l1_balance(proposer), before.1 + bond);
        assert_eq!(b.output_count(), 2);
    }
    // Bogus challenges: each reverts and changes nothing but the challenger's gas.
    let base = b.challenge_of(&honest, 4);
    let mut bogus: Vec<(&str, IDisputeGame::Challenge)> = Vec::new();
    let mut c = base.clone();
    c.claimedRoot = B256::repeat_byte(7);
    bogus.push(("a root the output does not claim", c));
    let mut c = base.clone();
    c.parent.stateRoot = B256::repeat_byte(7);
    bogus.push(("a parent the output does not claim", c));
    let mut c = base.clone();
    let mut batch = c.batch.to_vec();
    batch.push(0);
    c.batch = batch.into();
    bogus.push(("batch bytes L1 does not hold", c));
    let mut c = base.clone();
    c.batchSequence = 0;
    bogus.push(("a batch that does not carry the block", c));
    let mut c = base.clone();
    c.queue.pop();
    bogus.push(("a due deposit left out", c));
    let mut c = base.clone();
    c.queue.reverse();
    bogus.push(("deposits reordered", c));
    let mut c = base.clone();
    let mut origin = alloy_rlp::decode_exact::<Header>(&c.l1OriginHeader).unwrap();
    origin.timestamp += 1;
    c.l1OriginHeader = alloy_rlp::encode(&origin).into();
    bogus.push(("an origin header L1 does not have", c));
    let mut witness: tandem_execution::witness::ExecutionWitness =
        alloy_rlp::decode_exact(&base.witness).unwrap();
    witness.state.pop();
    let mut c = base.clone();
    c.witness = alloy_rlp::encode(&witness).into();
    bogus.push(("a witness missing a node", c));
    let mut c = base;
    c.outputIndex = U256::from(0);
    bogus.push(("the wrong output", c));
    for (what, c) in bogus {
        let before = (
            b.l1_balance(dev_address(CHALLENGER)),
            b.l1_balance(proposer),
        );
        assert_eq!(b.send_challenge(c), None, "{what}");
        let fee = last_fee(&b);
        assert_eq!(
            b.l1_balance(dev_address(CHALLENGER)) + fee,
            before.0,
            "{what}"
        );
        assert_eq!(b.l1_balance(proposer), before.1, "{what}");
        assert_eq!(b.output_count(), 2, "{what}");
    }
    // Once final, an output cannot be challenged at all.
    b.mine_l1(Vec::new(), WINDOW + 1);
    let c = b.challenge_of(&honest, 4);
    assert_eq!(b.send_challenge(c), None, "a final output");
}

/// The claim of output `index` as L1 holds it (from the OutputBlockRoots log).
pub(crate) fn challenger_claim(b: &Bridge, index: u64) -> Claim {
    let reader = b.l1.storage.read().unwrap();
    let head = reader.last_height().unwrap();
    for number in (0..=head).rev() {
        for receipt in reader.receipts(number).unwrap().unwrap_or_default() {
            for log in receipt.logs() {
                if log.address != OUTPUT_ORACLE {
                    continue;
                }
                if let Ok(e) = IOutputOracle::OutputBlockRoots::decode_log_data(&log.data)
                    && e.index == U256::from(index)
                {
                    return Claim {
                        index,
                        first_block: index * INTERVAL + 1,
                        roots: e.blockRoots,
                    };
                }
            }
        }
    }
    panic!("no output {index}")
}

#[test]
fn over_a_long_randomized_run_no_challenge_of_an_honest_output_succeeds() {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    let mut b = Bridge::new();
    let mut rng = StdRng::seed_from_u64(21);
    let users: Vec<_> = (10..14).map(fresh).collect();
    b.fund(&users.iter().map(|u| u.address).collect::<Vec<_>>(), eth(5));
    let (mut upheld, mut refused) = (0, 0);
    for round in 0..40 {
        if rng.random_bool(0.3) {
            let user = &users[rng.random_range(0..users.len())];
            let from = rng.random_range(0..4);
            let tx = b.l1_tx(
                from,
                PORTAL,
                eth(1),
                deposit_call(user.address, eth(1), 100_000, vec![]),
            );
            b.mine_l1(vec![tx], 1);
        }
        let mut txs = Vec::new();
        for user in &users {
            if rng.random_bool(0.5) {
                continue;
            }
            let nonce = b.l2.nonce(user.address);
            let to = users[rng.random_range(0..users.len())].address;
            txs.push(if rng.random_bool(0.3) {
                let call = IL2ToL1MessagePasser::initiateWithdrawalCall {
                    to,
                    gasLimit: 100_000,
                    data: Bytes::new(),
                };
                l2_call(
                    user,
                    nonce,
                    L2_TO_L1_MESSAGE_PASSER,
                    U256::from(rng.random_range(1..1_000u64)),
                    call.abi_encode(),
                )
            } else {
                l2_call(
                    user,
                    nonce,
                    to,
                    U256::from(rng.random_range(1..1_000u64)),
                    vec![],
                )
            });
        }
        b.mine_l2(txs);
        if round % INTERVAL as usize != 1 {
            continue;
        }
        let count = b.output_count();
        b.propose();
        assert_eq!(b.output_count(), count + 1);
        // An honest challenge of a random block of the new output: upheld, the bond lost.
        let index = count;
        let claim = challenger_claim(&b, index);
        let number = claim.first_block + rng.random_range(0..INTERVAL);
        let honest = b.challenge_of(&claim, number);
        assert_eq!(
            b.send_challenge(honest.clone()),
            Some(false),
            "output {index} block {number}"
        );
        upheld += 1;
        // And a bogus one: refused, nothing changes.
        let mut bogus = honest;
        match rng.random_range(0..4) {
            0 => bogus.claimedRoot = B256::from(rng.random::<[u8; 32]>()),
            1 => {
                let mut w: tandem_execution::witness::ExecutionWitness =
                    alloy_rlp::decode_exact(&bogus.witness).unwrap();
                let at = rng.random_range(0..w.state.len());
                w.state.remove(at);
                bogus.witness = alloy_rlp::encode(&w).into();
            }
            2 => {
                let mut batch = bogus.batch.to_vec();
                let at = rng.random_range(0..batch.len());
                batch[at] ^= 1;
                bogus.batch = batch.into();
            }
            _ => bogus.parent.blockHash = B256::from(rng.random::<[u8; 32]>()),
        }
        assert_eq!(
            b.send_challenge(bogus),
            None,
            "a bogus challenge of output {index}"
        );
        refused += 1;
        assert_eq!(b.output_count(), count + 1, "no honest output was removed");
    }
    assert!(upheld >= 20 && refused >= 20);
}

#[test]
fn the_execute_precompile_returns_the_node_s_output_and_reverts_on_a_bad_witness() {
    use tandem_execution::{
        revm::context_interface::result::ExecutionResult, system::IExecute,
        witness::execution_witness_for,
    };
    let Scenario { mut b, .. } = scenario(Fault::StateRoot);
    let number = 4;
    let reader = b.l2.storage.read().unwrap();
    let parent = output_at(&reader, number - 1).unwrap().unwrap();
    let own = output_at(&reader, number).unwrap().unwrap();
    let inputs = b.inputs[&number].clone();
    let witness = execution_witness_for(&reader, &b.l2.config, number, &inputs).unwrap();
    drop(reader);
    let call = |witness: &tandem_execution::witness::ExecutionWitness| {
        execute_call(&parent, &inputs, witness)
    };
    let mut run = |input: Vec<u8>| {
        let tx = b.l1_tx(
            CHALLENGER,
            tandem_primitives::system::EXECUTE,
            U256::ZERO,
            input,
        );
        b.mine_l1(vec![tx], 1);
        b.last_results[0].clone()
    };
    // Anyone may call it: the output root the node has.
    match run(call(&witness).abi_encode()) {
        ExecutionResult::Success { output, .. } => {
            let got = IExecute::executeCall::abi_decode_returns(output.data()).unwrap();
            assert_eq!(got.outputRoot, own.output_root);
            assert_eq!(got.stateRoot, own.state_root);
            assert_eq!(got.blockHash, own.block_hash);
        }
        other => panic!("{other:?}"),
    }
    // A witness missing a node: ExecutionFailed, never a root.
    let mut partial = witness;
    partial.state.pop();
    match run(call(&partial).abi_encode()) {
        ExecutionResult::Revert { output, .. } => {
            assert!(IExecute::ExecutionFailed::abi_decode(&output).is_ok())
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_challenge_past_eip_7825_s_cap_lands_in_one_l1_block_and_wins() {
    use tandem_execution::revm::primitives::eip7825::TX_GAS_LIMIT_CAP;
    let mut b = Bridge::new();
    let users: Vec<_> = (0..6).map(|i| fresh(100 + i)).collect();
    b.fund(&users.iter().map(|u| u.address).collect::<Vec<_>>(), eth(1));
    b.mine_l2(Vec::new());
    b.mine_l2(Vec::new());
    b.propose();
    // Block 3: 900 transfers to new accounts: its challenge needs more gas than EIP-7825 allows.
    let transfers = (0..900u64)
        .map(|i| {
            let to = Address::from_word(alloy_primitives::keccak256(i.to_be_bytes()));
            l2_call(&users[(i % 6) as usize], i / 6, to, U256::from(1), vec![])
        })
        .collect();
    b.mine_l2(transfers);
    assert_eq!(
        b.l2.storage
            .read()
            .unwrap()
            .block(3)
            .unwrap()
            .unwrap()
            .block
            .transactions
            .len(),
        900
    );
    b.mine_l2(Vec::new());
    b.post_batches();
    let honest = proposal(&b.l2.storage.read().unwrap(), 3, 4)
        .unwrap()
        .unwrap();
    let header = b.l2.storage.read().unwrap().header(3).unwrap().unwrap();
    let mut roots = honest.block_roots;
    roots[0] = Fault::StateRoot.tweak(
        &header,
        &output_at(&b.l2.storage.read().unwrap(), 3)
            .unwrap()
            .unwrap(),
    );
    let claim = Claim {
        index: 1,
        first_block: 3,
        roots,
    };
    b.propose_claim(FAULTY, &claim);
    let call = IDisputeGame::challengeCall {
        c: b.challenge_of(&claim, 3),
    };
    let gas = b.l1.config.gas_limit;
    let tx = b.l1_tx_with_gas(
        CHALLENGER,
        DISPUTE_GAME,
        BridgeParams::dev().min_bond,
        call.abi_encode(),
        gas,
    );
    let receipt = b.mine_l1(vec![tx], 1).remove(0);
    assert!(receipt.status(), "{:?}", b.last_results[0]);
    let used = receipt.cumulative_gas_used();
    assert!(used > TX_GAS_LIMIT_CAP, "the challenge used {used} gas");
    // Within the bound every L1 that carries this L2 was checked against at genesis.
    let bound = tandem_execution::challenge_cost::max_challenge_cost(&b.l2.config);
    assert!(used <= bound.gas, "{used} > {bound:?}");
    assert!((call.abi_encode().len() as u64) < bound.calldata_bytes);
    let event = receipt
        .logs()
        .iter()
        .find_map(|l| IDisputeGame::Challenged::decode_log_data(&l.data).ok())
        .unwrap();
    assert!(event.won);
    assert_eq!(b.output_count(), 1, "the wrong output is gone");
    // Any other call is held to the cap.
    let tx = b.l1_tx_with_gas(
        CHALLENGER,
        OUTPUT_ORACLE,
        U256::ZERO,
        vec![],
        TX_GAS_LIMIT_CAP + 1,
    );
    assert!(matches!(
        b.try_l1(tx),
        Err(tandem_execution::Error::InvalidTx { .. })
    ));
}

/// `calls` from dev account `from` with consecutive nonces, for one L1 block.
pub(crate) fn l1_txs_from(
    b: &Bridge,
    from: usize,
    calls: Vec<(Address, U256, Vec<u8>)>,
) -> Vec<(TxEnvelope, Address)> {
    let account = &tandem_primitives::dev::accounts()[from];
    let nonce = b.l1.nonce(account.address);
    calls
        .into_iter()
        .enumerate()
        .map(|(i, (to, value, input))| {
            let tx = alloy_consensus::TxEip1559 {
                chain_id: tandem_primitives::ChainConfig::L1_DEV_CHAIN_ID,
                nonce: nonce + i as u64,
                gas_limit: 3_000_000,
                max_fee_per_gas: 100_000_000_000,
                max_priority_fee_per_gas: 1,
                to: alloy_primitives::TxKind::Call(to),
                value,
                input: input.into(),
                ..Default::default()
            };
            (account.sign(tx), account.address)
        })
        .collect()
}

/// Seventeen deposits of 2M gas each queued in one L1 block: their gas limits add up past the L2
/// block's 30M, but each uses about 21,000, so the state transition takes all seventeen into L2
/// block 3. Returns the bridge with blocks 1-4 mined and batched and output 0 (blocks 1-2) honest.
fn seventeen_deposits_of_2m_gas() -> Bridge {
    use tandem_execution::system::portal::MAX_QUEUED_GAS;
    let mut b = Bridge::new();
    b.mine_l2(Vec::new());
    b.mine_l2(Vec::new());
    b.propose();
    let deposits = (0..17u64)
        .map(|i| {
            let to = fresh(300 + i).address;
            (
                PORTAL,
                eth(1),
                deposit_call(to, eth(1), MAX_QUEUED_GAS, vec![]),
            )
        })
        .collect();
    let txs = l1_txs_from(&b, 0, deposits);
    assert!(b.mine_l1(txs, 1).iter().all(|r| r.status()));
    let block = b.mine_l2(Vec::new());
    let header = block.executed.block.header();
    assert_eq!(
        L1Origin::queued_of(header),
        17,
        "block 3 takes all seventeen"
    );
    assert!(17 * MAX_QUEUED_GAS > b.l2.config.gas_limit);
    b.mine_l2(Vec::new());
    b.post_batches();
    b
}

#[test]
fn an_honest_block_that_takes_17_deposits_of_2m_gas_survives_a_challenge_that_hands_it_16() {
    let mut b = seventeen_deposits_of_2m_gas();
    b.propose();
    let honest = challenger_claim(&b, 1);
    let full = b.challenge_of(&honest, 3);
    assert_eq!(
        full.queue.len(),
        17,
        "the block took 17 and L1 holds no 18th"
    );
    // Shortened: EXECUTE would build a block with 16 deposits and call the honest output wrong.
    for keep in [16, 10, 1, 0] {
        let mut short = full.clone();
        short.queue.truncate(keep);
        assert_eq!(
            b.send_challenge(short),
            None,
            "a list of {keep} of 17 is refused"
        );
        assert_eq!(b.output_count(), 2);
    }
    // The whole list: the honest output stands and the challenger's bond goes to its proposer.
    assert_eq!(b.send_challenge(full), Some(false));
    assert_eq!(b.output_count(), 2);
}

#[test]
fn a_wrong_output_over_17_deposits_of_2m_gas_is_removed_by_the_shipped_challenger() {
    let mut b = seventeen_deposits_of_2m_gas();
    // The faulty proposer claims block 3 took 16 deposits, and anything it likes for block 4.
    let faulty_dir = tempfile::tempdir().unwrap();
    let faulty = Chain::new(&faulty_dir, "faulty", &genesis::dev_l2_genesis());
    for number in 1..=2 {
        replay(&faulty, &b.inputs[&number]);
    }
    let mut sixteen = b.inputs[&3].clone();
    let from = L1Origin::queue_index_of(&faulty.head());
    sixteen.queue.retain(|e| e.index >= from);
    sixteen.queue.truncate(16);
    replay(&faulty, &sixteen);
    assert_eq!(L1Origin::queued_of(&faulty.head()), 16);
    let roots = (3..=4)
        .map(|number| match number {
            3 => {
                output_at(&faulty.storage.read().unwrap(), 3)
                    .unwrap()
                    .unwrap()
                    .output_root
            }
            _ => B256::repeat_byte(0x44),
        })
        .collect();
    let claim = Claim {
        index: 1,
        first_block: 3,
        roots,
    };
    b.propose_claim(FAULTY, &claim);
    let on_l1 = challenger_claim(&b, 1);
    assert_eq!(
        challenger::check(&b.l2.storage.read().unwrap(), &on_l1).unwrap(),
        Verdict::Wrong(3)
    );
    let c = b.challenge_of(&on_l1, 3);
    assert_eq!(b.send_challenge(c), Some(true), "the wrong output loses");
    assert_eq!(b.output_count(), 1);
    // A challenge built on the faulty node's 16 would agree with the claim: it is refused, so
    // a challenger following the claim cannot be made to lose its bond on it.
    b.propose_claim(FAULTY, &claim);
    let mut agreeing = b.challenge_of(&claim, 3);
    agreeing.queue.truncate(16);
    assert_eq!(b.send_challenge(agreeing), None);
}

#[test]
fn the_l1_genesis_of_tandem_dev_and_setup_can_dispute_output_0() {
    // Bridge::new starts L1 from `tandem_execution::dev_genesis`, as `tandem dev`, `tandem setup`
    // and `tandem devnet` do.
    let g1 = tandem_execution::dev_genesis(tandem_primitives::ChainConfig::L1_DEV_CHAIN_ID);
    let expected = tandem_execution::genesis_output(&genesis::dev_l2_genesis())
        .unwrap()
        .root();
    let slot = tandem_execution::system::dispute_game::GENESIS_OUTPUT_SLOT;
    assert_eq!(
        g1.alloc[&DISPUTE_GAME].storage.as_ref().unwrap()[&B256::from(slot)],
        expected
    );
    let mut b = Bridge::new();
    b.mine_l2(Vec::new());
    b.mine_l2(Vec::new());
    b.post_batches();
    let honest = proposal(&b.l2.storage.read().unwrap(), 1, 2)
        .unwrap()
        .unwrap();
    let mut roots = honest.block_roots;
    roots[0] = B256::repeat_byte(0x01);
    let claim = Claim {
        index: 0,
        first_block: 1,
        roots,
    };
    b.propose_claim(FAULTY, &claim);
    let c = b.challenge_of(&claim, 1);
    assert_eq!(b.send_challenge(c), Some(true), "a wrong L2 block 1 loses");
    assert_eq!(b.output_count(), 0);
    // And the honest output 0 stands against a challenge of block 1.
    b.propose();
    let c = b.challenge_of(&challenger_claim(&b, 0), 1);
    assert_eq!(b.send_challenge(c), Some(false));
    assert_eq!(b.output_count(), 1);
}

#[test]
fn an_honest_proposer_never_builds_on_a_wrong_output_so_its_parent_cannot_be_used_against_it() {
    let Scenario { mut b, claim, .. } = scenario(Fault::ExtraTransaction);
    // Output 1 is wrong (an extra transaction in block 4) and has a consistent state behind it.
    for _ in 0..INTERVAL {
        b.mine_l2(Vec::new());
    }
    b.post_batches();
    let honest = proposal(&b.l2.storage.read().unwrap(), 5, 6)
        .unwrap()
        .unwrap();
    let own_parent = output_at(&b.l2.storage.read().unwrap(), 4)
        .unwrap()
        .unwrap()
        .output_root;
    assert_ne!(own_parent, *claim.roots.last().unwrap());
    // The honest proposer names its own parent: L1 holds another, so the proposal is refused.
    let call = IOutputOracle::proposeOutputCall {
        outputRoot: honest.output.output_root,
        l2BlockNumber: 6,
        parentOutputRoot: own_parent,
        blockRoots: honest.block_roots,
    };
    let tx = b.l1_tx(
        PROPOSER,
        OUTPUT_ORACLE,
        BridgeParams::dev().min_bond,
        call.abi_encode(),
    );
    let receipt = b.mine_l1(vec![tx], 1).remove(0);
    assert!(!receipt.status());
    match &b.last_results[0] {
        tandem_execution::revm::context_interface::result::ExecutionResult::Revert {
            output,
            ..
        } => {
            let e = IOutputOracle::WrongParent::abi_decode(output).unwrap();
            assert_eq!(
                (e.stored, e.given),
                (*claim.roots.last().unwrap(), own_parent)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(b.output_count(), 2);
    // The wrong output is removed by the honest challenger.
    let c = b.challenge_of(&challenger_claim(&b, 1), 4);
    assert_eq!(b.send_challenge(c), Some(true));
    assert_eq!(b.output_count(), 1);
    // Now the honest proposer's parent is L1's, and its outputs go on.
    b.proposed_to = 2;
    b.propose();
    assert_eq!(b.output_count(), 3);
}

#[test]
fn execute_refuses_a_parent_numbered_u64_max_and_charges_for_senders_before_recovering_them() {
    use tandem_execution::{
        revm::context_interface::result::ExecutionResult, system::IExecute,
        witness::execution_witness_for,
    };
    let Scenario { mut b, .. } = scenario(Fault::StateRoot);
    let number = 4;
    let reader = b.l2.storage.read().unwrap();
    let inputs = b.inputs[&number].clone();
    let mut witness = execution_witness_for(&reader, &b.l2.config, number, &inputs).unwrap();
    let parent = output_at(&reader, number - 1).unwrap().unwrap();
    drop(reader);
    // The caller's parent header, renumbered u64::MAX (its state root and the witness stay
    // consistent): refused, not an overflow inside L1 block building.
    let mut header: Header = alloy_rlp::decode_exact(&witness.headers[0]).unwrap();
    header.number = u64::MAX;
    witness.headers = vec![alloy_rlp::encode(&header).into()];
    let call = IExecute::executeCall {
        parentBlockHash: header.hash_slow(),
        ..execute_call(&parent, &inputs, &witness)
    };
    let revert_reason = |b: &mut Bridge, input: Vec<u8>, gas: u64| {
        let tx = b.l1_tx_with_gas(
            CHALLENGER,
            tandem_primitives::system::EXECUTE,
            U256::ZERO,
            input,
            gas,
        );
        b.mine_l1(vec![tx], 1);
        match b.last_results[0].clone() {
            ExecutionResult::Revert { output, .. } => {
                IExecute::ExecutionFailed::abi_decode(&output)
                    .unwrap()
                    .reason
            }
            other => panic!("{other:?}"),
        }
    };
    let reason = revert_reason(&mut b, call.abi_encode(), 3_000_000);
    assert!(
        reason.contains("u64::MAX") || reason.contains("18446744073709551615"),
        "{reason}"
    );
    // Many signed transactions and gas for their bytes but not their senders: refused before
    // any sender is recovered.
    let user = fresh(77);
    let mut many = inputs;
    many.transactions = (0..500)
        .map(|nonce| l2_call(&user, nonce, user.address, U256::ONE, vec![]))
        .collect();
    let call = execute_call(&parent, &many, &witness);
    let reason = revert_reason(&mut b, call.abi_encode(), 2_500_000);
    assert_eq!(reason, "out of gas before recovering senders");
}

#[test]
fn at_most_64_outputs_are_pending_so_a_winning_challenge_returns_every_later_bond_in_one_call() {
    use tandem_execution::system::output_oracle::MAX_PENDING_OUTPUTS;
    let mut b = Bridge::new();
    for _ in 0..MAX_PENDING_OUTPUTS * INTERVAL {
        b.mine_l2(Vec::new());
    }
    b.propose();
    assert_eq!(b.output_count(), MAX_PENDING_OUTPUTS);
    // One more, within the window of the first: refused.
    for _ in 0..INTERVAL {
        b.mine_l2(Vec::new());
    }
    b.post_batches();
    let tx = b.next_proposal();
    let receipt = b.mine_l1(vec![tx], 1).remove(0);
    assert!(!receipt.status());
    let refused = match &b.last_results[0] {
        tandem_execution::revm::context_interface::result::ExecutionResult::Revert {
            output,
            ..
        } => IOutputOracle::TooManyPending::abi_decode(output).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (refused.pending, refused.limit),
        (MAX_PENDING_OUTPUTS, MAX_PENDING_OUTPUTS)
    );
    // Once the first is final, the next goes in.
    b.mine_l1(Vec::new(), WINDOW);
    b.propose();
    assert_eq!(b.output_count(), MAX_PENDING_OUTPUTS + 1);
}
