// Fault proofs on a devnet, every mutation class: a faulty proposer (`tandem l2 proposer --fault
// ...`: state root, storage root, block hash, a right output after a wrong one), or a proposer on a
// faulty node (`tandem l2 verifier --fault ...`: skipped, reordered or forged deposits, a dropped
// or extra transaction, gas used, timestamp, L1 fee, L1 origin, a batch block that breaks a rule,
// posted by the devnet's `--faulty-batcher`), posts wrong outputs; the devnet's challenger proves
// each wrong one to the DisputeGame in one L1 transaction, within the challenge window: the output
// is deleted and the bonds move; then an honest proposer posts the right output in its place, and
// no challenge removes that. A withdrawal only the wrong output had is never paid. Observed with
// ethers.js through L1's logs and views.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { startDevnet, startL2, waitFor, rawRpc, revertName, compile } from './lib/node.mjs';
import { disputeViews, proposerBefore, proposerOf, proposeUntil as propose } from './lib/dispute.mjs';

const ETH = 10n ** 18n;
const WINDOW = 60;
const FAULTY_INDEX = 5;
// The dev account a faulty node signs its own transactions with (fault::FAULT_ACCOUNT).
const FAULT_ACCOUNT = 6;
// A transaction to it makes the devnet's faulty batcher break a rule (fault::FAULT_MARKER).
const FAULT_MARKER = '0x000000000000000000000000000000000000fa17';
const PORTAL = '0x000000000000000000000000000000000000b0a1';

