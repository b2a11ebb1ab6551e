// The rollup end to end: a sequencer that preconfirms, a batcher that posts to L1, and verifiers
// that rebuild every block from L1 alone; 10,000 mixed transactions; SIGKILL of the sequencer.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { ethers } from 'ethers';
import { startDev, startDevnet, startL2, compile, tempDir, cleanup, waitFor } from './lib/node.mjs';

const L2_CHAIN = 901n;
const GWEI = 10n ** 9n;

function provider(url, chainId = L2_CHAIN) {
  return new ethers.JsonRpcProvider(url, Number(chainId), { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1, batchMaxCount: 1 });
}

/** One JSON-RPC batch over HTTP; returns the results in order, throwing on any error. */
async function batch(url, calls) {
  const body = calls.map(([method, params], id) => ({ jsonrpc: '2.0', id, method, params }));
  const res = await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();
  const byId = new Map(res.map((r) => [r.id, r]));
  return calls.map((call, id) => {
    const r = byId.get(id);
    if (!r || r.error) throw new Error(`${call[0]}: ${JSON.stringify(r?.error)}`);
    return r.result;
  });
}

async function status(url) {
  return (await batch(url, [['tandem_rollupStatus', []]]))[0];
}

/** Blocks 0..=head of a node: [hash, stateRoot] per height. */
async function chainOf(url, head) {
  const out = [];
  for (let from = 0; from <= head; from += 250) {
    const calls = [];
    for (let n = from; n <= Math.min(head, from + 249); n++) calls.push(['eth_getBlockByNumber', [ethers.toQuantity(n), false]]);
    for (const b of await batch(url, calls)) out.push(b && [b.hash, b.stateRoot]);
  }
  return out;
}

async function assertSameChain(sequencerUrl, verifierUrl, head) {
  const [a, b] = await Promise.all([chainOf(sequencerUrl, head), chainOf(verifierUrl, head)]);
  for (let n = 0; n <= head; n++) {
    assert.ok(a[n] && b[n], `block ${n} on both`);
    assert.deepEqual(b[n], a[n], `the verifier's block ${n} (hash, state root) equals the sequencer's`);
  }
}

