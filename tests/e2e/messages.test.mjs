// Cross-layer messages and the standard token bridge end to end on a devnet, driven by ethers.js
// and the `tandem bridge` CLI: an L1 contract sets a value in an L2 contract that checks
// xDomainMessageSender, an L2 contract answers an L1 contract after the challenge window, a
// message out of gas is relayed again once, and an ERC-20 goes to L2 and back with exact balances.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { ethers } from 'ethers';
import { startDevnet, compile, tandemBin, rawRpc, waitFor, revertName } from './lib/node.mjs';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ETH = 10n ** 18n;
const L1_MESSENGER = '0x000000000000000000000000000000000000b0a5';
const L1_BRIDGE = '0x000000000000000000000000000000000000b0a6';
const L2_MESSENGER = '0x4200000000000000000000000000000000000007';
const L2_BRIDGE = '0x4200000000000000000000000000000000000010';
const WINDOW = 12;
const MNEMONIC = 'test test test test test test test test test test test junk';

const devKey = (i) => ethers.HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).privateKey;

function provider(url, chainId) {
  return new ethers.JsonRpcProvider(url, chainId, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
}

async function rpc(url, method, params) {
  const res = await rawRpc(url, method, params);
  if (res.error) throw new Error(`${method}: ${JSON.stringify(res.error)}`);
  return res.result;
}

describe('messages and tokens across a devnet', () => {
  let net, l1, l2, common;
  const messengerAbi = compile('contracts/ICrossDomainMessenger.sol', 'IL1CrossDomainMessenger').abi;
  const bridgeAbi = compile('contracts/IStandardBridge.sol', 'IStandardBridge').abi;
  const bridgedAbi = compile('contracts/IStandardBridge.sol', 'IBridgedERC20').abi;
  const test = (name) => compile('contracts/test/BridgeTest.sol', name);

  before(async () => {
    net = await startDevnet(['--challenge-window', String(WINDOW), '--output-interval', '8']);
    l1 = provider(net.url, 900);
    l2 = provider(net.info.l2.rpc, 901);
    common = ['--l1-rpc', net.url, '--l2-rpc', net.info.l2.rpc, '--json'];
  });
  after(async () => { await net?.stop(); });

  async function deploy(name, signer, ...args) {
    const { abi, bytecode } = test(name);
    const contract = await new ethers.ContractFactory(abi, bytecode, signer).deploy(...args);
    await contract.waitForDeployment();
    return contract;
  }

  /** The message a transaction's SentMessage announced, as relayMessage takes it. */
  function sentMessage(receipt, messenger) {
    const logs = receipt.logs.map((l) => { try { return messenger.interface.parseLog(l); } catch { return null; } });
    const sent = logs.find((e) => e?.name === 'SentMessage');
    const value = logs.find((e) => e?.name === 'SentMessageExtension1').args.value;
    const args = [sent.args.messageNonce, sent.args.sender, sent.args.target, value, sent.args.gasLimit, sent.args.message];
    const hash = ethers.keccak256(messenger.interface.encodeFunctionData('relayMessage', args));
    return { args, hash };
  }

  /** Waits until the L2 transaction's withdrawals can be finalized, then relays them with the CLI. */
  async function relayOnL1(l2Hash, mnemonicIndex) {
    const { stdout } = await run(tandemBin(), ['bridge', 'finalize', l2Hash, '--mnemonic-index', String(mnemonicIndex), ...common], { timeout: (WINDOW + 120) * 1000 });
    return JSON.parse(stdout);
  }

  it('builds the same bridge contracts from contracts/src as genesis places', async () => {
    // Reproducible: a fresh solc build equals what is committed, which is what genesis holds.
    await run('node', [join(root, 'contracts', 'build.mjs'), '--check']);
    const built = (name) => '0x' + readHex(name);
    assert.equal(await l1.getCode(L1_MESSENGER), built('L1CrossDomainMessenger'));
    assert.equal(await l1.getCode(L1_BRIDGE), built('L1StandardBridge'));
    assert.equal(await l2.getCode(L2_MESSENGER), built('L2CrossDomainMessenger'));
    assert.equal(await l2.getCode(L2_BRIDGE), built('L2StandardBridge'));
  });

  it('lets an L1 contract set a value in an L2 contract that checks xDomainMessageSender; an out-of-gas message is relayed again once', async () => {
    const l1Signer = new ethers.Wallet(devKey(6), l1);
    const l2Signer = new ethers.Wallet(devKey(6), l2);
    const sender = await deploy('MessageSender', l1Signer);
    const receiver = await deploy('MessageReceiver', l2Signer, L2_MESSENGER, await sender.getAddress());
    const setCall = (value, work) => receiver.interface.encodeFunctionData('set', [value, work]);
    const l1Messenger = new ethers.Contract(L1_MESSENGER, messengerAbi, l1);
    const l2Messenger = new ethers.Contract(L2_MESSENGER, messengerAbi, l2Signer);

    const sent = await (await sender.send(L1_MESSENGER, await receiver.getAddress(), setCall(42, 0), 100_000, { value: ETH / 10n })).wait();
    const first = sentMessage(sent, l1Messenger);
    await waitFor('the message on L2', async () => (await receiver.value()) === 42n);
    assert.equal(await receiver.received(), ETH / 10n, 'the ETH came with it');
    assert.equal(await l2Messenger.successfulMessages(first.hash), true);
    // Anyone but the messenger, relaying a message from the trusted sender, is refused.
    await assert.rejects(receiver.set(666, 0));

    // Too little gas for its work: recorded as failed on L2, its ETH held by the messenger.
    const starved = await (await sender.send(L1_MESSENGER, await receiver.getAddress(), setCall(7, 100), 50_000, { value: 12345n })).wait();
    const message = sentMessage(starved, l1Messenger);
    await waitFor('the failed relay on L2', () => l2Messenger.failedMessages(message.hash));
    assert.equal(await receiver.value(), 42n);
    assert.equal(await l2.getBalance(L2_MESSENGER), 12345n);
    // Anyone relays it again with more gas: it succeeds, once.
    const relayer = new ethers.Wallet(devKey(7), l2);
    const replay = await (await l2Messenger.connect(relayer).relayMessage(...message.args, { gasLimit: 5_000_000n })).wait();
    assert.equal(replay.status, 1);
    assert.equal(await receiver.value(), 7n);
    assert.equal(await receiver.received(), ETH / 10n + 12345n);
    assert.equal(await l2Messenger.successfulMessages(message.hash), true);
    // A third relay is refused and changes nothing.
    await assert.rejects(l2Messenger.connect(relayer).relayMessage(...message.args), /already been relayed/);
    assert.equal(await receiver.calls(), 2n);
  });

  it('lets an L2 contract send a message that an L1 contract receives after the window', async () => {
    const l1Signer = new ethers.Wallet(devKey(8), l1);
    const l2Signer = new ethers.Wallet(devKey(8), l2);
    const sender = await deploy('MessageSender', l2Signer);
    const receiver = await deploy('MessageReceiver', l1Signer, L1_MESSENGER, await sender.getAddress());
    // ETH sent to L1 must have been deposited through the Portal first (it backs L2's ETH).
    const portal = new ethers.Contract('0x000000000000000000000000000000000000b0a1', compile('contracts/IPortal.sol', 'IPortal').abi, l1Signer);
    await (await portal.depositTransaction(l2Signer.address, ETH, 100_000n, '0x', { value: ETH })).wait();
    const set = receiver.interface.encodeFunctionData('set', [99, 0]);
    const sent = await (await sender.send(L2_MESSENGER, await receiver.getAddress(), set, 100_000, { value: ETH / 20n })).wait();
    assert.equal(sent.status, 1);
    // Before the window: the proof's output is not final, the L1 messenger refuses it.
    const covered = await waitFor('an output covering the message', async () => {
      const [s] = await rpc(net.info.l2.rpc, 'tandem_withdrawalStatus', [sent.hash]);
      return s.stage === 'in_output' && s;
    });
    const early = (await rpc(net.info.l2.rpc, 'tandem_withdrawalProof', [sent.hash, covered.output.index]))[0];
    const l1Messenger = new ethers.Contract(L1_MESSENGER, messengerAbi, l1Signer);
    const args = (p) => [
      [p.withdrawal.nonce, p.withdrawal.sender, p.withdrawal.target, p.withdrawal.value, p.withdrawal.gasLimit, p.withdrawal.data],
      p.outputIndex,
      [p.outputRootProof.version, p.outputRootProof.stateRoot, p.outputRootProof.messagePasserStorageRoot, p.outputRootProof.blockHash],
      p.withdrawalProof,
    ];
    const portalIface = new ethers.Interface(compile('contracts/IPortal.sol', 'IPortal').abi);
    assert.equal(await revertName(portalIface, l1Messenger.relayMessageWithProof(...args(early))), 'OutputNotFinal');
    assert.equal(await receiver.value(), 0n);
    // After it: the CLI relays it through the L1 messenger, once.
    const relayed = await relayOnL1(sent.hash, 9);
    assert.equal(relayed.finalized.length, 1);
    assert.equal(await receiver.value(), 99n);
    assert.equal(await receiver.received(), ETH / 20n);
    const [done] = await rpc(net.info.l2.rpc, 'tandem_withdrawalStatus', [sent.hash]);
    assert.equal(done.stage, 'finalized');
    const proof = (await rpc(net.info.l2.rpc, 'tandem_withdrawalProof', [sent.hash, done.output.index]))[0];
    assert.equal(await revertName(portalIface, l1Messenger.relayMessageWithProof(...args(proof))), 'AlreadyFinalized');
    // The Portal pays a withdrawal with data only to its target's own call.
    assert.equal(await revertName(portalIface, portal.finalizeWithdrawal(...args(proof))), 'OnlyTarget');
  });

  it('deposits an L1 ERC-20, transfers it on L2, withdraws and releases it, with exact balances at every step', async () => {
    const owner = new ethers.Wallet(devKey(6), l1);
    const holder = new ethers.Wallet(devKey(7), l2);
    const friend = new ethers.Wallet(devKey(8), l2);
    const token = await deploy('TestToken', owner, 'Tandem Test', 'TT', 6, 0);
    const tokenAddress = await token.getAddress();
    await (await token.mint(owner.address, 1_000_000n)).wait();
    await (await token.approve(L1_BRIDGE, 1_000_000n)).wait();
    const l1Bridge = new ethers.Contract(L1_BRIDGE, bridgeAbi, owner);
    const l2Bridge = new ethers.Contract(L2_BRIDGE, bridgeAbi, l2);
    const l2Address = await l2Bridge.representationOf(tokenAddress);
    const l2Token = new ethers.Contract(l2Address, bridgedAbi, l2);

    const deposit = await (await l1Bridge.bridgeERC20To(tokenAddress, holder.address, 600_000n, 1_500_000)).wait();
    const initiated = deposit.logs.map((l) => { try { return l1Bridge.interface.parseLog(l); } catch { return null; } }).find((e) => e?.name === 'ERC20BridgeInitiated');
    assert.equal(initiated.args.remoteToken, l2Address, 'the L2 address is known before the deposit lands');
    assert.equal(await token.balanceOf(owner.address), 400_000n);
    assert.equal(await token.balanceOf(L1_BRIDGE), 600_000n);
    assert.equal(await l1Bridge.locked(tokenAddress), 600_000n);
    await waitFor('the tokens on L2', async () => (await l2.getCode(l2Address)) !== '0x' && (await l2Token.balanceOf(holder.address)) === 600_000n);
    assert.equal(await l2Token.name(), 'Tandem Test');
    assert.equal(await l2Token.symbol(), 'TT');
    assert.equal(await l2Token.decimals(), 6n);
    assert.equal(await l2Token.totalSupply(), 600_000n);
    assert.equal(await l2Token.remoteToken(), tokenAddress);
    assert.equal(await l2Bridge.nativeOf(l2Address), tokenAddress);

    await (await l2Token.connect(holder).transfer(friend.address, 250_000n)).wait();
    assert.equal(await l2Token.balanceOf(holder.address), 350_000n);
    assert.equal(await l2Token.balanceOf(friend.address), 250_000n);

    const withdraw = await (await l2Bridge.connect(friend).bridgeERC20To(l2Address, owner.address, 100_000n, 200_000)).wait();
    assert.equal(await l2Token.balanceOf(friend.address), 150_000n);
    assert.equal(await l2Token.totalSupply(), 500_000n, 'burnt on L2');
    assert.equal(await token.balanceOf(owner.address), 400_000n, 'nothing released before the window');
    const relayed = await relayOnL1(withdraw.hash, 9);
    assert.equal(relayed.finalized.length, 1);
    assert.equal(await token.balanceOf(owner.address), 500_000n);
    assert.equal(await token.balanceOf(L1_BRIDGE), 500_000n);
    assert.equal(await l1Bridge.locked(tokenAddress), 500_000n);
    assert.equal(await l2Token.totalSupply(), 500_000n, 'locked on L1 = minted on L2 less released');

    // A fee-on-transfer token is refused, and nothing moves.
    const feeToken = await deploy('TestToken', owner, 'Fee', 'FEE', 18, 10);
    await (await feeToken.mint(owner.address, 1_000n)).wait();
    await (await feeToken.approve(L1_BRIDGE, 1_000n)).wait();
    await assert.rejects(l1Bridge.bridgeERC20(await feeToken.getAddress(), 1_000n, 1_500_000), /different amount/);
    assert.equal(await feeToken.balanceOf(owner.address), 1_000n);
  });

  it('moves a token and a message with the CLI, and relays a failed message again', async () => {
    const key = 9;
    const me = new ethers.Wallet(devKey(key));
    const owner = new ethers.Wallet(devKey(key), l1);
    const cli = async (...args) => JSON.parse((await run(tandemBin(), ['bridge', ...args, '--mnemonic-index', String(key), ...common], { timeout: (WINDOW + 120) * 1000 })).stdout);
    const token = await deploy('TestToken', owner, 'Cli Token', 'CLI', 6, 0);
    const tokenAddress = await token.getAddress();
    await (await token.mint(me.address, 5_000_000n)).wait();
    // A deposit of 1.5 tokens (6 decimals): the CLI approves the bridge and waits for L2.
    const deposited = await cli('deposit', '--token', tokenAddress, '--amount', '1.5');
    assert.equal(deposited.delivery, 'relayed');
    assert.equal(deposited.messages.length, 1);
    const l2Address = await new ethers.Contract(L2_BRIDGE, bridgeAbi, l2).representationOf(tokenAddress);
    const l2Token = new ethers.Contract(l2Address, bridgedAbi, l2);
    assert.equal(await l2Token.balanceOf(me.address), 1_500_000n);
    assert.equal(await token.balanceOf(me.address), 3_500_000n);

    // A message with too little gas for its work: the deposit records it as failed; the CLI
    // relays it again, once.
    const l2Signer = new ethers.Wallet(devKey(key), l2);
    const receiver = await deploy('MessageReceiver', l2Signer, L2_MESSENGER, me.address);
    const calldata = receiver.interface.encodeFunctionData('set', [77, 100]);
    const starved = await cli('deposit', '--message', await receiver.getAddress(), calldata, '--min-gas-limit', '50000');
    assert.equal(starved.delivery, 'failed');
    const statusOf = async () => JSON.parse((await run(tandemBin(), ['bridge', 'status', starved.transaction, '--from', 'l1', ...common])).stdout);
    assert.deepEqual((await statusOf()).map((s) => s.stage), ['failed']);
    assert.equal(await receiver.value(), 0n);
    const [relayed] = await cli('relay', starved.transaction, '--from', 'l1');
    assert.equal(relayed.outcome, 'relayed');
    assert.equal(await receiver.value(), 77n);
    assert.deepEqual((await statusOf()).map((s) => s.stage), ['relayed']);
    const [again] = await cli('relay', starved.transaction, '--from', 'l1');
    assert.equal(again.outcome, 'already relayed');
    // Bad input changes nothing: no such token amount, no such target.
    await assert.rejects(cli('deposit', '--token', tokenAddress, '--amount', 'lots'), /not an amount/);
    await assert.rejects(cli('deposit', '--message', 'nowhere', '0x'), /not an address/);

    // Back to L1: the representation is burnt, then released after the window.
    const withdrawn = await cli('withdraw', '--token', l2Address, '--amount', '0.5');
    assert.equal(withdrawn.layer, 'l2');
    assert.equal(await l2Token.balanceOf(me.address), 1_000_000n);
    const finalized = await cli('finalize', withdrawn.transaction);
    assert.equal(finalized.finalized.length, 1);
    assert.equal(await token.balanceOf(me.address), 4_000_000n);
    assert.equal(await new ethers.Contract(L1_BRIDGE, bridgeAbi, l1).locked(tokenAddress), 1_000_000n);
  });
});

function readHex(name) {
  // contracts/build/<name>.hex, as committed.
  return readFileSync(join(root, 'contracts', 'build', `${name}.hex`), 'utf8').trim();
}
