//! Fuzzing, on stable Rust with proptest, of the decoders that take bytes from outside on the
//! rollup's path: the batch codec, EXECUTE's input and the DisputeGame's calldata (sent in real L1
//! transactions to the real precompiles), and raw transactions. Each starts from valid bytes and
//! mutates them (bit flips, truncation, insertion, splices) or takes random bytes.
//!
//! Cases: `PROPTEST_CASES` (200 by default here); a long run is
//! `PROPTEST_CASES=100000 cargo test -p tandem-rollup --test it fuzz -- --nocapture`.
//! A failure prints the seed proptest replays it from; a crash found becomes a regression test.
use crate::{
    bridge::Bridge,
    dispute::{CHALLENGER, Fault, Scenario, scenario},
};
use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use proptest::{prelude::*, test_runner::TestRunner};
use tandem_execution::{
    revm::context_interface::result::ExecutionResult,
    stateless::encode_inputs,
    system::{IDisputeGame, IExecute},
    witness::execution_witness_for,
};
use tandem_primitives::{
    BridgeParams, ChainConfig, TxEnvelope,
    system::{DISPUTE_GAME, EXECUTE},
};
use tandem_rollup::{AddressTable, Batch, Limits, outputs::output_at};

fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    TestRunner::new(ProptestConfig::with_cases(cases))
}

/// One way to damage bytes.
#[derive(Debug, Clone)]
enum Damage {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    /// Overwrite 32 bytes at a word boundary (an ABI offset or length) with a large number.
    Word(usize, u64),
}

fn damage() -> impl Strategy<Value = Vec<Damage>> {
    let one = prop_oneof![
        (any::<usize>(), 1u8..).prop_map(|(at, bit)| Damage::Flip(at, bit)),
        any::<usize>().prop_map(Damage::Truncate),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(at, b)| Damage::Insert(at, b)),
        (any::<usize>(), any::<u64>()).prop_map(|(at, v)| Damage::Word(at, v)),
    ];
    prop::collection::vec(one, 1..4)
}

fn apply(mut bytes: Vec<u8>, damage: &[Damage]) -> Vec<u8> {
    for d in damage {
        let len = bytes.len().max(1);
        match d {
            Damage::Flip(at, bit) => {
                if let Some(b) = bytes.get_mut(at % len) {
                    *b ^= bit;
                }
            }
            Damage::Truncate(at) => bytes.truncate(at % len),
            Damage::Insert(at, b) => {
                let at = (at % len).min(bytes.len());
                bytes.splice(at..at, b.iter().copied());
            }
            Damage::Word(at, v) => {
                let at = (at % len) / 32 * 32;
                if at + 32 <= bytes.len() {
                    bytes[at..at + 32].copy_from_slice(&U256::from(*v).to_be_bytes::<32>());
                }
            }
        }
    }
    bytes
}

/// Runs one L1 transaction from the challenger on top of L1's head without committing it, with
/// all the gas one may ask: a whole block for the DisputeGame, EIP-7825's cap otherwise.
fn run_on_l1(b: &Bridge, to: Address, value: U256, input: Vec<u8>) -> ExecutionResult {
    let gas =
        tandem_execution::tx_gas_limit_cap(b.l1.config.layer, to.into(), b.l1.config.gas_limit);
    match b.try_l1(b.l1_tx_with_gas(CHALLENGER, to, value, input, gas)) {
        Ok(outcome) => outcome.result,
        // Refused before execution (e.g. calldata too long for the gas): nothing ran.
        Err(_) => ExecutionResult::Revert {
            gas: Default::default(),
            output: Bytes::new(),
            logs: Vec::new(),
        },
    }
}

