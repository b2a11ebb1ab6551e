// The bridge end to end on a devnet: deposits from L1 credited on L2 (also through a contract,
// aliased), a withdrawal proven and paid out on L1 after the challenge window, exactly once,
// bad proofs refused, and a censoring sequencer overruled by the Portal's forced inclusion.
// Driven by ethers.js and the `tandem bridge` CLI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ethers } from 'ethers';
import { startDevnet, startL2, compile, tandemBin, rawRpc, waitFor, revertName } from './lib/node.mjs';

const run = promisify(execFile);
const ETH = 10n ** 18n;
const PORTAL = '0x000000000000000000000000000000000000b0a1';
const ORACLE = '0x000000000000000000000000000000000000b0a2';
const PASSER = '0x4200000000000000000000000000000000000016';
const L1_BLOCK = '0x4200000000000000000000000000000000000015';
const WINDOW = 12;

function provider(url, chainId) {
  return new ethers.JsonRpcProvider(url, chainId, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
}

async function rpc(url, method, params) {
  const res = await rawRpc(url, method, params);
  if (res.error) throw new Error(`${method}: ${JSON.stringify(res.error)}`);
  return res.result;
}

function alias(address) {
  const sum = (BigInt(address) + 0x1111000000000000000000000000000000001111n) % (1n << 160n);
  return ethers.getAddress('0x' + sum.toString(16).padStart(40, '0'));
}

/** The newest L2 deposit transaction (type 0x7e) from `from`, searching back from the head. */
async function findDeposit(l2, from) {
  const head = await l2.getBlockNumber();
  for (let n = head; n >= 0 && n > head - 400; n--) {
    const block = await l2.send('eth_getBlockByNumber', [ethers.toQuantity(n), true]);
    const tx = block.transactions.find((t) => t.type === '0x7e' && ethers.getAddress(t.from) === ethers.getAddress(from));
    if (tx) return tx;
  }
  return null;
}

describe('the bridge on a devnet', () => {
  let net, l1, l2, portal, oracle, passer;
  const portalAbi = compile('contracts/IPortal.sol', 'IPortal').abi;
  const oracleAbi = compile('contracts/IOutputOracle.sol', 'IOutputOracle').abi;
  const passerAbi = compile('contracts/IL2ToL1MessagePasser.sol', 'IL2ToL1MessagePasser').abi;

  before(async () => {
    net = await startDevnet(['--challenge-window', String(WINDOW), '--output-interval', '8']);
    assert.equal(net.info.bridge.challengeWindow, WINDOW);
    l1 = provider(net.url, 900);
    l2 = provider(net.info.l2.rpc, 901);
    portal = new ethers.Contract(PORTAL, portalAbi, l1);
    oracle = new ethers.Contract(ORACLE, oracleAbi, l1);
    passer = new ethers.Contract(PASSER, passerAbi, l2);
  });
  after(async () => { await net?.stop(); });

  const user = new ethers.Wallet(ethers.HDNodeWallet.fromPhrase('test test test test test test test test test test test junk', undefined, "m/44'/60'/0'/0/2").privateKey);
  let withdrawal;

  it('credits a 1 ETH deposit on L2 within 2 L1 blocks of its (final) L1 block', async () => {
    const signer = user.connect(l1);
    const before = await l2.getBalance(user.address);
    const tx = await portal.connect(signer).depositTransaction(user.address, ETH, 100_000n, '0x', { value: ETH });
    const receipt = await tx.wait();
    assert.equal(receipt.status, 1);
    const event = receipt.logs.map((l) => portal.interface.parseLog(l)).find((e) => e?.name === 'TransactionDeposited');
    assert.ok(event, 'TransactionDeposited');
    assert.equal(event.args.mint, ETH);
    // BFT finality: the deposit's L1 block is final when it is committed.
    const finalized = await l1.send('eth_getBlockByNumber', ['finalized', false]);
    assert.ok(BigInt(finalized.number) >= BigInt(receipt.blockNumber));
    await waitFor('the deposit on L2', async () => (await l2.getBalance(user.address)) >= before + ETH);
    const deposit = await findDeposit(l2, user.address);
    assert.ok(deposit, 'a 0x7e transaction on L2');
    assert.equal(BigInt(deposit.mint), ETH);
    assert.equal(BigInt(deposit.value), ETH);
    // ethers reads the deposit transaction and its receipt.
    const parsed = await l2.getTransaction(deposit.hash);
    assert.equal(parsed.type, 126);
    const l2Receipt = await l2.getTransactionReceipt(deposit.hash);
    assert.equal(l2Receipt.status, 1);
    // Its L2 block's L1 origin (L1Block.number) is at most 2 L1 blocks after the deposit's.
    const l1Block = new ethers.Contract(L1_BLOCK, ['function number() view returns (uint64)', 'function queueIndex() view returns (uint64)'], l2);
    const origin = await l1Block.number({ blockTag: l2Receipt.blockNumber });
    assert.ok(origin >= BigInt(receipt.blockNumber) && origin <= BigInt(receipt.blockNumber) + 2n, `origin ${origin} vs deposit block ${receipt.blockNumber}`);
    assert.ok((await l1Block.queueIndex({ blockTag: l2Receipt.blockNumber })) >= 1n);
    // The block's execution witness: the trie nodes under its parent's state root.
    const witness = await rpc(net.info.l2.rpc, 'tandem_executionWitness', [ethers.toQuantity(l2Receipt.blockNumber)]);
    const parentBlock = await l2.send('eth_getBlockByNumber', [ethers.toQuantity(l2Receipt.blockNumber - 1), false]);
    assert.equal(witness.parentStateRoot, parentBlock.stateRoot);
    assert.ok(witness.state.length > 0 && witness.state.some((node) => ethers.keccak256(node) === parentBlock.stateRoot), 'the witness holds the parent state root node');
    // The balance grew by exactly the deposit: deposits pay no fee.
    assert.equal(await l2.getBalance(user.address, l2Receipt.blockNumber), (await l2.getBalance(user.address, l2Receipt.blockNumber - 1)) + ETH);
  });

  it('gives a contract depositor its alias on L2', async () => {
    const { abi, bytecode } = compile('DepositForwarder.sol', 'DepositForwarder');
    const signer = new ethers.Wallet(ethers.HDNodeWallet.fromPhrase('test test test test test test test test test test test junk', undefined, "m/44'/60'/0'/0/3").privateKey, l1);
    const forwarder = await new ethers.ContractFactory(abi, bytecode, signer).deploy();
    await forwarder.waitForDeployment();
    const address = await forwarder.getAddress();
    const recipient = ethers.Wallet.createRandom().address;
    await (await forwarder.deposit(recipient, { value: ETH / 10n })).wait();
    await waitFor('the aliased deposit on L2', async () => (await l2.getBalance(recipient)) === ETH / 10n);
    const deposit = await findDeposit(l2, alias(address));
    assert.ok(deposit, `a deposit from ${alias(address)}, the alias of ${address}`);
    assert.equal(ethers.getAddress(deposit.to), ethers.getAddress(recipient));
  });

  it('withdraws 0.5 ETH: refused before the window and with wrong proofs, paid once after it', async () => {
    const signer = user.connect(l2);
    const tx = await passer.connect(signer).initiateWithdrawal(user.address, 100_000n, '0x', { value: ETH / 2n });
    const receipt = await tx.wait();
    assert.equal(receipt.status, 1);
    withdrawal = receipt.hash;
    const [initiated] = await rpc(net.info.l2.rpc, 'tandem_withdrawalStatus', [withdrawal]);
    assert.ok(['initiated', 'in_output'].includes(initiated.stage), initiated.stage);
    // Wait for an output to cover it; its window is still running.
    const covered = await waitFor('an output covering the withdrawal', async () => {
      const [s] = await rpc(net.info.l2.rpc, 'tandem_withdrawalStatus', [withdrawal]);
      return s.stage === 'in_output' && s;
    });
    assert.ok(covered.challengeWindowEndsAt >= covered.output.timestamp + WINDOW);
    const l1Signer = user.connect(l1);
    const early = (await rpc(net.info.l2.rpc, 'tandem_withdrawalProof', [withdrawal, covered.output.index]))[0];
    const args = (p) => [
      [p.withdrawal.nonce, p.withdrawal.sender, p.withdrawal.target, p.withdrawal.value, p.withdrawal.gasLimit, p.withdrawal.data],
      p.outputIndex,
      [p.outputRootProof.version, p.outputRootProof.stateRoot, p.outputRootProof.messagePasserStorageRoot, p.outputRootProof.blockHash],
      p.withdrawalProof,
    ];
    const finalize = (p) => portal.connect(l1Signer).finalizeWithdrawal(...args(p));
    assert.equal(await revertName(portal.interface, finalize(early)), 'OutputNotFinal');
    // The proof RPC refuses to prove against no final output yet.
    assert.match(JSON.stringify(await rawRpc(net.info.l2.rpc, 'tandem_withdrawalProof', [withdrawal])), /final|later output/);

    await waitFor('the window to pass', async () => {
      const [s] = await rpc(net.info.l2.rpc, 'tandem_withdrawalStatus', [withdrawal]);
      return s.stage === 'finalizable';
    }, (WINDOW + 60) * 1000);
    const proof = (await rpc(net.info.l2.rpc, 'tandem_withdrawalProof', [withdrawal]))[0];
    // A wrong output root proof, a proof against an output that does not cover it, a tampered value: refused.
    const wrongRoot = structuredClone(proof);
    wrongRoot.outputRootProof.stateRoot = ethers.ZeroHash.replace(/0$/, '1');
    assert.equal(await revertName(portal.interface, finalize(wrongRoot)), 'BadOutputRootProof');
    if (proof.outputIndex > 0) {
      const otherOutput = { ...proof, outputIndex: 0 };
      assert.equal(await revertName(portal.interface, finalize(otherOutput)), 'BadOutputRootProof');
    }
    const greedy = structuredClone(proof);
    greedy.withdrawal.value = ethers.toQuantity(BigInt(proof.withdrawal.value) + 1n);
    assert.equal(await revertName(portal.interface, finalize(greedy)), 'BadWithdrawalProof');

    const before = await l1.getBalance(user.address);
    const paid = await (await finalize(proof)).wait();
    assert.equal(paid.status, 1);
    const after = await l1.getBalance(user.address);
    assert.equal(after, before + ETH / 2n - paid.gasUsed * paid.gasPrice, 'up by exactly 0.5 ETH minus L1 gas');
    assert.equal(await revertName(portal.interface, finalize(proof)), 'AlreadyFinalized');
    const [done] = await rpc(net.info.l2.rpc, 'tandem_withdrawalStatus', [withdrawal]);
    assert.equal(done.stage, 'finalized');
    // L2's finalized head follows final outputs.
    await waitFor('the L2 finalized head to pass the withdrawal', async () => {
      const b = await l2.send('eth_getBlockByNumber', ['finalized', false]);
      return BigInt(b.number) >= BigInt(receipt.blockNumber);
    });
    assert.ok((await oracle.finalizedCount()) >= 1n);
    // The proposer takes its bonds back once its outputs are final.
    await waitFor('a bond claimed back', async () => (await l1.getBalance(ORACLE)) < (await oracle.outputCount()) * ETH);
  });

  it('runs the same life from the CLI: deposit, withdraw, status, finalize', async () => {
    const common = ['--l1-rpc', net.url, '--l2-rpc', net.info.l2.rpc, '--mnemonic-index', '4', '--json'];
    const deposited = JSON.parse((await run(tandemBin(), ['bridge', 'deposit', '--amount', '0.25', ...common])).stdout);
    assert.equal(deposited.l2CallSucceeded, true);
    assert.equal(deposited.amountWei, String(ETH / 4n));
    const withdrawn = JSON.parse((await run(tandemBin(), ['bridge', 'withdraw', '--amount', '0.1', ...common])).stdout);
    const hash = withdrawn.l2Transaction;
    const statusArgs = ['bridge', 'status', hash, '--l2-rpc', net.info.l2.rpc, '--json'];
    const [initiated] = JSON.parse((await run(tandemBin(), statusArgs)).stdout);
    assert.equal(BigInt(initiated.value), ETH / 10n);
    const { stdout } = await run(tandemBin(), ['bridge', 'finalize', hash, ...common], { timeout: (WINDOW + 90) * 1000 });
    const finalized = JSON.parse(stdout);
    assert.equal(finalized.finalized.length, 1);
    const [done] = JSON.parse((await run(tandemBin(), statusArgs)).stdout);
    assert.equal(done.stage, 'finalized');
    // A second finalize is refused.
    await assert.rejects(run(tandemBin(), ['bridge', 'finalize', hash, ...common]), /already finalized/);
  });
});

describe('forced inclusion past a censoring sequencer', () => {
  let net, sequencer, verifier;
  const censored = new ethers.Wallet(ethers.HDNodeWallet.fromPhrase('test test test test test test test test test test test junk', undefined, "m/44'/60'/0'/0/5").privateKey);

  before(async () => {
    net = await startDevnet(['--no-l2']);
    sequencer = await startL2('sequencer', net.url, ['--ignore-address', censored.address]);
    verifier = await startL2('verifier', net.url);
  });
  after(async () => {
    await verifier?.stop();
    await sequencer?.stop();
    await net?.stop();
  });

  it('includes a forced transaction within the window, and verifiers agree', async () => {
    const l1 = provider(net.url, 900);
    const l2 = provider(sequencer.url, 901);
    const raw = await censored.signTransaction({
      type: 2, chainId: 901, nonce: 0, to: ethers.Wallet.createRandom().address, value: 12345n,
      gasLimit: 21_000n, maxFeePerGas: 10n ** 9n, maxPriorityFeePerGas: 0n,
    });
    const hash = ethers.keccak256(raw);
    // The sequencer takes it into its pool but never includes it.
    await l2.send('eth_sendRawTransaction', [raw]);
    const start = await l2.getBlockNumber();
    await waitFor('a few L2 blocks', async () => (await l2.getBlockNumber()) >= start + 8);
    assert.equal(await l2.getTransactionReceipt(hash), null, 'censored');

    const portal = new ethers.Contract(PORTAL, compile('contracts/IPortal.sol', 'IPortal').abi, censored.connect(l1));
    const forced = await (await portal.forceTransaction(raw)).wait();
    assert.equal(forced.status, 1);
    const forcedAt = (await l1.getBlock(forced.blockNumber)).timestamp;
    const receipt = await waitFor('the forced transaction on L2', () => l2.getTransactionReceipt(hash), 60_000);
    assert.equal(receipt.status, 1);
    const included = await l2.getBlock(receipt.blockNumber);
    assert.ok(included.timestamp - forcedAt <= 30, `included ${included.timestamp - forcedAt} s after it was forced (window 30 s)`);
    // The verifier derives the same block from L1.
    const v = provider(verifier.url, 901);
    const derived = await waitFor('the verifier to derive it', async () => {
      const b = await v.getBlock(receipt.blockNumber);
      return b && b;
    });
    assert.equal(derived.hash, included.hash);
    assert.equal(derived.stateRoot, included.stateRoot);
  });
});
