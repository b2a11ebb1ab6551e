// `tandem dev`, `tandem devnet` and the devnet's L2 sequencer driven by an unmodified Ethereum
// client (ethers v6) and a contract compiled with solc-js: the same checks against the single node,
// the BFT network and the rollup (where each transaction also pays an L1 data fee).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ethers } from 'ethers';
import { startDev, startDevnet, compile, rawRpc } from './lib/node.mjs';

const GWEI = 10n ** 9n;
const MNEMONIC = 'test test test test test test test test test test test junk';

for (const mode of ['dev', 'devnet', 'l2']) describe(`tandem ${mode} with ethers`, () => {
  const L2 = mode === 'l2';
  const CHAIN_ID = L2 ? 901n : 900n;
  const provider = (url) => new ethers.JsonRpcProvider(url, Number(CHAIN_ID), { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
  let node, url, rpc, ws, wallets, token, tokenArtifact;

  before(async () => {
    node = mode === 'dev' ? await startDev() : await startDevnet();
    // On L2 the suite talks to the devnet's sequencer.
    url = L2 ? node.info.l2.rpc : node.url;
    rpc = provider(url);
    wallets = node.info.accounts.map((a) => new ethers.Wallet(a.privateKey, rpc));
    tokenArtifact = compile('Token.sol', 'Token');
  });

  after(async () => {
    if (ws) await ws.destroy();
    rpc.destroy();
    const { code } = await node.stop('SIGINT');
    assert.equal(code, 0, `clean shutdown on Ctrl-C: ${node.stderr()}`);
  });

  it(`serves chain ${CHAIN_ID} with the ten standard dev accounts funded`, async () => {
    assert.equal((await rpc.getNetwork()).chainId, CHAIN_ID);
    assert.equal(await rpc.send('net_version', []), String(CHAIN_ID));
    assert.match(await rpc.send('web3_clientVersion', []), /^tandem\//);
    for (let i = 0; i < 10; i++) {
      const derived = ethers.HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`);
      assert.equal(wallets[i].address, derived.address, `account ${i} comes from the standard mnemonic`);
      assert.equal(await rpc.getBalance(derived.address), 10_000n * 10n ** 18n);
    }
  });

  it('deploys an ERC-20 compiled at test time and reads it back', async () => {
    const factory = new ethers.ContractFactory(tokenArtifact.abi, tokenArtifact.bytecode, wallets[0]);
    token = await factory.deploy('Tandem Token', 'TDM', 1_000_000n * 10n ** 18n);
    await token.waitForDeployment();
    const receipt = await token.deploymentTransaction().wait();
    assert.equal(receipt.status, 1);
    assert.equal(receipt.contractAddress, await token.getAddress());
    assert.notEqual(await rpc.getCode(await token.getAddress()), '0x');
    assert.equal(await token.name(), 'Tandem Token');
    assert.equal(await token.balanceOf(wallets[0].address), 1_000_000n * 10n ** 18n);
  });

  it('transfers tokens and shows Transfer in the receipt, eth_getLogs and a WebSocket logs subscription', async () => {
    ws = new ethers.WebSocketProvider(L2 ? node.info.l2.ws : node.ws, Number(CHAIN_ID), { staticNetwork: true });
    const wsToken = token.connect(ws);
    const seen = new Promise((resolve) => wsToken.once('Transfer', (from, to, value) => resolve({ from, to, value })));
    // Every head the subscription delivers; the one of the transfer's block must come.
    let newest = -1;
    let onHead = () => {};
    ws.on('block', (n) => { newest = Math.max(newest, n); onHead(); });
    await ws.send('eth_blockNumber', []);
    await new Promise((r) => setTimeout(r, 300)); // let the subscriptions settle before the transfer

    const to = wallets[1].address;
    const tx = await token.transfer(to, 1234n);
    const receipt = await tx.wait();
    assert.equal(receipt.status, 1);
    const parsed = receipt.logs.map((l) => token.interface.parseLog(l)).filter(Boolean);
    assert.equal(parsed.length, 1);
    assert.equal(parsed[0].name, 'Transfer');
    assert.deepEqual([parsed[0].args[0], parsed[0].args[1], parsed[0].args[2]], [wallets[0].address, to, 1234n]);

    const logs = await rpc.getLogs({ address: await token.getAddress(), topics: [token.interface.getEvent('Transfer').topicHash], fromBlock: 0, toBlock: 'latest' });
    assert.equal(logs.length, 2, 'the mint and the transfer');
    assert.equal(logs[1].transactionHash, tx.hash);
    assert.equal(logs[1].blockNumber, receipt.blockNumber);
    // The token's logs in that block (on a devnet the same L1 block may carry a batch's log too).
    const byBlockHash = await rpc.getLogs({ blockHash: receipt.blockHash, address: await token.getAddress() });
    assert.equal(byBlockHash.length, 1);
    assert.equal(byBlockHash[0].transactionHash, tx.hash);

    const event = await seen;
    assert.deepEqual([event.from, event.to, event.value], [wallets[0].address, to, 1234n]);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`newHeads stopped at ${newest}, the transfer is in ${receipt.blockNumber}`)), 15_000);
      onHead = () => { if (newest >= receipt.blockNumber) { clearTimeout(timer); resolve(); } };
      onHead();
    });
  });

  it('answers eth_getProof with a hash-linked proof from the block state root to the account and slot', async () => {
    const address = await token.getAddress();
    const block = await rpc.send('eth_getBlockByNumber', ['latest', false]);
    // balanceOf is the fourth storage variable (slot 3): its entries sit at keccak(abi.encode(holder, 3)).
    const slot = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(['address', 'uint256'], [wallets[0].address, 3]));
    const proof = await rpc.send('eth_getProof', [address, [slot], block.number]);
    const linked = (nodes, root) => {
      assert.equal(ethers.keccak256(nodes[0]), root, 'the first node hashes to the root');
      for (let i = 1; i < nodes.length; i++) {
        const hash = ethers.keccak256(nodes[i]).slice(2);
        assert.ok(nodes[i - 1].includes(hash), `node ${i} is referenced by node ${i - 1}`);
      }
    };
    linked(proof.accountProof, block.stateRoot);
    const leaf = ethers.decodeRlp(proof.accountProof.at(-1));
    const [nonce, balance, storageHash, codeHash] = ethers.decodeRlp(leaf[1]);
    const int = (rlpInt) => (rlpInt === '0x' ? 0n : BigInt(rlpInt));
    assert.equal(int(nonce), BigInt(proof.nonce));
    assert.equal(proof.nonce, '0x1', 'a contract starts at nonce 1 (EIP-161)');
    assert.equal(int(balance), BigInt(proof.balance));
    assert.equal(storageHash, proof.storageHash);
    assert.equal(codeHash, ethers.keccak256(await rpc.getCode(address)));
    linked(proof.storageProof[0].proof, proof.storageHash);
    assert.equal(BigInt(proof.storageProof[0].value), await token.balanceOf(wallets[0].address));
    const storageLeaf = ethers.decodeRlp(proof.storageProof[0].proof.at(-1));
    assert.equal(BigInt(ethers.decodeRlp(storageLeaf[1])), BigInt(proof.storageProof[0].value));
  });

  it('polls logs and blocks through eth_newFilter and eth_newBlockFilter', async () => {
    const address = await token.getAddress();
    const logFilter = await rpc.send('eth_newFilter', [{ address, fromBlock: '0x0' }]);
    const blockFilter = await rpc.send('eth_newBlockFilter', []);
    const receipt = await (await token.transfer(wallets[2].address, 7n)).wait();
    const changes = await rpc.send('eth_getFilterChanges', [logFilter]);
    assert.equal(changes.length, 1);
    assert.equal(changes[0].transactionHash, receipt.hash);
    assert.deepEqual(await rpc.send('eth_getFilterChanges', [logFilter]), [], 'a second poll sees nothing new');
    const blocks = await rpc.send('eth_getFilterChanges', [blockFilter]);
    assert.ok(blocks.includes(receipt.blockHash));
    assert.equal((await rpc.send('eth_getFilterLogs', [logFilter])).length, 3);
    assert.equal(await rpc.send('eth_uninstallFilter', [logFilter]), true);
    const gone = await rawRpc(url, 'eth_getFilterChanges', [logFilter]);
    assert.equal(gone.error.message, 'filter not found');
  });

  it('returns revert reasons from eth_call, eth_estimateGas and a mined failing transaction', async () => {
    const poor = token.connect(wallets[3]);
    await assert.rejects(poor.transfer.staticCall(wallets[1].address, 1n), (e) => e.code === 'CALL_EXCEPTION' && e.reason === 'insufficient balance');
    await assert.rejects(poor.transfer.estimateGas(wallets[1].address, 1n), (e) => e.code === 'CALL_EXCEPTION' && e.reason === 'insufficient balance');
    await assert.rejects(token.fail.staticCall(), (e) => e.code === 'CALL_EXCEPTION' && e.revert?.name === 'Nope' && e.revert.args[0] === 42n);

    const raw = await rawRpc(url, 'eth_call', [{ to: await token.getAddress(), from: wallets[3].address, data: poor.interface.encodeFunctionData('transfer', [wallets[1].address, 1n]) }, 'latest']);
    assert.equal(raw.error.code, 3);
    assert.equal(raw.error.message, 'execution reverted: insufficient balance');
    assert.match(raw.error.data, /^0x08c379a0/);

    const tx = await poor.transfer(wallets[1].address, 1n, { gasLimit: 100_000n });
    await assert.rejects(tx.wait(), (e) => e.code === 'CALL_EXCEPTION' && e.receipt?.status === 0);
    const receipt = await rpc.getTransactionReceipt(tx.hash);
    assert.equal(receipt.status, 0);
    assert.ok(receipt.gasUsed > 21_000n && receipt.gasUsed < 100_000n);
  });

  // The L2 data fee (OP Stack's receipt fields), zero on L1 where receipts have none.
  async function l1Fee(hash) {
    const raw = await rpc.send('eth_getTransactionReceipt', [hash]);
    if (!L2) {
      assert.equal(raw.l1Fee, undefined, 'L1 receipts carry no data fee');
      return 0n;
    }
    assert.equal(BigInt(raw.l1Fee), BigInt(raw.l1GasUsed) * BigInt(raw.l1GasPrice));
    assert.ok(BigInt(raw.l1Fee) > 0n, 'every L2 transaction pays for its L1 data');
    return BigInt(raw.l1Fee);
  }

  async function checkAccounting(wallet, request) {
    // A fresh recipient, and balances read at the blocks around the transaction: the devnet's
    // batcher and proposer send their own transactions (and tips) meanwhile.
    const to = ethers.Wallet.createRandom().address;
    const l1FeeVault = '0x420000000000000000000000000000000000001A';
    const tx = await wallet.sendTransaction({ to, value: 123_456_789n, ...request });
    const receipt = await tx.wait();
    const block = await rpc.getBlock(receipt.blockNumber);
    const recipient = block.miner; // the zero address on L1, the SequencerFeeVault on L2
    const [at, before] = [receipt.blockNumber, receipt.blockNumber - 1];
    const balance = (address, tag) => rpc.getBalance(address, tag);
    const dataFee = await l1Fee(receipt.hash);
    assert.equal(receipt.type, request.type);
    assert.equal(await balance(wallet.address, at), (await balance(wallet.address, before)) - 123_456_789n - receipt.gasUsed * receipt.gasPrice - dataFee, 'sender pays value + gasUsed x effectiveGasPrice (+ the L1 data fee on L2)');
    assert.equal(await balance(to, at), 123_456_789n);
    // The fee recipient gets only the tips of the block's transactions; base fees are burned.
    const receipts = await rpc.send('eth_getBlockReceipts', [ethers.toQuantity(at)]);
    const tips = receipts.reduce((sum, r) => sum + BigInt(r.gasUsed) * (BigInt(r.effectiveGasPrice) - block.baseFeePerGas), 0n);
    assert.ok(tips >= receipt.gasUsed * (receipt.gasPrice - block.baseFeePerGas));
    assert.equal(await balance(recipient, at), (await balance(recipient, before)) + tips, 'the fee recipient gets only the tips; the base fee is burned');
    if (L2) {
      const fees = await Promise.all(receipts.filter((r) => r.type !== '0x7e').map((r) => l1Fee(r.transactionHash)));
      assert.equal(await balance(l1FeeVault, at), (await balance(l1FeeVault, before)) + fees.reduce((a, b) => a + b, 0n), 'the data fees go to the L1FeeVault');
    }
    return { receipt, block };
  }

  it('accounts exactly for EIP-1559 transfers', async () => {
    const { receipt, block } = await checkAccounting(wallets[4], { type: 2, maxFeePerGas: 50n * GWEI, maxPriorityFeePerGas: 2n * GWEI });
    assert.equal(receipt.gasPrice, block.baseFeePerGas + 2n * GWEI);
  });

  it('accounts exactly for legacy and EIP-2930 transfers', async () => {
    const legacy = await checkAccounting(wallets[4], { type: 0, gasPrice: 3n * GWEI });
    assert.equal(legacy.receipt.gasPrice, 3n * GWEI);
    const tx = await rpc.getTransaction(legacy.receipt.hash);
    assert.equal(tx.chainId, CHAIN_ID, 'legacy transactions are EIP-155 protected');
    await checkAccounting(wallets[4], { type: 1, gasPrice: 3n * GWEI, accessList: [{ address: wallets[9].address, storageKeys: [] }] });
  });

  it('signs eth_sendTransaction for the unlocked dev accounts, as anvil does', async () => {
    const accounts = await rpc.send('eth_accounts', []);
    assert.deepEqual(accounts.map(ethers.getAddress), wallets.map((w) => w.address));
    const signer = await rpc.getSigner(wallets[6].address);
    const before = await rpc.getBalance(wallets[7].address);
    const receipt = await (await signer.sendTransaction({ to: wallets[7].address, value: 5n })).wait();
    assert.equal(receipt.status, 1);
    assert.equal(await rpc.getBalance(wallets[7].address), before + 5n);
    const viaSigner = new ethers.Contract(await token.getAddress(), tokenArtifact.abi, await rpc.getSigner(wallets[0].address));
    assert.equal((await (await viaSigner.transfer(wallets[7].address, 3n)).wait()).status, 1);
    const stranger = ethers.Wallet.createRandom().address;
    const res = await rawRpc(url, 'eth_sendTransaction', [{ from: stranger, to: stranger, value: '0x1' }]);
    assert.match(res.error.message, /^unknown account/);
  });

  it('signs messages, typed data and transactions for the dev accounts, as anvil does', async () => {
    const signer = await rpc.getSigner(wallets[6].address);
    // personal_sign (ethers' signMessage) and eth_sign, checked by recovering the signer.
    const signed = await signer.signMessage('hello tandem');
    assert.equal(ethers.verifyMessage('hello tandem', signed), wallets[6].address);
    const raw = await rpc.send('eth_sign', [wallets[6].address, ethers.hexlify(ethers.toUtf8Bytes('hi'))]);
    assert.equal(ethers.verifyMessage('hi', raw), wallets[6].address);
    // EIP-712 (eth_signTypedData_v4), as a permit is signed.
    const domain = { name: 'Tandem', version: '1', chainId: CHAIN_ID, verifyingContract: await token.getAddress() };
    const types = { Permit: [{ name: 'owner', type: 'address' }, { name: 'value', type: 'uint256' }, { name: 'nonce', type: 'uint256' }] };
    const value = { owner: wallets[6].address, value: 10n, nonce: 0n };
    const typed = await signer.signTypedData(domain, types, value);
    assert.equal(ethers.verifyTypedData(domain, types, value, typed), wallets[6].address);
    // eth_signTransaction: signed, not sent.
    const rawTx = await rpc.send('eth_signTransaction', [{ from: wallets[6].address, to: wallets[7].address, value: '0x9' }]);
    const parsed = ethers.Transaction.from(rawTx);
    assert.equal(parsed.from, wallets[6].address);
    assert.equal(parsed.value, 9n);
    assert.equal(await rpc.getTransaction(parsed.hash), null, 'not sent');
    const stranger = ethers.Wallet.createRandom().address;
    const refused = await rawRpc(url, 'personal_sign', ['0x00', stranger]);
    assert.match(refused.error.message, /^unknown account/);
  });

  it('serves the L1Block predeploy with each block\'s L1 origin, and tandem_estimateL1Fee', { skip: !L2 && 'L2 only' }, async () => {
    const l1Block = new ethers.Contract('0x4200000000000000000000000000000000000015', [
      'function number() view returns (uint64)', 'function timestamp() view returns (uint64)',
      'function basefee() view returns (uint256)', 'function hash() view returns (bytes32)'], rpc);
    const block = await rpc.send('eth_getBlockByNumber', ['latest', false]);
    const [number, timestamp, basefee, hash] = await Promise.all(['number', 'timestamp', 'basefee', 'hash'].map((f) => l1Block[f]({ blockTag: block.number })));
    const l1 = new ethers.JsonRpcProvider(node.url, 900, { staticNetwork: true });
    const origin = await l1.getBlock(Number(number));
    l1.destroy();
    assert.equal(hash, origin.hash, 'the origin is an L1 block');
    assert.equal(block.mixHash, origin.hash);
    assert.equal(timestamp, BigInt(origin.timestamp));
    assert.equal(basefee, origin.baseFeePerGas);
    assert.ok(BigInt(block.timestamp) >= timestamp, 'an L2 block is no older than its origin');
    const estimate = await rpc.send('tandem_estimateL1Fee', [{ to: wallets[1].address, data: '0x' }]);
    assert.equal(BigInt(estimate.l1Fee), BigInt(estimate.l1GasUsed) * BigInt(estimate.l1GasPrice));
    const calldata = await rpc.send('tandem_estimateL1Fee', [{ to: wallets[1].address, data: '0x' + 'ff'.repeat(100) }]);
    assert.equal(BigInt(calldata.l1GasUsed), BigInt(estimate.l1GasUsed) + 1600n, 'each calldata byte costs 16 L1 gas');
  });

  it('the devnet\'s verifier forwards a raw transaction to the sequencer, as OP Stack replicas do', { skip: !L2 && 'L2 only' }, async () => {
    const verifier = provider(node.info.l2Verifier.rpc);
    const wallet = wallets[8].connect(verifier);
    const nonce = await rpc.getTransactionCount(wallet.address, 'pending');
    const fees = await rpc.getFeeData();
    const signed = await wallet.signTransaction({
      to: wallets[2].address, value: 7n, nonce, gasLimit: 21_000n, chainId: CHAIN_ID,
      maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    const hash = await verifier.send('eth_sendRawTransaction', [signed]);
    assert.equal(hash, ethers.keccak256(signed));
    const receipt = await rpc.waitForTransaction(hash);
    assert.equal(receipt.status, 1, 'the sequencer included it');
    verifier.destroy();
  });

  it('serves the BatchInbox system contract through eth_call, eth_estimateGas and transactions', { skip: L2 && 'L1 only' }, async () => {
    const abi = [
      'function submitBatch(uint64 sequence, bytes batch)',
      'function batcher() view returns (address)',
      'function nextSequence() view returns (uint64)',
      'function nextBlock() view returns (uint64)',
      'function commitment(uint64 sequence) view returns (bytes32)',
      'function batchRange(uint64 sequence) view returns (uint64 firstBlock, uint64 lastBlock)',
      'event BatchSubmitted(uint64 indexed sequence, bytes32 commitment, uint256 size)',
      'error NotBatcher(address caller)',
      'error WrongSequence(uint64 expected, uint64 got)',
      'error BadBatch(string reason)',
      'error WrongFirstBlock(uint64 expected, uint64 got)',
    ];
    const address = '0x000000000000000000000000000000000000ba70';
    const inbox = new ethers.Contract(address, abi, wallets[9]);
    assert.equal(await inbox.batcher(), wallets[9].address, 'the dev batcher is registered at genesis');
    assert.notEqual(await rpc.getCode(address), '0x', 'the system address holds code');
    const first = await inbox.nextSequence();
    // Bytes that are not a batch are refused on L1, whole.
    const garbage = ethers.hexlify(ethers.toUtf8Bytes('batch bytes '.repeat(10)));
    // The devnet's own batcher may post between reading the next sequence and the call: read it
    // again and retry then (a few times at most).
    for (let attempt = 0; ; attempt++) {
      const next = await inbox.nextSequence();
      const refused = await inbox.submitBatch.estimateGas(next, garbage).then(() => null, (e) => inbox.interface.parseError(e.data)?.name);
      if (refused === 'WrongSequence' && attempt < 5) continue;
      assert.equal(refused, 'BadBatch');
      break;
    }
    await assert.rejects(inbox.connect(wallets[2]).submitBatch.estimateGas(first, garbage), (e) => inbox.interface.parseError(e.data)?.name === 'NotBatcher');
    // A sequence far past the next one (the devnet's own batcher may post meanwhile, moving the
    // next sequence on: one past `first` raced it and met the batch check instead).
    await assert.rejects(inbox.submitBatch.staticCall(first + 1000n, garbage),
      (e) => e.revert?.name === 'WrongSequence' && e.revert.args[0] >= first && e.revert.args[1] === first + 1000n);
    if ((await inbox.nextBlock()) !== 1n) return; // a devnet's own batcher has posted: the rest needs an empty inbox
    // A real batch (made by the codec): L2 block 1 at timestamp 1 on L1 origin 0, no transactions.
    const batch = '0x001f1b00f88fc33816bc481f55fa5401db09081c5c8a44140a746c53454900';
    const receipt = await (await inbox.submitBatch(first, batch)).wait();
    const event = receipt.logs.map((l) => inbox.interface.parseLog(l)).find(Boolean);
    assert.equal(event.name, 'BatchSubmitted');
    assert.equal(event.args.commitment, ethers.keccak256(batch));
    assert.equal(await inbox.commitment(first), ethers.keccak256(batch));
    assert.equal(await inbox.nextSequence(), first + 1n);
    assert.deepEqual([...await inbox.batchRange(first)], [1n, 1n]);
    assert.equal(await inbox.nextBlock(), 2n);
    // The same block again does not continue the chain.
    await assert.rejects(inbox.submitBatch.staticCall(first + 1n, batch), (e) => e.revert?.name === 'WrongFirstBlock' && e.revert.args[0] === 2n);
  });

  it('answers eth_feeHistory, eth_gasPrice and eth_maxPriorityFeePerGas', async () => {
    // A fixed newest block: L2 seals a block every 250 ms, so 'latest' moves between calls.
    const head = await rpc.getBlockNumber();
    const history = await rpc.send('eth_feeHistory', ['0x4', ethers.toQuantity(head), [10, 50, 90]]);
    assert.equal(BigInt(history.oldestBlock), BigInt(head - 3));
    assert.equal(history.baseFeePerGas.length, 5);
    assert.equal(history.gasUsedRatio.length, 4);
    assert.equal(history.reward.length, 4);
    const newest = await rpc.getBlock(head);
    assert.equal(BigInt(history.baseFeePerGas[3]), newest.baseFeePerGas);
    const fee = await rpc.getFeeData();
    assert.ok(fee.gasPrice > 0n && fee.maxFeePerGas > fee.maxPriorityFeePerGas);
    const bad = await rawRpc(url, 'eth_feeHistory', ['0x4', 'latest', [90, 10]]);
    assert.equal(bad.error.code, -32602);
  });

  it('rejects each bad transaction with geth\'s error, keeps serving and consumes no nonce', async () => {
    const w = wallets[5];
    const nonce = await rpc.getTransactionCount(w.address, 'latest');
    const base = { to: wallets[8].address, value: 1n, chainId: CHAIN_ID, nonce, gasLimit: 21_000n, type: 2, maxFeePerGas: 50n * GWEI, maxPriorityFeePerGas: GWEI };
    await (await w.sendTransaction({ ...base })).wait(); // now nonce + 1 is next
    const next = nonce + 1;
    const expectError = async (raw, pattern) => {
      const res = await rawRpc(url, 'eth_sendRawTransaction', [raw]);
      assert.ok(res.error, `expected an error for ${pattern}, got ${JSON.stringify(res)}`);
      assert.match(res.error.message, pattern);
      return res.error;
    };
    const sign = (overrides, wallet = w) => wallet.signTransaction({ ...base, nonce: next, ...overrides });

    let e = await expectError(await sign({ nonce }), /^nonce too low/);
    assert.equal(e.code, -32000);
    const stranger = ethers.Wallet.createRandom();
    await expectError(await stranger.signTransaction({ ...base, nonce: 0 }), /^insufficient funds for gas \* price \+ value/);
    await expectError(await sign({ maxFeePerGas: 1n, maxPriorityFeePerGas: 1n }), /^transaction underpriced/);
    await expectError(await sign({ gasLimit: 20_000n }), /^intrinsic gas too low/);
    await expectError(await sign({ gasLimit: 61_000_000n }), /^exceeds block gas limit/);
    // Above EIP-7825's cap no block would ever take it: refused, not pooled.
    await expectError(await sign({ gasLimit: 20_000_000n }), /^transaction gas limit too high/);
    await expectError(await sign({ chainId: 1n }), /^invalid chain id/);
    await expectError(await sign({ type: 0, gasPrice: GWEI, maxFeePerGas: undefined, maxPriorityFeePerGas: undefined, chainId: 0n }), /^only replay-protected/);

    // A high-s signature (EIP-2) recovers no valid sender.
    const legacy = ethers.Transaction.from(await sign({ type: 0, gasPrice: GWEI, maxFeePerGas: undefined, maxPriorityFeePerGas: undefined }));
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const v = CHAIN_ID * 2n + (legacy.signature.v === 27 ? 36n : 35n); // flipping s flips the parity
    const fields = [legacy.nonce, legacy.gasPrice, legacy.gasLimit, legacy.to, legacy.value, legacy.data].map((x) => (typeof x === 'string' ? x : ethers.toBeArray(x)));
    const highS = ethers.encodeRlp([...fields, ethers.toBeArray(v), legacy.signature.r, ethers.toBeHex(n - BigInt(legacy.signature.s))]);
    await expectError(highS, /^invalid sender/);

    // A blob transaction is refused with a clear error.
    const blobTx = ethers.concat(['0x03', ethers.encodeRlp([ethers.toBeArray(CHAIN_ID), ethers.toBeArray(next), ethers.toBeArray(GWEI), ethers.toBeArray(50n * GWEI), ethers.toBeArray(21_000n), wallets[8].address, '0x', '0x', [], ethers.toBeArray(GWEI), [ethers.zeroPadValue('0x01', 32)], '0x01', ethers.toBeArray(1n), ethers.toBeArray(1n)])]);
    await expectError(blobTx, /^transaction type not supported/);

    // Replacement: a queued transaction (nonce gap) can only be replaced with a 10% bump.
    const queuedHash = (await rawRpc(url, 'eth_sendRawTransaction', [await sign({ nonce: next + 5 })])).result;
    assert.ok(queuedHash, 'a transaction with a nonce gap is queued');
    await expectError(await sign({ nonce: next + 5, maxFeePerGas: 51n * GWEI, maxPriorityFeePerGas: GWEI + 1n }), /^replacement transaction underpriced/);
    await expectError(await sign({ nonce: next + 5 }), /^already known/);

    assert.equal(await rpc.getTransactionCount(w.address, 'latest'), next, 'no nonce consumed');
    assert.equal(await rpc.getTransactionCount(w.address, 'pending'), next, 'the queued transaction does not count as pending');
  });

  it('survives random bytes as transactions and malformed JSON', async () => {
    const before = await rpc.getBlockNumber();
    for (let i = 0; i < 300; i++) {
      const len = i % 7 === 0 ? 0 : 1 + Math.floor(Math.random() * 300);
      const bytes = randomBytes(len);
      if (len > 0 && i % 3 === 0) bytes[0] = i % 5; // look like a typed transaction
      const res = await rawRpc(url, 'eth_sendRawTransaction', [ethers.hexlify(bytes)]);
      assert.ok(res.error, `random bytes ${ethers.hexlify(bytes)} must be refused`);
    }
    const bodies = ['{', '[]', '{"jsonrpc":"2.0"}', 'null', '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xZZ","latest"]}',
      '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[1,2,3,4]}', '{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x1ffffffffffffffffffff",false]}',
      '['.repeat(5000) + ']'.repeat(5000), '{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"to":"0x12"},"latest"]}',
      '{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x"]}'];
    for (const body of bodies) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await res.text();
      assert.ok(res.status === 200 || res.status >= 400, text);
      if (res.status === 200) assert.match(text, /"error"/, `malformed request ${body.slice(0, 60)} gets an error`);
    }
    const huge = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: ['0x' + 'ab'.repeat(6 * 1024 * 1024)] }) })
      .then((r) => r.status, () => 'connection closed');
    assert.ok(huge === 413 || huge === 'connection closed', `request body size is bounded (got ${huge})`);
    const batch = Array.from({ length: 1001 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_chainId' }));
    const batchRes = await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch) })).json();
    assert.ok(batchRes.error || batchRes.some?.((r) => r.error), 'batch length is bounded');
    assert.ok(await rpc.getBlockNumber() >= before, 'the node keeps serving');
  });
});