#[test]
fn no_damaged_challenge_of_an_honest_output_wins_or_crashes_l1() {
    let Scenario { mut b, claim, .. } = scenario(Fault::Fee);
    // The wrong output 1 out, the honest one in: every challenge below is of an honest output.
    let wrong = b.challenge_of(&claim, 4);
    assert_eq!(b.send_challenge(wrong), Some(true));
    b.propose();
    let honest = crate::dispute::challenger_claim(&b, 1);
    let calls: Vec<Vec<u8>> = (3..=4)
        .map(|n| {
            IDisputeGame::challengeCall {
                c: b.challenge_of(&honest, n),
            }
            .abi_encode()
        })
        .collect();
    let bond = BridgeParams::dev().min_bond;
    for call in &calls {
        let ExecutionResult::Success { logs, .. } = run_on_l1(&b, DISPUTE_GAME, bond, call.clone())
        else {
            panic!("the undamaged honest challenge runs");
        };
        let event = logs
            .iter()
            .find_map(|l| IDisputeGame::Challenged::decode_log_data(&l.data).ok())
            .unwrap();
        assert!(!event.won);
    }
    runner()
        .run(&(0..calls.len(), damage()), |(which, damage)| {
            let input = apply(calls[which].clone(), &damage);
            let mut won = 0;
            if let ExecutionResult::Success { logs, .. } = run_on_l1(&b, DISPUTE_GAME, bond, input)
            {
                won = logs
                    .iter()
                    .filter_map(|l| IDisputeGame::Challenged::decode_log_data(&l.data).ok())
                    .filter(|e| e.won)
                    .count();
            }
            prop_assert_eq!(won, 0, "a damaged challenge won against an honest output");
            Ok(())
        })
        .unwrap();
}

