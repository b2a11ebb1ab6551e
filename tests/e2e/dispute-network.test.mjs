// Fault proofs on a `tandem setup` network: four validators as separate `tandem node` processes
// and the L2 as separate `tandem l2` processes on it (a sequencer with its batcher, a verifier, an
// honest challenger, proposers), each service talking to its own validator. dispute.test.mjs runs
// every mutation class on a devnet; this runs the few that show a setup network settles disputes
// the same way: a wrong state root in the first output (challenged at its last block), a node
// wrong from L2 block 1 on (its first output challenged at block 1, from the L2 genesis output the
// setup genesis carries), and a wrong block hash in a later output. Each is removed within the
// window and the bonds move; the honest proposer's outputs then stand, become final and pay back
// their bonds.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { setupNetwork, startNetworkNode, startL2, cleanup, rawRpc, waitFor } from './lib/node.mjs';
import { disputeViews, proposerBefore, proposerOf, proposeUntil } from './lib/dispute.mjs';

const WINDOW = 30;
const INTERVAL = 8n;
const MNEMONIC = 'test test test test test test test test test test test junk';
const FAULTY = 5;
const CHALLENGER = 7;
const HONEST = 8;
const dev = (i) => ethers.HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).address;

describe('fault proofs on a tandem setup network', () => {
  let dir, sequencer, verifier, challenger, l1, views, before0;
  const validators = [];
  const [faulty, challengerAddress, honest] = [dev(FAULTY), dev(CHALLENGER), dev(HONEST)];
  const won = [];

  before(async () => {
    dir = setupNetwork({ validators: 4, extra: ['--challenge-window', String(WINDOW), '--output-interval', String(INTERVAL)] });
    for (let i = 0; i < 4; i++) validators.push(await startNetworkNode(dir, `node${i}`));
    sequencer = await startL2('sequencer', validators[0].url);
    verifier = await startL2('verifier', validators[1].url);
    challenger = await startL2('challenger', validators[2].url, ['--mnemonic-index', String(CHALLENGER)]);
    // The proposers post to, and the test reads from, the fourth validator.
    l1 = new ethers.JsonRpcProvider(validators[3].url, 900, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
    views = disputeViews(l1);
    before0 = await views.balances(faulty, challengerAddress);
  });

  after(async () => {
    l1?.destroy();
    for (const node of [challenger, verifier, sequencer, ...[...validators].reverse()]) await node?.stop();
    if (dir) cleanup(dir);
  });

  /** Runs a proposer as dev account `index` on the L2 node at `l2Rpc` until `done` holds. */
  const propose = (index, fault, l2Rpc, what, done, timeoutMs) =>
    proposeUntil({ l1Rpc: validators[3].url, l2Rpc, index, fault }, what, done, timeoutMs);

  /** A won challenge after L1 block `from` against an output of the faulty proposer that `matches`. */
  const wonAgainstFaulty = (fault, from, matches) => async () => {
    const [all, cs] = [await views.proposals(), await views.challenges()];
    const c = cs.find((c) => c.block > from && c.won && matches(c) && proposerOf(proposerBefore(all, c.outputIndex, c.block)) === faulty);
    return c && { fault, ...c };
  };

  /** Output `index` as the honest proposer posted it, right by the verifier's chain. */
  const honestAt = (index) => async () => {
    const o = await views.oracle.getOutput(index).catch(() => null);
    if (!o || ethers.getAddress(o.proposer) !== honest) return null;
    const own = (await rawRpc(verifier.url, 'tandem_outputAtBlock', [ethers.toQuantity(o.l2BlockNumber)])).result;
    return o.outputRoot === own.outputRoot && o;
  };

  it('removes a wrong first output within the window, wrong in its last block or from L2 block 1', async () => {
    // A wrong state root in the first output's last block.
    const last = await propose(FAULTY, 'state-root', verifier.url, 'a won challenge against a wrong first output',
      wonAgainstFaulty('state-root', 0, (c) => c.outputIndex === 0n));
    assert.equal(last.l2BlockNumber, INTERVAL, 'challenged at the last block of output 0');
    won.push(last);
    // A node whose every block names another L1 origin: its first output is wrong from L2 block 1,
    // which the challenge proves from the L2 genesis output in the setup genesis.
    const node = await startL2('verifier', validators[1].url, ['--fault', 'l1-origin']);
    try {
      const first = await propose(FAULTY, 'build-on-l1', node.url, 'a won challenge at L2 block 1',
        wonAgainstFaulty('l1-origin', last.block, (c) => c.outputIndex === 0n && c.l2BlockNumber === 1n));
      won.push(first);
    } finally {
      await node.stop();
    }
    // The honest proposer then puts the right first output in place.
    await propose(HONEST, null, verifier.url, 'output 0 proposed honestly', honestAt(0n));
  });

  it('removes a wrong later output within the window, and the honest outputs stand and become final', async () => {
    const from = await l1.getBlockNumber();
    const later = await propose(FAULTY, 'block-hash', verifier.url, 'a won challenge against a wrong later output',
      wonAgainstFaulty('block-hash', from, (c) => c.outputIndex > 0n));
    assert.equal(later.l2BlockNumber, (later.outputIndex + 1n) * INTERVAL, 'challenged at the last block of its output');
    won.push(later);
    await views.checkRemoved({ won, faulty, challenger: challengerAddress, window: WINDOW, before: before0 });
    // The honest proposer puts the right output back and keeps proposing; the challenger lets every
    // honest output stand until the first is final, and the proposer claims its bond back.
    const claimed = await propose(HONEST, null, verifier.url, 'output 0 final and its bond claimed', async () => {
      if (!(await honestAt(later.outputIndex)())) return null;
      const claims = await views.bondsClaimed();
      return claims.find((b) => b.index === 0n && ethers.getAddress(b.proposer) === honest);
    }, (WINDOW + 60) * 1000);
    assert.equal(claimed.amount, await views.game.bond());
    assert.ok((await views.oracle.finalizedCount()) >= 1n);
    assert.ok(await honestAt(0n)(), 'output 0 is still the honest one');
    // No challenge was upheld against an honest output (checked again now that more stood).
    const [all, cs] = [await views.proposals(), await views.challenges()];
    for (const c of cs.filter((c) => c.won)) {
      assert.equal(proposerOf(proposerBefore(all, c.outputIndex, c.block)), faulty, `challenge of output ${c.outputIndex}`);
    }
    // The challenger's verifier reports the same.
    const status = (await rawRpc(challenger.url, 'tandem_rollupStatus', [])).result;
    assert.ok(status.challenger.won >= won.length && status.challenger.agreed > 0, JSON.stringify(status.challenger));
  });
});
