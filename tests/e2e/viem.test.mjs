// viem against tandem dev, the devnet's L1 and its L2: multicall (deployless, and through a
// Multicall3 deployed from viem's own bytecode), simulateCalls (eth_simulateV1), getProof checked
// against the block's state root, watchBlocks over WebSocket, and on L2 the OP Stack rollup node's
// methods (optimism_syncStatus, optimism_outputAtBlock, optimism_rollupConfig) read through viem.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  createPublicClient, createWalletClient, http, webSocket, defineChain, parseEther, keccak256,
  encodeFunctionData, getContractAddress,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
// Multicall3's creation code as viem ships it (not exported by name: read from the package's file).
import { multicall3Bytecode } from './node_modules/viem/_esm/constants/contracts.js';
import { startDev, startDevnet, compile } from './lib/node.mjs';

for (const mode of ['dev', 'devnet', 'l2']) describe(`viem on tandem ${mode}`, () => {
  const L2 = mode === 'l2';
  let node, chain, client, ws, wallet, account, token;

  before(async () => {
    node = mode === 'dev' ? await startDev() : await startDevnet(['--no-explorer']);
    const endpoint = L2 ? node.info.l2 : { rpc: node.url, ws: node.ws };
    chain = defineChain({
      id: L2 ? 901 : 900,
      name: `tandem ${mode}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [endpoint.rpc], webSocket: [endpoint.ws] } },
    });
    client = createPublicClient({ chain, transport: http(endpoint.rpc), pollingInterval: 50 });
    ws = createPublicClient({ chain, transport: webSocket(endpoint.ws) });
    account = privateKeyToAccount(node.info.accounts[7].privateKey);
    wallet = createWalletClient({ account, chain, transport: http(endpoint.rpc) });
    const { abi, bytecode } = compile('Token.sol', 'Token');
    const hash = await wallet.deployContract({ abi, bytecode, args: ['Viem Token', 'VIEM', 10n ** 24n] });
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    assert.equal(receipt.status, 'success');
    token = { address: receipt.contractAddress, abi };
  });

  after(async () => {
    await ws.transport.getRpcClient().then((c) => c.close()).catch(() => {});
    const { code } = await node.stop('SIGINT');
    assert.equal(code, 0, `clean shutdown on Ctrl-C: ${node.stderr()}`);
  });

  it('multicall reads several contracts in one call, deployless and through Multicall3', async () => {
    const contracts = [
      { ...token, functionName: 'balanceOf', args: [account.address] },
      { ...token, functionName: 'decimals' },
      { ...token, functionName: 'symbol' },
    ];
    const deployless = await client.multicall({ contracts, deployless: true });
    assert.deepEqual(deployless.map((r) => r.status), ['success', 'success', 'success']);
    assert.ok(deployless[0].result > 0n);
    // A Multicall3 of our own (viem's bytecode), then the same read through it.
    const nonce = await client.getTransactionCount({ address: account.address });
    const hash = await wallet.sendTransaction({ data: multicall3Bytecode });
    assert.equal((await client.waitForTransactionReceipt({ hash, pollingInterval: 50 })).status, 'success');
    const multicallAddress = getContractAddress({ from: account.address, nonce: BigInt(nonce) });
    const through = await client.multicall({ contracts, multicallAddress });
    assert.deepEqual(through, deployless);
    // A failing read is reported per call, not as a failure of the whole.
    const [failed] = await client.multicall({
      contracts: [{ ...token, functionName: 'transferFrom', args: [account.address, account.address, 10n ** 30n] }],
      multicallAddress,
    });
    assert.equal(failed.status, 'failure');
  });

  it('simulateCalls (eth_simulateV1) runs calls in order without sending them', async () => {
    const to = '0x00000000000000000000000000000000000c0ffe';
    const before = await client.getBalance({ address: to });
    const { results } = await client.simulateCalls({
      account: account.address,
      calls: [
        { to, value: parseEther('1') },
        { to: token.address, data: encodeFunctionData({ abi: token.abi, functionName: 'transfer', args: [to, 5n] }) },
        { to: token.address, data: encodeFunctionData({ abi: token.abi, functionName: 'balanceOf', args: [to] }) },
      ],
    });
    assert.deepEqual(results.map((r) => r.status), ['success', 'success', 'success']);
    assert.equal(BigInt(results[2].data), 5n, 'the third call sees the second');
    assert.equal(results[1].logs.length, 1, 'the transfer emitted its event');
    assert.equal(await client.getBalance({ address: to }), before, 'nothing was sent');
  });

  it('getProof answers a proof whose root node is the block\'s state root', async () => {
    const block = await client.getBlock();
    const proof = await client.getProof({ address: token.address, storageKeys: ['0x' + '0'.repeat(64)], blockNumber: block.number });
    assert.ok(proof.accountProof.length > 0);
    assert.equal(keccak256(proof.accountProof[0]), block.stateRoot);
    assert.equal(proof.storageProof.length, 1);
    assert.ok(proof.storageProof[0].proof.length > 0);
    assert.equal(keccak256(proof.storageProof[0].proof[0]), proof.storageHash);
  });

  it('watchBlocks over WebSocket sees new blocks in order', async () => {
    const seen = [];
    const done = new Promise((resolve, reject) => {
      const stop = ws.watchBlocks({
        onBlock: (b) => { seen.push(b.number); if (seen.length >= 2) { stop(); resolve(); } },
        onError: reject,
      });
    });
    // Blocks come with transactions on dev (instant mining) and on their own on the devnet.
    const send = setInterval(() => wallet.sendTransaction({ to: account.address, value: 1n }).catch(() => {}), 300);
    await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error('no blocks in 60 s')), 60_000))]).finally(() => clearInterval(send));
    assert.ok(seen[1] > seen[0], `${seen}`);
  });

  if (L2) it('reads the rollup node as OP Stack clients do: optimism_syncStatus, outputAtBlock, rollupConfig', async () => {
    const status = await client.request({ method: 'optimism_syncStatus' });
    for (const key of ['head_l1', 'safe_l1', 'finalized_l1', 'unsafe_l2', 'safe_l2', 'finalized_l2']) {
      assert.ok(status[key], `${key} in ${JSON.stringify(status)}`);
    }
    const head = await client.getBlock();
    assert.ok(BigInt(status.unsafe_l2.number) <= head.number + 1n);
    const output = await client.request({ method: 'optimism_outputAtBlock', params: [`0x${head.number.toString(16)}`] });
    assert.equal(output.blockRef.hash, head.hash);
    assert.match(output.outputRoot, /^0x[0-9a-f]{64}$/);
    const config = await client.request({ method: 'optimism_rollupConfig' });
    assert.equal(BigInt(config.l2_chain_id), 901n);
  });
});
