// `tandem bench`: the load generator against a dev node, and the L1 vs L2 comparison against a
// devnet, checked against the chains themselves.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDev, startDevnet, tandemBin, tempDir, cleanup, compile, rawRpc } from './lib/node.mjs';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function bench(args) {
  const { stdout } = await run(tandemBin(), ['bench', ...args, '--json', '--log', 'warn'], { maxBuffer: 256 * 1024 * 1024, timeout: 300_000 });
  return JSON.parse(stdout);
}

/** A port nobody listens on (one the kernel just handed out and took back). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Checks that a report's sampled transactions are on `url` where it says, and paid what it says. */
async function checkSamples(url, samples) {
  assert.ok(samples.length > 0);
  for (const s of samples) {
    const { result: receipt } = await rawRpc(url, 'eth_getTransactionReceipt', [s.hash]);
    assert.ok(receipt, `${s.hash} is on the chain`);
    assert.equal(BigInt(receipt.blockNumber), BigInt(s.block), 'in the block the report names');
    const paid = BigInt(receipt.gasUsed) * BigInt(receipt.effectiveGasPrice) + BigInt(receipt.l1Fee ?? 0);
    assert.equal(paid, BigInt(s.fee_wei), 'the fee the report counts is the receipt\'s');
  }
}

describe('tandem bench', () => {
  it('carries the e2e suite\'s Token, compiled by solc', () => {
    const committed = readFileSync(join(root, 'crates', 'bench', 'src', 'token.hex'), 'utf8').trim();
    assert.equal('0x' + committed, compile('Token.sol', 'Token').bytecode, 'regenerate crates/bench/src/token.hex from tests/e2e/contracts/Token.sol');
  });

  it('load: every accepted transaction is included and every nonce checks out', async () => {
    const node = await startDev();
    try {
      const report = await bench(['load', '--rpc', node.url, '--txs', '300', '--accounts', '8', '--mix', 'mixed']);
      assert.equal(report.sent, 300);
      assert.equal(report.accepted, 300);
      assert.equal(report.included, 300);
      assert.equal(report.nonces_ok, true);
      assert.ok(report.included_tps > 0 && report.latency_ms.p50 > 0 && report.latency_ms.p99 >= report.latency_ms.p50);
      assert.ok(report.fee_wei_per_transfer > 0 && report.fee_wei_per_erc20 > report.fee_wei_per_transfer);
      const counted = report.blocks.reduce((n, b) => n + b.workload_txs, 0);
      assert.equal(counted, 300, 'the blocks it saw hold exactly the workload');
      await checkSamples(node.url, report.transactions.slice(0, 10).map((t) => ({ hash: t.hash, block: t.block, fee_wei: t.fee_wei })));
      // The same over one WebSocket connection.
      const ws = await bench(['load', '--rpc', node.ws, '--txs', '200', '--accounts', '4', '--rate', '400']);
      assert.equal(ws.rpc, node.ws);
      assert.equal(ws.included, 200);
      assert.equal(ws.nonces_ok, true);
      await checkSamples(node.url, ws.transactions.slice(0, 10).map((t) => ({ hash: t.hash, block: t.block, fee_wei: t.fee_wei })));
      // The client pattern: one lane per account, every receipt polled until it appears.
      const poll = await bench(['load', '--rpc', node.url, '--txs', '200', '--accounts', '4', '--receipts', 'poll', '--poll-ms', '20']);
      assert.equal(poll.accepted, 200);
      assert.equal(poll.included, 200);
      assert.equal(poll.nonces_ok, true);
      assert.equal(poll.stalled, null);
      assert.equal(poll.receipt_ms.count, 200, 'every receipt was found by polling');
      assert.ok(poll.receipt_ms.p50 > 0 && poll.receipt_ms.p99 >= poll.receipt_ms.p50);
      assert.ok(poll.receipts_seconds > 0 && Math.abs(poll.receipts_tps - 200 / poll.receipts_seconds) < 1e-6);
      for (const t of poll.transactions) assert.ok(t.receipt_ms >= t.latency_ms - 50, 'a receipt is not found long before its block is seen');
    } finally {
      await node.stop('SIGINT');
    }
  });

  it('compare: L1 and L2 side by side in report.json, report.md and report.html, consistent with both chains', async () => {
    const devnet = await startDevnet(['--challenge-window', '10', '--output-interval', '8']);
    const out = tempDir('tandem-bench-');
    try {
      // The peer is a port nobody listens on: its column stays, saying why it has no figures.
      const dead = `http://127.0.0.1:${await freePort()}`;
      const report = await bench(['compare', '--txs', '400', '--client-txs', '200', '--l1-rpc', devnet.url, '--l2-rpc', devnet.info.l2.rpc, '--peer', dead, '--out', out]);
      const file = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      assert.deepEqual(file.l1.tps, report.l1.tps, 'report.json is what was printed');
      for (const layer of ['l1', 'l2']) {
        const c = file[layer];
        assert.equal(c.sent, 400);
        assert.equal(c.included, 400, `${layer}: all included`);
        assert.equal(c.nonces_ok, true);
        assert.ok(c.tps > 0 && c.latency_ms.p50 > 0 && c.latency_ms.p99 >= c.latency_ms.p50);
        assert.ok(c.fee_wei_per_transfer > 0 && c.fee_wei_per_erc20 > 0);
      }
      assert.equal(file.l1.chain_id, 900);
      assert.equal(file.l2.chain_id, 901);
      for (const key of ['preconf_ms', 'safe_ms']) {
        assert.ok(file.l2[key].count > 0 && file.l2[key].p50 > 0 && file.l2[key].p99 >= file.l2[key].p50, key);
      }
      assert.ok(file.l2.safe_ms.p50 > file.l2.preconf_ms.p50, 'safe comes after the preconfirmation');
      assert.equal(file.l2.challenge_window_s, 10);
      assert.ok(file.l2.finalized_ms && file.l2.finalized_ms.count === 400, 'every transaction finalized');
      assert.ok(file.l2.finalized_ms.p50 >= 9_000 && file.l2.finalized_ms.p50 > file.l2.safe_ms.p50, 'final after the window');
      const split = file.l2.execution_fee_wei_per_transfer + file.l2.l1_data_fee_wei_per_transfer;
      assert.ok(Math.abs(split - file.l2.fee_wei_per_transfer) <= 1, 'execution + L1 data = the fee (means, rounded down)');
      assert.ok(file.l2.fee_wei_per_transfer < file.l1.fee_wei_per_transfer, 'a transfer is cheaper on L2');
      assert.ok(file.l2.l1_bytes_per_tx > 0 && file.l2.compression_ratio > 1);
      assert.ok(file.congestion.length > 0);
      assert.ok(file.machine.cores >= 1 && file.tradeoffs.l2_finality);
      // One withdrawal's whole life: output, the 10 s window, and payout right after it.
      const w = file.l2.withdrawal;
      assert.ok(w, 'the withdrawal life was measured');
      assert.equal(w.challenge_window_s, 10);
      assert.ok(w.total_ms >= 10_000 && w.total_ms > w.to_output_ms, 'paid after the window');
      assert.ok(w.l1_blocks_after_window >= 1 && w.l1_blocks_after_window <= 2, `paid ${w.l1_blocks_after_window} L1 blocks past the window`);
      const paid = await rawRpc(devnet.url, 'eth_getTransactionReceipt', [w.l1_transaction]);
      assert.equal(paid.result.status, '0x1');
      assert.equal(file.peer.rpc, dead);
      assert.match(file.peer.stalled, /127\.0\.0\.1/, 'the peer column says why it is empty');
      // The client pattern on a tandem dev node the run started, both layers and the peer.
      assert.deepEqual(Object.keys(file.client).sort(), ['dev', 'l1', 'l2', 'peer']);
      for (const name of ['dev', 'l1', 'l2']) {
        const c = file.client[name];
        assert.equal(c.accepted, 200, `${name}: all accepted`);
        assert.equal(c.receipt_ms.count, 200, `${name}: every receipt polled`);
        assert.ok(c.tps > 0 && c.receipt_ms.p50 > 0, name);
        assert.equal(c.stalled, null, name);
      }
      assert.equal(file.client.peer.accepted, 0);
      assert.ok(file.client.peer.stalled);
      assert.equal(file.targets.length, 10);
      for (const t of file.targets) assert.equal(typeof t.met, 'boolean', t.what);
      await checkSamples(devnet.url, file.samples.l1);
      await checkSamples(devnet.info.l2.rpc, file.samples.l2);
      const md = readFileSync(join(out, 'report.md'), 'utf8');
      assert.match(md, /\| included tx\/s \|/);
      assert.match(md, /\| client pattern \| dev \| l1 \| l2 \| peer \|/);
      const html = readFileSync(join(out, 'report.html'), 'utf8');
      assert.equal((html.match(/<svg/g) || []).length, 3, 'three charts');
      for (const chart of ['throughput', 'latency', 'fees']) assert.ok(existsSync(join(out, `${chart}.svg`)));
    } finally {
      await devnet.stop('SIGINT');
      cleanup(out);
    }
  });
});
