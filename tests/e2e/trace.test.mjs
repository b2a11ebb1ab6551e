// Tracing with the tools developers use: Foundry's `cast run` and `cast rpc debug_traceTransaction`
// against `tandem dev`, the devnet's L1 and its L2, on a transaction whose inner call reverts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ethers } from 'ethers';
import { startDev, startDevnet, compile, foundryBin } from './lib/node.mjs';

const CAST = foundryBin('cast');
const cast = (...args) => execFileSync(CAST, args, { encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });

for (const mode of ['dev', 'devnet', 'l2']) describe(`tracing on tandem ${mode} with cast`, () => {
  const L2 = mode === 'l2';
  let node, url, rpc, wallet, inner, outer, tx, receipt;

  before(async () => {
    node = mode === 'dev' ? await startDev() : await startDevnet(['--no-explorer']);
    url = L2 ? node.info.l2.rpc : node.url;
    rpc = new ethers.JsonRpcProvider(url, L2 ? 901 : 900, { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
    wallet = new ethers.Wallet(node.info.accounts[5].privateKey, rpc);
    const deploy = async (name) => {
      const { abi, bytecode } = compile('Trace.sol', name);
      const contract = await new ethers.ContractFactory(abi, bytecode, wallet).deploy();
      await contract.waitForDeployment();
      return contract;
    };
    inner = await deploy('Inner');
    outer = await deploy('Outer');
    tx = await outer.go(await inner.getAddress(), { value: 1000n });
    receipt = await tx.wait();
    assert.equal(receipt.status, 1);
  });

  after(async () => {
    rpc.destroy();
    const { code } = await node.stop('SIGINT');
    assert.equal(code, 0, `clean shutdown on Ctrl-C: ${node.stderr()}`);
  });

  it('debug_traceTransaction with the callTracer shows the inner call and its revert', () => {
    const trace = JSON.parse(cast('rpc', '--rpc-url', url, 'debug_traceTransaction', tx.hash, '{"tracer":"callTracer"}'));
    assert.equal(trace.type, 'CALL');
    assert.equal(ethers.getAddress(trace.from), wallet.address);
    assert.equal(ethers.getAddress(trace.to), outer.target);
    assert.equal(BigInt(trace.value), 1000n);
    assert.equal(trace.error, undefined);
    assert.equal(trace.calls.length, 1, JSON.stringify(trace));
    const [call] = trace.calls;
    assert.equal(ethers.getAddress(call.to), inner.target);
    assert.equal(call.input.slice(0, 10), inner.interface.getFunction('fail').selector);
    assert.equal(call.error, 'execution reverted');
    assert.equal(call.revertReason, 'inner says no');
  });

  it('the prestateTracer in diff mode reports exactly the changed balances and slots', async () => {
    const diff = JSON.parse(cast('rpc', '--rpc-url', url, 'debug_traceTransaction', tx.hash, '{"tracer":"prestateTracer","tracerConfig":{"diffMode":true}}'));
    const key = (address) => Object.keys(diff.post).find((k) => ethers.getAddress(k) === address);
    const slot0 = ethers.zeroPadValue('0x00', 32);
    const outerPost = diff.post[key(outer.target)];
    assert.equal(BigInt(outerPost.storage[slot0]), 1n, 'tries went to 1');
    assert.equal(BigInt(outerPost.balance), 1000n, 'Outer holds the value sent');
    assert.equal(diff.post[key(wallet.address)].nonce, 3);
    // Each account in post changed; the balances it gives are the ones the chain now has.
    const block = receipt.blockNumber;
    // The fee recipient also takes the fees of the block's later transactions (a devnet's batcher
    // and proposer share blocks with it): at the block's end it holds at least the post balance.
    const recipient = ethers.getAddress((await rpc.getBlock(block)).miner);
    for (const [address, after] of Object.entries(diff.post)) {
      const before = diff.pre[address] ?? {};
      assert.notDeepEqual(after, before, `${address} is in post but did not change`);
      if (after.balance === undefined) continue;
      const atEnd = await rpc.getBalance(address, block);
      if (ethers.getAddress(address) === recipient) assert.ok(BigInt(after.balance) <= atEnd, address);
      else assert.equal(BigInt(after.balance), atEnd, address);
    }
    assert.equal(key(inner.target), undefined, 'Inner changed nothing');
  });

  it('cast run replays the transaction and prints its trace', () => {
    const out = cast('run', tx.hash, '--rpc-url', url);
    assert.match(out, /Traces:/);
    assert.match(out, new RegExp(inner.target.slice(2), 'i'));
    assert.match(out, /Revert|revert/);
    assert.match(out, /Transaction successfully executed/);
  });
});