#[test]
fn execute_answers_damaged_input_with_a_revert_or_the_root_of_what_it_was_given() {
    let Scenario { b, .. } = scenario(Fault::StateRoot);
    let number = 4;
    let reader = b.l2.storage.read().unwrap();
    let parent = output_at(&reader, number - 1).unwrap().unwrap();
    let own = output_at(&reader, number).unwrap().unwrap();
    let inputs = b.inputs[&number].clone();
    let witness = execution_witness_for(&reader, &b.l2.config, number, &inputs).unwrap();
    drop(reader);
    let call = crate::dispute::execute_call(&parent, &inputs, &witness).abi_encode();
    // Undamaged, the node's root.
    match run_on_l1(&b, EXECUTE, U256::ZERO, call.clone()) {
        ExecutionResult::Success { output, .. } => {
            let got = IExecute::executeCall::abi_decode_returns(output.data()).unwrap();
            assert_eq!(got.outputRoot, own.output_root);
        }
        other => panic!("{other:?}"),
    }
    runner()
        .run(&damage(), |damage| {
            let input = apply(call.clone(), &damage);
            let decoded = IExecute::executeCall::abi_decode(&input);
            if let ExecutionResult::Success { output, .. } =
                run_on_l1(&b, EXECUTE, U256::ZERO, input)
            {
                // A root came back: the call decoded, and if it is the honest call, it is the
                // honest root.
                let decoded = decoded.expect("EXECUTE answered a call that does not decode");
                let got = IExecute::executeCall::abi_decode_returns(output.data()).unwrap();
                if decoded.inputs == encode_inputs(&inputs)
                    && decoded.witness.as_ref() == alloy_rlp::encode(&witness).as_slice()
                    && decoded.parentBlockHash == parent.block_hash
                {
                    prop_assert_eq!(got.outputRoot, own.output_root);
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_batch_codec_never_panics_on_damaged_or_random_bytes() {
    let Scenario { b, .. } = scenario(Fault::Fee);
    let batches: Vec<Vec<u8>> = b
        .batches
        .iter()
        .map(|(bytes, _, _)| bytes.to_vec())
        .collect();
    let table = AddressTable::default();
    let limits = Limits::default();
    let random = prop::collection::vec(any::<u8>(), 0..512);
    runner()
        .run(
            &(0..batches.len(), damage(), random, any::<bool>()),
            |(which, damage, random, use_random)| {
                let bytes = match use_random {
                    true => random,
                    false => apply(batches[which].clone(), &damage),
                };
                if let Ok((batch, _)) =
                    Batch::decode(&bytes, ChainConfig::L2_DEV_CHAIN_ID, &limits, &table)
                {
                    // Whatever decodes is whole: consecutive blocks, decoded the same again.
                    let again =
                        Batch::decode(&bytes, ChainConfig::L2_DEV_CHAIN_ID, &limits, &table)
                            .unwrap()
                            .0;
                    prop_assert_eq!(&batch, &again);
                    for pair in batch.blocks.windows(2) {
                        prop_assert_eq!(pair[1].number, pair[0].number + 1);
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn raw_transactions_decode_or_are_refused_without_panicking() {
    use alloy_eips::eip2718::{Decodable2718, Encodable2718};
    let user = crate::bridge::fresh(5);
    let valid: Vec<Vec<u8>> = (0..3)
        .map(|nonce| {
            crate::bridge::l2_call(&user, nonce, user.address, U256::from(nonce), vec![1, 2, 3])
                .tx
                .encoded_2718()
        })
        .collect();
    let pool = tandem_mempool::Mempool::new(
        Default::default(),
        ChainConfig::L2_DEV_CHAIN_ID,
        30_000_000,
        7,
    );
    let random = prop::collection::vec(any::<u8>(), 0..256);
    runner()
        .run(
            &(0..valid.len(), damage(), random, any::<bool>()),
            |(which, damage, random, use_random)| {
                let bytes = match use_random {
                    true => random,
                    false => apply(valid[which].clone(), &damage),
                };
                if let Ok(tx) = TxEnvelope::decode_2718_exact(&bytes) {
                    // What decodes re-encodes to the same bytes, and the pool's checks answer.
                    prop_assert_eq!(tx.encoded_2718(), bytes.clone());
                    let _ = pool.check_stateless(&tx, bytes.len());
                    let _ = tandem_execution::recover_sender(&tx);
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn aliased_abi_offsets_oversized_batches_and_forced_transactions_are_refused_before_any_work() {
    use tandem_execution::system::{IBatchInbox, IPortal};
    let Scenario { b, claim, .. } = scenario(Fault::Fee);
    // A challenge whose `queue` elements all point at one blob: a non-strict decoder copies the
    // blob once per element (megabytes per kilobyte sent) before any gas is charged.
    let mut c = b.challenge_of(&claim, 4);
    c.queue = vec![Bytes::from(vec![0xab; 4096]); 2];
    let honest = IDisputeGame::challengeCall { c }.abi_encode();
    // Find the queue's element offsets: the two words after the array length that precede the
    // first element's length word, and point both at the first element.
    let needle = U256::from(2u64).to_be_bytes::<32>();
    let at = honest
        .windows(32)
        .enumerate()
        .skip(4)
        .find(|(i, w)| *w == needle && (i - 4) % 32 == 0)
        .map(|(i, _)| i)
        .unwrap();
    let mut aliased = honest;
    let first = aliased[at + 32..at + 64].to_vec();
    aliased[at + 64..at + 96].copy_from_slice(&first);
    let bond = BridgeParams::dev().min_bond;
    match run_on_l1(&b, DISPUTE_GAME, bond, aliased) {
        ExecutionResult::Revert { output, gas, .. } => {
            assert!(
                output.starts_with(&IDisputeGame::BadCall::SELECTOR),
                "{output}"
            );
            assert!(gas.total_gas_spent() < 2_000_000);
        }
        other => panic!("{other:?}"),
    }
    // A batch past the bound, from the batcher itself.
    let call = IBatchInbox::submitBatchCall {
        sequence: b.batches.len() as u64,
        batch: vec![1u8; 128 * 1024 + 1].into(),
    };
    let outcome = b
        .try_l1(b.l1_tx_with_gas(
            tandem_primitives::dev::DEV_BATCHER,
            tandem_primitives::system::BATCH_INBOX,
            U256::ZERO,
            call.abi_encode(),
            16_000_000,
        ))
        .unwrap();
    assert!(
        !outcome.result.is_success(),
        "an oversized batch is refused"
    );
    // A forced transaction past the bound.
    let call = IPortal::forceTransactionCall {
        signedL2Tx: vec![2u8; tandem_execution::system::portal::MAX_FORCED_TX_BYTES + 1].into(),
    };
    match run_on_l1(
        &b,
        tandem_primitives::system::PORTAL,
        U256::ZERO,
        call.abi_encode(),
    ) {
        ExecutionResult::Revert { output, .. } => {
            assert!(output.starts_with(&IPortal::DataTooLarge::SELECTOR))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn batch_inbox_refuses_a_batch_the_batcher_sends_through_delegated_code() {
    use alloy_eips::eip7702::Authorization;
    use tandem_execution::system::IBatchInbox;
    use tandem_primitives::{dev, system::BATCH_INBOX};
    let Scenario { mut b, .. } = scenario(Fault::Fee);
    b.mine_l2(Vec::new());
    // The next batch, valid as the batcher would post it.
    let from = b.batches.last().map_or(1, |(_, _, last)| last + 1);
    let block = b.l2.storage.read().unwrap().block(from).unwrap().unwrap();
    let header = block.header();
    let batch = tandem_rollup::Batch {
        blocks: vec![tandem_rollup::BatchBlock {
            number: from,
            timestamp: header.timestamp,
            l1_origin: tandem_execution::l2::L1Origin::of_header(header)
                .unwrap()
                .number,
            transactions: Vec::new(),
        }],
    };
    let (data, _) = batch
        .encode(
            ChainConfig::L2_DEV_CHAIN_ID,
            tandem_rollup::Compression::Brotli,
            &b.table,
        )
        .unwrap();
    let call = IBatchInbox::submitBatchCall {
        sequence: b.batches.len() as u64,
        batch: data.into(),
    }
    .abi_encode();
    // The batcher delegates its account to a forwarder (EIP-7702) and sends the batch to itself:
    // BatchInbox sees the batcher as caller, but the batch is not its transaction's calldata.
    let batcher = &dev::accounts()[dev::DEV_BATCHER];
    let nonce = b.l1.nonce(batcher.address);
    let auth = Authorization {
        chain_id: U256::from(ChainConfig::L1_DEV_CHAIN_ID),
        address: crate::bridge::BATCH_FORWARDER,
        nonce: nonce + 1,
    };
    let signature = batcher.sign_hash(auth.signature_hash());
    let tx = batcher.sign(alloy_consensus::TxEip7702 {
        chain_id: ChainConfig::L1_DEV_CHAIN_ID,
        nonce,
        gas_limit: 10_000_000,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 1,
        to: batcher.address,
        value: U256::ZERO,
        access_list: Default::default(),
        authorization_list: vec![auth.into_signed(signature)],
        input: call.clone().into(),
    });
    let delegated = b.try_l1((tx, batcher.address)).unwrap();
    assert!(
        !delegated.result.is_success(),
        "a batch through delegated code is refused"
    );
    // Sent straight to BatchInbox, the same batch is taken.
    let direct = b.l1_tx_with_gas(dev::DEV_BATCHER, BATCH_INBOX, U256::ZERO, call, 10_000_000);
    assert!(b.try_l1(direct).unwrap().result.is_success());
}

#[test]
fn a_re_execution_that_fails_pays_for_the_l2_gas_it_asked_for() {
    use alloy_consensus::Transaction;
    let Scenario { b, .. } = scenario(Fault::StateRoot);
    let number = 4;
    let reader = b.l2.storage.read().unwrap();
    let parent = output_at(&reader, number - 1).unwrap().unwrap();
    let inputs = b.inputs[&number].clone();
    let mut witness = execution_witness_for(&reader, &b.l2.config, number, &inputs).unwrap();
    drop(reader);
    let asked: u64 = inputs
        .transactions
        .iter()
        .map(|t| t.tx.gas_limit())
        .sum::<u64>()
        + inputs.queue.iter().map(|e| e.gas_limit()).sum::<u64>();
    witness.state.pop();
    let call = crate::dispute::execute_call(&parent, &inputs, &witness).abi_encode();
    match run_on_l1(&b, EXECUTE, U256::ZERO, call) {
        ExecutionResult::Revert { gas, .. } => assert!(
            gas.total_gas_spent() > asked,
            "a failed re-execution spent {} gas, less than the {asked} it asked for",
            gas.total_gas_spent()
        ),
        other => panic!("{other:?}"),
    }
}
