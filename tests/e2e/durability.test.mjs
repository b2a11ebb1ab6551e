// Crash safety: SIGKILL in the middle of a stream of transactions loses no committed block.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { startDev, tempDir, cleanup } from './lib/node.mjs';

const GWEI = 10n ** 9n;

function provider(url) {
  return new ethers.JsonRpcProvider(url, 900, { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
}

describe('durability', () => {
  it('serves past state inside the --history window and refuses it, clearly, outside', async () => {
    const node = await startDev(['--history', '2']);
    const rpc = provider(node.url);
    try {
      const wallet = new ethers.Wallet(node.info.accounts[0].privateKey, rpc);
      for (let i = 0; i < 5; i++) await (await wallet.sendTransaction({ to: node.info.accounts[1].address, value: 1n })).wait();
      const head = await rpc.getBlockNumber();
      assert.equal(head, 5);
      const before = await rpc.getBalance(node.info.accounts[1].address, head - 2);
      assert.equal(await rpc.getBalance(node.info.accounts[1].address, head), before + 2n);
      const old = await rpc.send('eth_getBalance', [node.info.accounts[1].address, '0x1']).catch((e) => e);
      assert.match(old.error?.message ?? old.message, /historical state for block 1 is not available: the node keeps the state of the last 2 blocks/);
      const proof = await rpc.send('eth_getProof', [node.info.accounts[1].address, [], '0x1']).catch((e) => e);
      assert.match(proof.error?.message ?? proof.message, /not available/);
      assert.ok(await rpc.getBlock(1), 'blocks themselves are kept');
      const { code } = await node.stop('SIGTERM');
      assert.equal(code, 0, 'a clean shutdown on SIGTERM, as service managers send it');
    } finally {
      rpc.destroy();
      await node.stop();
    }
  });

  it('restarts on the same --data-dir after SIGKILL with every committed block intact', async () => {
    const dir = tempDir();
    try {
      let node = await startDev(['--data-dir', dir]);
      let rpc = provider(node.url);
      const wallet = new ethers.Wallet(node.info.accounts[0].privateKey);
      const to = node.info.accounts[1].address;
      const recorded = new Map();
      let sent = 0;
      for (let nonce = 0; nonce < 400; nonce++) {
        const raw = await wallet.signTransaction({ to, value: 1n, nonce, chainId: 900n, gasLimit: 21_000n, type: 2, maxFeePerGas: 100n * GWEI, maxPriorityFeePerGas: GWEI });
        try {
          await rpc.send('eth_sendRawTransaction', [raw]);
          sent++;
        } catch {
          break; // the node is gone
        }
        if (nonce % 20 === 0) {
          const block = await rpc.send('eth_getBlockByNumber', ['latest', false]);
          recorded.set(BigInt(block.number), block);
        }
        if (nonce === 200) node.proc.kill('SIGKILL'); // mid-stream, while blocks are being written
      }
      const exit = await node.stop();
      assert.equal(exit.signal, 'SIGKILL');
      rpc.destroy();
      assert.ok(sent > 200 && recorded.size > 5, `sent ${sent}, recorded ${recorded.size}`);

      node = await startDev(['--data-dir', dir]);
      rpc = provider(node.url);
      const head = await rpc.getBlockNumber();
      const highest = Math.max(...[...recorded.keys()].map(Number));
      assert.ok(head >= highest, `head ${head} is at least the last block seen before the crash (${highest})`);
      for (const [number, before] of recorded) {
        const after = await rpc.send('eth_getBlockByNumber', [ethers.toQuantity(number), false]);
        assert.equal(after.hash, before.hash, `block ${number} is intact`);
        assert.equal(after.stateRoot, before.stateRoot, `block ${number} has the same state root`);
      }
      // The chain links up and every included transaction has its receipt.
      let included = 0;
      let parent = await rpc.send('eth_getBlockByNumber', ['0x0', false]);
      for (let n = 1; n <= head; n++) {
        const block = await rpc.send('eth_getBlockByNumber', [ethers.toQuantity(n), false]);
        assert.equal(block.parentHash, parent.hash, `block ${n} follows block ${n - 1}`);
        for (const hash of block.transactions) {
          const receipt = await rpc.send('eth_getTransactionReceipt', [hash]);
          assert.equal(receipt.status, '0x1');
          included++;
        }
        parent = block;
      }
      assert.equal(await rpc.getTransactionCount(wallet.address, 'latest'), included, 'state nonce matches the blocks');
      // The node serves and mines again.
      const next = await new ethers.Wallet(node.info.accounts[0].privateKey, rpc).sendTransaction({ to, value: 1n, nonce: included });
      const receipt = await next.wait();
      assert.equal(receipt.blockNumber, head + 1);
      rpc.destroy();
      await node.stop();
    } finally {
      cleanup(dir);
    }
  });
});