/** Zipf-distributed picks from `items`: the k-th most popular with weight 1/k. */
function zipf(items) {
  const weights = items.map((_, k) => 1 / (k + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  return () => {
    let r = Math.random() * total;
    for (let k = 0; k < items.length; k++) {
      r -= weights[k];
      if (r <= 0) return items[k];
    }
    return items[items.length - 1];
  };
}

describe('the L2 rollup on a BFT devnet', () => {
  let l1, sequencer, verifier, seqDir, rpc, wallets, tokenArtifact;

  before(async () => {
    l1 = await startDevnet(['--no-l2']);
    seqDir = tempDir('tandem-l2-seq-');
    sequencer = await startL2('sequencer', l1.url, ['--data-dir', seqDir]);
    verifier = await startL2('verifier', l1.url);
    rpc = provider(sequencer.url);
    wallets = sequencer.info.accounts.map((a) => new ethers.Wallet(a.privateKey, rpc));
    tokenArtifact = compile('Token.sol', 'Token');
  });

  after(async () => {
    rpc.destroy();
    for (const node of [verifier, sequencer, l1]) if (node) await node.stop('SIGINT');
    cleanup(seqDir);
  });

  it('preconfirms a transaction on arrival, then seals it, and a verifier derives the block from L1', async () => {
    const wallet = wallets[1];
    const head = await rpc.getBlockNumber();
    const raw = await wallet.signTransaction({ to: wallets[2].address, value: 7n, nonce: await rpc.getTransactionCount(wallet.address, 'pending'), chainId: L2_CHAIN, gasLimit: 21_000n, type: 2, maxFeePerGas: GWEI, maxPriorityFeePerGas: 1n });
    const preconf = await rpc.send('eth_sendRawTransactionSync', [raw]);
    assert.equal(preconf.status, '0x1');
    assert.equal(preconf.blockHash, null, 'the block is still open');
    assert.ok(Number(preconf.blockNumber) > head, 'in the open block');
    assert.ok(BigInt(preconf.l1Fee) > 0n);
    const sealed = await waitFor('the block to seal', () => rpc.getTransactionReceipt(preconf.transactionHash));
    assert.equal(BigInt(sealed.blockNumber), BigInt(preconf.blockNumber), 'sealed where it was preconfirmed');
    assert.equal(sealed.index, Number(preconf.transactionIndex));
    const block = await rpc.getBlock(sealed.blockNumber);
    assert.equal(sealed.blockHash, block.hash);

    const safe = await waitFor('the batch on L1', async () => {
      const s = await status(sequencer.url);
      return s.safe.number >= sealed.blockNumber && s;
    });
    assert.equal(safe.role, 'sequencer');
    assert.ok(safe.batcher.lastBatch.l1Block > 0);
    const derived = await waitFor('the verifier', async () => {
      const s = await status(verifier.url);
      return s.safe.number >= sealed.blockNumber && s;
    });
    assert.equal(derived.derivation.batchesSkipped, 0);
    const v = provider(verifier.url);
    assert.equal((await v.getBlock(sealed.blockNumber)).hash, block.hash, 'the verifier rebuilt the same block from L1 alone');
    assert.equal((await v.getTransactionReceipt(sealed.hash)).status, 1);
    v.destroy();
    const refused = await (await fetch(verifier.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [raw] }) })).json();
    assert.match(refused.error.message, /send them to the sequencer/);
  });

  it('agrees with the sequencer at every height after 10,000 mixed transactions, and a fresh verifier rebuilds it from L1 alone', async () => {
    const start = await rpc.getBlockNumber();
    // An ERC-20, spread over every sender.
    const factory = new ethers.ContractFactory(tokenArtifact.abi, tokenArtifact.bytecode, wallets[0]);
    const token = await factory.deploy('Tandem Token', 'TDM', 10n ** 30n);
    await token.waitForDeployment();
    for (let i = 1; i < wallets.length; i++) await (await token.transfer(wallets[i].address, 10n ** 27n)).wait();
    const tokenAddress = await token.getAddress();
    const iface = token.interface;

    const recipients = Array.from({ length: 500 }, () => ethers.Wallet.createRandom().address);
    const pick = zipf(recipients);
    const TOTAL = 10_000;
    const nonces = await batch(sequencer.url, wallets.map((w) => ['eth_getTransactionCount', [w.address, 'pending']]));
    const next = nonces.map((n) => Number(n));
    const signed = wallets.map(() => []);
    let reverts = 0;
    for (let i = 0; i < TOTAL; i++) {
      const s = i % wallets.length;
      const r = Math.random();
      const base = { nonce: next[s]++, chainId: L2_CHAIN, type: 2, maxFeePerGas: GWEI, maxPriorityFeePerGas: 1n };
      let tx;
      if (r < 0.6) tx = { ...base, to: pick(), value: BigInt(1 + Math.floor(Math.random() * 100)) * 10n ** 15n, gasLimit: 21_000n };
      else if (r < 0.9) tx = { ...base, to: tokenAddress, data: iface.encodeFunctionData('transfer', [pick(), BigInt(1 + Math.floor(Math.random() * 1000)) * 10n ** 18n]), gasLimit: 80_000n };
      else {
        tx = { ...base, to: tokenAddress, data: iface.encodeFunctionData('fail', []), gasLimit: 60_000n };
        reverts++;
      }
      signed[s].push(await wallets[s].signTransaction(tx));
    }

    // Waves of 50 per sender in one JSON-RPC batch, each waiting until the sequencer has sealed it.
    const WAVE = 50;
    const first = nonces.map((n) => Number(n));
    for (let w = 0; w * WAVE < TOTAL / wallets.length; w++) {
      const calls = [];
      for (let s = 0; s < wallets.length; s++) for (const raw of signed[s].slice(w * WAVE, (w + 1) * WAVE)) calls.push(['eth_sendRawTransaction', [raw]]);
      await batch(sequencer.url, calls);
      const target = first.map((n, s) => n + Math.min(signed[s].length, (w + 1) * WAVE));
      await waitFor('the wave to seal', async () => {
        const counts = await batch(sequencer.url, wallets.map((x) => ['eth_getTransactionCount', [x.address, 'latest']]));
        return counts.every((c, s) => Number(c) >= target[s]);
      });
    }
    const head = await rpc.getBlockNumber();

    // Every transaction is in a block, the reverts failed and nothing else did.
    let included = 0;
    let failed = 0;
    for (let from = start + 1; from <= head; from += 200) {
      const calls = [];
      for (let n = from; n <= Math.min(head, from + 199); n++) calls.push(['eth_getBlockReceipts', [ethers.toQuantity(n)]]);
      for (const receipts of await batch(sequencer.url, calls)) {
        included += receipts.length;
        failed += receipts.filter((r) => r.status === '0x0').length;
      }
    }
    assert.equal(included, TOTAL + wallets.length, 'all 10,000 plus the deploy and the token spreading');
    assert.equal(failed, reverts);

    await waitFor('the sequencer to post everything', async () => (await status(sequencer.url)).safe.number >= head, 180_000);
    await waitFor('the verifier to derive everything', async () => (await status(verifier.url)).safe.number >= head, 180_000);
    await assertSameChain(sequencer.url, verifier.url, head);
    assert.equal((await status(sequencer.url)).batcher.lastError, null);
    assert.equal((await status(verifier.url)).derivation.batchesSkipped, 0);

    // The sequencer goes away with its database; a new verifier needs only L1.
    const reference = await chainOf(sequencer.url, head);
    await sequencer.stop('SIGINT');
    rmSync(seqDir, { recursive: true, force: true });
    const fresh = await startL2('verifier', l1.url);
    try {
      await waitFor('the fresh verifier', async () => (await status(fresh.url)).safe.number >= head, 180_000);
      const rebuilt = await chainOf(fresh.url, head);
      assert.deepEqual(rebuilt, reference, 'the same hash and state root at every height, from L1 alone');
    } finally {
      await fresh.stop('SIGINT');
    }
  });
});