describe('fault proofs on a devnet', () => {
  let net, l1, oracle, game, proposals, challenges, deleted, balances, checkRemoved;

  before(async () => {
    net = await startDevnet(['--challenge-window', String(WINDOW), '--output-interval', '8', '--explorer-port', '0', '--no-proposer', '--faulty-batcher']);
    l1 = new ethers.JsonRpcProvider(net.url, 900, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
    ({ oracle, game, proposals, challenges, deleted, balances, checkRemoved } = disputeViews(l1));
  });
  after(async () => { await net?.stop(); });

  /**
   * Runs `tandem l2 proposer` as dev account `index` (with `--fault`, if given) on the outputs of
   * `l2Rpc` (the devnet's verifier by default) until `done` holds.
   */
  const proposeUntil = (index, fault, what, done, l2Rpc = net.info.l2Verifier.rpc) =>
    propose({ l1Rpc: net.url, l2Rpc, index, fault }, what, done);

  it('removes every wrong output within the window, moves the bonds, and never an honest one', async () => {
    const faulty = ethers.getAddress(net.info.accounts[FAULTY_INDEX].address);
    const honest = ethers.getAddress(net.info.bridge.proposer);
    const honestIndex = net.info.accounts.findIndex((a) => ethers.getAddress(a.address) === honest);
    const challenger = ethers.getAddress(net.info.bridge.challenger);
    const bond = await game.bond();
    assert.equal(bond, ETH);
    const before = await balances(faulty, challenger);
    const won = [];
    for (const fault of ['state-root', 'storage-root', 'block-hash', 'valid-after-wrong']) {
      // The faulty proposer alone, until the challenger has removed one of its outputs (for
      // valid-after-wrong, with the right one after it).
      const from = await l1.getBlockNumber();
      const settled = await proposeUntil(FAULTY_INDEX, fault, `a won challenge against a ${fault} output`, async () => {
        const [all, cs] = [await proposals(), await challenges()];
        for (const c of cs.filter((c) => c.block > from && c.won)) {
          if (proposerOf(proposerBefore(all, c.outputIndex, c.block)) !== faulty) continue;
          if (fault !== 'valid-after-wrong') return c;
          const next = proposerBefore(all, c.outputIndex + 1n, c.block);
          if (next && (await deleted(c)).count >= 2n) return { ...c, next };
        }
        return null;
      });
      if (fault === 'valid-after-wrong') {
        // The output after the wrong one was right, and went with it.
        const { next } = settled;
        assert.equal(ethers.getAddress(next.proposer), faulty);
        const own = (await rawRpc(net.info.l2Verifier.rpc, 'tandem_outputAtBlock', [ethers.toQuantity(next.l2BlockNumber)])).result;
        assert.equal(next.outputRoot, own.outputRoot, 'the later output is right');
      }
      won.push({ fault, ...settled });
      // Then the honest one, which puts the right output in its place (and no challenge removes it).
      await proposeUntil(honestIndex, null, `output ${settled.outputIndex} re-proposed honestly`, async () => {
        // A wrong output the faulty proposer sent last may still land and be removed meanwhile.
        const o = await oracle.getOutput(settled.outputIndex).catch(() => null);
        return o !== null && ethers.getAddress(o.proposer) === ethers.getAddress(honest) && o.outputRoot === settled.trueRoot;
      });
    }
    await checkRemoved({ won, faulty, challenger, window: WINDOW, before });
    // The verifier running the challenger reports it.
    const status = (await rawRpc(net.info.l2Verifier.rpc, 'tandem_rollupStatus', [])).result;
    assert.ok(status.challenger.won >= won.length && status.challenger.agreed > 0, JSON.stringify(status.challenger));
    // The explorer lists the disputes.
    const page = await (await fetch(`${net.info.explorer}/rollup`)).text();
    assert.match(page, /id="disputes"/);
    assert.ok(page.includes('wrong output removed') && page.includes(won[0].tx), 'the explorer shows the challenge');
  });

  it('removes the outputs of faulty nodes at their first wrong block', async () => {
    const faulty = ethers.getAddress(net.info.accounts[FAULTY_INDEX].address);
    const honest = ethers.getAddress(net.info.bridge.proposer);
    const honestIndex = net.info.accounts.findIndex((a) => ethers.getAddress(a.address) === honest);
    const l2 = new ethers.JsonRpcProvider(net.info.l2.rpc, 901, { staticNetwork: true, pollingInterval: 100 });
    const verifier = new ethers.JsonRpcProvider(net.info.l2Verifier.rpc, 901, { staticNetwork: true });
    const user = new ethers.Wallet(net.info.accounts[3].privateKey);
    const other = new ethers.Wallet(net.info.accounts[4].privateKey);
    const thief = ethers.getAddress(net.info.accounts[FAULT_ACCOUNT].address);
    const portalAbi = compile('contracts/IPortal.sol', 'IPortal').abi;
    const portal = new ethers.Contract(PORTAL, portalAbi, l1);
    const deposit = async (wallet, nonce) => portal.connect(wallet.connect(l1))
      .depositTransaction(wallet.address, ETH / 100n, 100_000n, '0x', { value: ETH / 100n, nonce });
    const hasDeposits = (n) => (block) => block.transactions.filter((t) => t.type === '0x7e').length >= n;
    const hasSequenced = (block) => block.transactions.some((t) => t.type !== '0x7e');
    const sendL2 = async (to) => { await (await user.connect(l2).sendTransaction({ to, value: 1n })).wait(); };
    // A forged withdrawal's proof against the wrong output, to try once that index is final.
    let forged = null;
    // What each faulty node gets wrong, what makes its first wrong block on the true chain, and
    // (maybe) what to check once its output is gone.
    const faults = {
      // First, so the output it replaces is final by the end.
      'forged-withdrawal': {
        trigger: async () => { await (await deposit(user)).wait(); },
        wrongBlock: hasDeposits(1),
        after: async (settled, node, all) => {
          // The thief's withdrawal is in the faulty node's block, and its proof matches the output
          // the faulty proposer posted: that output, left standing, would have paid it.
          const faultyBlock = (await rawRpc(node.url, 'eth_getBlockByNumber', [ethers.toQuantity(settled.l2BlockNumber), true])).result;
          const tx = faultyBlock.transactions.find((t) => ethers.getAddress(t.from) === thief && t.type !== '0x7e');
          assert.ok(tx, 'the faulty node has the forged withdrawal');
          assert.equal(await verifier.getTransaction(tx.hash), null, 'L2 does not');
          const res = await rawRpc(node.url, 'tandem_withdrawalProof', [tx.hash, Number(settled.outputIndex)]);
          assert.ok(res.result, `the faulty node proves its withdrawal: ${JSON.stringify(res.error)}`);
          const [proof] = res.result;
          const p = proof.outputRootProof;
          const root = ethers.keccak256(ethers.concat([p.version, p.stateRoot, p.messagePasserStorageRoot, p.blockHash]));
          const wrong = all.filter((o) => o.index === settled.outputIndex && o.block < settled.block).at(-1);
          assert.equal(root, wrong.outputRoot, 'the proof is against the wrong output');
          forged = proof;
        },
      },
      'skip-deposits': { trigger: async () => { await (await deposit(user)).wait(); }, wrongBlock: hasDeposits(1) },
      'reorder-deposits': {
        // Two deposits in one L1 block, so one L2 block takes both.
        trigger: async () => {
          for (let attempt = 0; attempt < 5; attempt++) {
            const sent = await Promise.all([deposit(user), deposit(other)]);
            const [a, b] = await Promise.all(sent.map((t) => t.wait()));
            if (a.blockNumber === b.blockNumber) return;
          }
          throw new Error('no two deposits landed in one L1 block');
        },
        wrongBlock: hasDeposits(2),
      },
      'drop-transaction': { trigger: () => sendL2(faulty), wrongBlock: hasSequenced },
      'extra-transaction': { trigger: () => sendL2(faulty), wrongBlock: hasSequenced },
      'gas-used': { trigger: () => sendL2(faulty), wrongBlock: hasSequenced },
      // These get every block wrong: the first block the faulty proposer claims is wrong.
      'timestamp': { trigger: async () => {}, wrongBlock: () => true },
      'l1-fee': { trigger: async () => {}, wrongBlock: () => true },
      'l1-origin': { trigger: async () => {}, wrongBlock: () => true },
      // Last: the devnet's sequencer keeps the transactions L2 leaves out, so its chain differs
      // from L2's from here on.
      'invalid-batch': {
        trigger: async () => { await (await other.connect(l2).sendTransaction({ to: FAULT_MARKER, value: 1n })).wait(); },
        // L2 ran the block without its transactions (the batch broke the drift rule); the
        // sequencer's block of that number has the one to the marker.
        wrongBlock: async (block) => {
          const sequenced = await l2.send('eth_getBlockByNumber', [block.number, true]);
          return !hasSequenced(block) && sequenced.transactions.some((t) => t.to?.toLowerCase() === FAULT_MARKER);
        },
      },
    };
    for (const [fault, { trigger, wrongBlock, after }] of Object.entries(faults)) {
      const node = await startL2('verifier', net.url, ['--fault', fault]);
      try {
        const from = await l1.getBlockNumber();
        await trigger();
        // `build-on-l1`: the node's own outputs, on top of L1's (an honest proposer would wait,
        // since its chain disagrees with the outputs already there).
        const settled = await proposeUntil(FAULTY_INDEX, 'build-on-l1', `a won challenge against a ${fault} node's output`, async () => {
          const [all, cs] = [await proposals(), await challenges()];
          return cs.find((c) => c.block > from && c.won
            && proposerOf(proposerBefore(all, c.outputIndex, c.block)) === faulty);
        }, node.url);
        // The challenged block is the first wrong one: where the node goes wrong or, when it went
        // wrong before this output (at an earlier deposit), the output's first block.
        const n = settled.l2BlockNumber;
        const parent = (number) => rawRpc(node.url, 'eth_getBlockByNumber', [ethers.toQuantity(number), false]);
        const [faultyParent, trueParent] = [(await parent(n - 1n)).result, await verifier.send('eth_getBlockByNumber', [ethers.toQuantity(n - 1n), false])];
        if (faultyParent.hash === trueParent.hash) {
          const block = await verifier.send('eth_getBlockByNumber', [ethers.toQuantity(n), true]);
          assert.ok(await wrongBlock(block), `${fault}: L2 block ${n} is where the node goes wrong`);
        } else {
          const previous = settled.outputIndex > 0n ? (await oracle.getOutput(settled.outputIndex - 1n)).l2BlockNumber : 0n;
          assert.equal(n, previous + 1n, `${fault}: wrong since before output ${settled.outputIndex}, challenged at its first block`);
        }
        await proposeUntil(honestIndex, null, `output ${settled.outputIndex} re-proposed honestly`, async () => {
          // A wrong output the faulty proposer sent last may still land and be removed meanwhile.
          const o = await oracle.getOutput(settled.outputIndex).catch(() => null);
          if (!o) return false;
          const own = (await rawRpc(net.info.l2Verifier.rpc, 'tandem_outputAtBlock', [ethers.toQuantity(o.l2BlockNumber)])).result;
          return ethers.getAddress(o.proposer) === honest && o.outputRoot === own.outputRoot;
        });
        await after?.(settled, node, await proposals());
      } finally {
        await node.stop();
      }
    }
    // The forged withdrawal: once the honest output at its index is final, its proof is refused.
    assert.ok(forged, 'the forged withdrawal was proven against the wrong output');
    const args = [
      [forged.withdrawal.nonce, forged.withdrawal.sender, forged.withdrawal.target, forged.withdrawal.value, forged.withdrawal.gasLimit, forged.withdrawal.data],
      forged.outputIndex,
      [forged.outputRootProof.version, forged.outputRootProof.stateRoot, forged.outputRootProof.messagePasserStorageRoot, forged.outputRootProof.blockHash],
      forged.withdrawalProof,
    ];
    const thiefL1 = new ethers.Wallet(net.info.accounts[FAULT_ACCOUNT].privateKey, l1);
    await waitFor(`output ${forged.outputIndex} to be final`, async () => {
      const o = await oracle.getOutput(forged.outputIndex);
      return BigInt((await l1.getBlock('latest')).timestamp) > o.timestamp + BigInt(WINDOW);
    }, (WINDOW + 60) * 1000);
    assert.equal(await revertName(portal.interface, portal.connect(thiefL1).finalizeWithdrawal(...args)), 'BadOutputRootProof');
  });
});
