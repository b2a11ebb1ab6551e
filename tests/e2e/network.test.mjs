// Four `tandem node` processes from `tandem setup`, on loopback: BFT finality across processes,
// crash tolerance of one validator, loss and return of quorum.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { setupNetwork, startNetworkNode, cleanup } from './lib/node.mjs';

const GWEI = 10n ** 9n;
const KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function provider(url) {
  return new ethers.JsonRpcProvider(url, 900, { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
}

describe('a four-validator network of separate processes', () => {
  let dir;
  const nodes = [];
  const rpcs = [];
  const nonces = [0, 0];

  const start = async (i) => {
    nodes[i] = await startNetworkNode(dir, `node${i}`);
    rpcs[i] = provider(nodes[i].url);
  };
  const heights = () => Promise.all(rpcs.map((r, i) => (nodes[i] ? r.getBlockNumber() : -1)));
  const waitFor = async (predicate, what, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await predicate()) return;
      await sleep(100);
    }
    assert.fail(`timed out waiting for ${what}`);
  };
  const send = async (to, count) => {
    const hashes = [];
    for (let k = 0; k < count; k++) {
      const who = k % 2;
      const raw = await new ethers.Wallet(KEYS[who]).signTransaction({
        to: ethers.ZeroAddress, value: 1n, nonce: nonces[who]++, chainId: 900n, gasLimit: 21_000n, type: 2, maxFeePerGas: 100n * GWEI, maxPriorityFeePerGas: GWEI,
      });
      hashes.push(await rpcs[to[k % to.length]].send('eth_sendRawTransaction', [raw]));
    }
    return hashes;
  };
  const included = async (node, hashes) => {
    for (const hash of hashes) if (!(await rpcs[node].getTransactionReceipt(hash))) return false;
    return true;
  };

  before(async () => {
    dir = setupNetwork({ validators: 4, fullNodes: 1 });
    for (let i = 0; i < 4; i++) await start(i);
  });

  let full;
  after(async () => {
    for (const r of rpcs) r?.destroy();
    for (const n of nodes) if (n) await n.stop();
    if (full) await full.stop();
    cleanup(dir);
  });

  it('includes transactions sent round-robin to every node exactly once, with the same blocks everywhere', async () => {
    const hashes = await send([0, 1, 2, 3], 24);
    await waitFor(() => included(0, hashes), 'all transactions to be included');
    let count = 0;
    const head = await rpcs[0].getBlockNumber();
    for (let n = 1; n <= head; n++) {
      const block = await rpcs[0].getBlock(n);
      count += block.transactions.length;
      await waitFor(async () => (await Promise.all(rpcs.map((r) => r.getBlockNumber()))).every((h) => h >= n), `every node at ${n}`);
      const others = await Promise.all(rpcs.map((r) => r.getBlock(n)));
      for (const other of others) assert.equal(other.hash, block.hash, `block ${n} is the same on every node`);
    }
    assert.equal(count, 24, 'each transaction exactly once');
    const finalized = await rpcs[1].getBlock('finalized');
    assert.equal(finalized.number, await rpcs[1].getBlockNumber(), 'latest is final');
    const metrics = await (await fetch(`${nodes[0].url}/metrics`)).text();
    assert.match(metrics, /^tandem_height \d+$/m);
    assert.match(metrics, /^tandem_mempool_pending \d+$/m);
    assert.match(metrics, /simplex_voter_state_current_view/);
    const health = await fetch(`${nodes[0].url}/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, 'ok');
  });

  it('has a full node, started late, sync from genesis to the same hashes and forward transactions', async () => {
    full = await startNetworkNode(dir, 'full0');
    const follower = provider(full.url);
    try {
      const target = await rpcs[0].getBlockNumber();
      await waitFor(async () => (await follower.getBlockNumber()) >= target, 'the full node to sync', 60_000);
      for (let n = 0; n <= target; n++) {
        assert.equal((await follower.getBlock(n)).hash, (await rpcs[0].getBlock(n)).hash, `block ${n} on the full node`);
      }
      const raw = await new ethers.Wallet(KEYS[0]).signTransaction({
        to: ethers.ZeroAddress, value: 1n, nonce: nonces[0]++, chainId: 900n, gasLimit: 21_000n, type: 2, maxFeePerGas: 100n * GWEI, maxPriorityFeePerGas: GWEI,
      });
      const hash = await follower.send('eth_sendRawTransaction', [raw]);
      await waitFor(async () => Boolean(await rpcs[0].getTransactionReceipt(hash)), 'a transaction sent to the full node to be included');
      await waitFor(async () => Boolean(await follower.getTransactionReceipt(hash)), 'the full node to see it final');
    } finally {
      follower.destroy();
    }
  });

  it('keeps finalizing with one validator killed, and the restarted one catches up to the same hashes', async () => {
    await nodes[3].stop('SIGKILL');
    rpcs[3].destroy();
    nodes[3] = undefined;
    const before = await rpcs[0].getBlockNumber();
    const hashes = await send([0, 1, 2], 12);
    await waitFor(() => included(1, hashes), 'transactions with three validators');
    assert.ok((await rpcs[0].getBlockNumber()) > before, 'finalization continued');
    await start(3);
    const target = await rpcs[0].getBlockNumber();
    await waitFor(async () => (await rpcs[3].getBlockNumber()) >= target, 'the restarted validator to catch up', 60_000);
    assert.equal((await rpcs[3].getBlock(target)).hash, (await rpcs[0].getBlock(target)).hash);
  });

  it('stops finalizing without a quorum and resumes, with no fork, when a validator returns', async () => {
    for (const i of [2, 3]) {
      await nodes[i].stop('SIGKILL');
      rpcs[i].destroy();
      nodes[i] = undefined;
    }
    const stalled = await rpcs[0].getBlockNumber();
    const pending = await send([0, 1], 4);
    await sleep(3_000); // two of four cannot finalize anything
    assert.equal(await rpcs[0].getBlockNumber(), stalled, 'no block is final without a quorum');
    assert.equal(await rpcs[1].getBlockNumber(), stalled);
    const health = async () => (await fetch(`${nodes[0].url}/health`)).status;
    await waitFor(async () => (await health()) === 503, '/health to report the stall', 40_000);
    await start(2);
    await waitFor(() => included(0, pending), 'the pending transactions after the quorum returns', 60_000);
    const head = await rpcs[0].getBlockNumber();
    await waitFor(async () => (await rpcs[2].getBlockNumber()) >= head, 'the returned validator to catch up', 60_000);
    await waitFor(async () => (await health()) === 200, '/health to recover');
    for (let n = stalled; n <= head; n++) {
      const [a, b, c] = await Promise.all([0, 1, 2].map((i) => rpcs[i].getBlock(n)));
      assert.equal(a.hash, b.hash, `block ${n}: no fork`);
      assert.equal(a.hash, c.hash, `block ${n}: no fork`);
    }
  });
});