describe('the L2 sequencer under SIGKILL', () => {
  it('loses no preconfirmed transaction, and the verifier still agrees', async () => {
    const l1 = await startDev();
    const dir = tempDir('tandem-l2-kill-');
    let sequencer = await startL2('sequencer', l1.url, ['--data-dir', dir]);
    const verifier = await startL2('verifier', l1.url);
    try {
      const keys = sequencer.info.accounts.slice(1, 6).map((a) => new ethers.Wallet(a.privateKey));
      const to = sequencer.info.accounts[7].address;
      const confirmed = [];
      let alive = true;
      const url = sequencer.url;
      // Five senders, each sending the next transaction as soon as the last is preconfirmed.
      const senders = keys.map(async (key) => {
        let nonce = Number((await batch(url, [['eth_getTransactionCount', [key.address, 'pending']]]))[0]);
        while (alive) {
          const raw = await key.signTransaction({ to, value: 1n, nonce, chainId: L2_CHAIN, gasLimit: 21_000n, type: 2, maxFeePerGas: GWEI, maxPriorityFeePerGas: 1n });
          let receipt;
          try {
            receipt = (await batch(url, [['eth_sendRawTransactionSync', [raw]]]))[0];
          } catch {
            return; // the sequencer is gone: this one was never acknowledged
          }
          confirmed.push({ hash: receipt.transactionHash, block: Number(receipt.blockNumber), index: Number(receipt.transactionIndex) });
          nonce++;
        }
      });
      await waitFor('preconfirmations', async () => confirmed.length >= 300, 60_000);
      sequencer.proc.kill('SIGKILL');
      alive = false;
      await Promise.allSettled(senders);
      const exit = await sequencer.stop();
      assert.equal(exit.signal, 'SIGKILL');

      sequencer = await startL2('sequencer', l1.url, ['--data-dir', dir]);
      const rpc = provider(sequencer.url);
      try {
        for (const c of confirmed) {
          const receipt = await waitFor(`receipt of ${c.hash}`, () => rpc.getTransactionReceipt(c.hash), 20_000);
          assert.equal(receipt.status, 1);
          assert.deepEqual([receipt.blockNumber, receipt.index], [c.block, c.index], 'where it was preconfirmed');
        }
        // The senders go on where they were.
        const key = keys[0].connect(rpc);
        const receipt = await (await key.sendTransaction({ to, value: 1n })).wait();
        assert.equal(receipt.status, 1);
        const head = receipt.blockNumber;
        await waitFor('the batches', async () => (await status(sequencer.url)).safe.number >= head);
        await waitFor('the verifier', async () => (await status(verifier.url)).safe.number >= head);
        await assertSameChain(sequencer.url, verifier.url, head);
      } finally {
        rpc.destroy();
      }
    } finally {
      await sequencer.stop('SIGINT');
      await verifier.stop('SIGINT');
      await l1.stop('SIGINT');
      cleanup(dir);
    }
  });
});
