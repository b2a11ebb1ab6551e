// Foundry, as developers run it, against tandem dev, the devnet's L1 and its L2, and against anvil
// for comparison: a project (foundry/) compiled offline with solc-js from npm, deployed with
// `forge script --broadcast` (two contracts that name each other, then calls), and a
// `forge test --fork-url` test that reads the deployed state and uses snapshots, time travel,
// impersonation and balances. Then the node's own dev methods, driven by `cast` the same way on
// anvil and on tandem dev.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ethers } from 'ethers';
import { startDev, startDevnet, tempDir, cleanup, waitFor, foundryBin } from './lib/node.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SOLC = join(here, 'foundry', 'solc.mjs');
const run = (tool, args, { cwd, env = {} } = {}) =>
  execFileSync(foundryBin(tool), args, { cwd, encoding: 'utf8', timeout: 300_000, stdio: 'pipe', env: { ...process.env, NO_COLOR: '1', ...env } });
const cast = (...args) => run('cast', args).trim();

// The first standard dev account: funded on anvil and on every tandem chain.
const DEPLOYER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const KEY0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

/** Arachnid's CREATE2 factory, which forge deploys salted contracts through. */
const CREATE2_FACTORY = '0x4e59b44847b379578588920ca78fbf26c0b4956c';
const SAFE_FACTORY = '0x914d7fec6aac8cd542e72bca78b30650d45643d7';

/**
 * What the CREATE2 factories hold on `url`, checked against the program the presigned deployment
 * transaction in @safe-global/safe-singleton-factory (npm) leaves: its init code, run by eth_call.
 */
function assertFactories(url, factories = [CREATE2_FACTORY, SAFE_FACTORY]) {
  const { transaction } = JSON.parse(readFileSync(join(here, 'node_modules', '@safe-global', 'safe-singleton-factory', 'artifacts', '1', 'deployment.json'), 'utf8'));
  const initCode = ethers.Transaction.from(transaction).data;
  const program = cast('call', '--rpc-url', url, '--create', initCode);
  assert.equal(program.length, 2 + 2 * 69, program);
  for (const factory of factories) assert.equal(cast('code', '--rpc-url', url, factory), program, factory);
}

/** Runs anvil 1.7.1 (from npm) on a free port, mining on each transaction. */
async function startAnvil() {
  const port = 12_000 + Math.floor(Math.random() * 7_000); // below the ephemeral ports and the devnets'
  const proc = spawn(foundryBin('anvil'), ['--port', String(port), '--silent'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('anvil', async () => {
    try {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' });
      return r.ok;
    } catch { return false; }
  }, 60_000);
  return { url, stop: () => new Promise((resolve) => { proc.on('exit', resolve); proc.kill('SIGINT'); }) };
}

/**
 * Copies the project to a fresh directory, deploys it to `url` with forge script --broadcast,
 * runs its fork test there, and returns the addresses deployed and forge's test report.
 */
function forgeProject(url) {
  const dir = tempDir('tandem-foundry-');
  try {
    cpSync(join(here, 'foundry'), dir, { recursive: true, filter: (p) => !/\/(out|cache|broadcast)$/.test(p) });
    const common = ['--use', SOLC, '--offline'];
    run('forge', ['script', 'script/Deploy.s.sol', '--rpc-url', url, '--broadcast', '--slow', ...common], { cwd: dir, env: { DEPLOYER_KEY: KEY0 } });
    const chainId = Number(cast('chain-id', '--rpc-url', url));
    const broadcast = JSON.parse(readFileSync(join(dir, 'broadcast', 'Deploy.s.sol', String(chainId), 'run-latest.json'), 'utf8'));
    const created = Object.fromEntries(broadcast.transactions.filter((t) => t.transactionType.startsWith('CREATE')).map((t) => [t.contractName, t.contractAddress]));
    // The salted counter went through Arachnid's CREATE2 factory, as forge sends it anywhere.
    const counter = broadcast.transactions.find((t) => t.contractName === 'Counter');
    assert.equal(counter.transactionType, 'CREATE2');
    assert.equal(counter.transaction.to.toLowerCase(), CREATE2_FACTORY);
    for (const receipt of broadcast.receipts) assert.equal(receipt.status, '0x1', JSON.stringify(receipt));
    const report = JSON.parse(run('forge', ['test', '--fork-url', url, '--json', ...common], {
      cwd: dir,
      env: { VAULT: created.Vault, COUNTER: created.Counter, DEPLOYER },
    }));
    return { created, broadcast, report };
  } finally {
    cleanup(dir);
  }
}

/** Every test of the fork suite passed, and there were four. */
function assertAllPassed(report) {
  const results = Object.values(report).flatMap((suite) => Object.entries(suite.test_results));
  assert.equal(results.length, 4, JSON.stringify(Object.keys(report)));
  for (const [name, result] of results) assert.equal(result.status, 'Success', `${name}: ${result.reason ?? ''}`);
}

/** What the project's state reads back as over plain RPC (cast). */
function assertDeployed(url, { Vault, Counter }) {
  assert.equal(cast('call', '--rpc-url', url, Counter, 'count()(uint256)'), '2');
  assert.equal(cast('call', '--rpc-url', url, Counter, 'vault()(address)').toLowerCase(), Vault.toLowerCase());
  assert.equal(cast('balance', '--rpc-url', url, Vault), '1000000000000000000');
}

/** A uint cast printed (`1000 [1e3]`), as a BigInt. */
const uint = (text) => BigInt(text.split(' ')[0]);

for (const target of ['anvil', 'dev']) describe(`Foundry and cast dev methods on ${target}`, () => {
  let node, url, created;

  before(async () => {
    node = target === 'anvil' ? await startAnvil() : await startDev();
    url = node.url;
  });

  after(async () => {
    await node.stop('SIGINT');
  });

  it('forge script deploys the project and forge test --fork-url passes on what it deployed', () => {
    // anvil has Arachnid's factory (not Safe's): the same program, which checks that one is the other.
    assertFactories(url, target === 'anvil' ? [CREATE2_FACTORY] : undefined);
    const project = forgeProject(url);
    created = project.created;
    assertDeployed(url, created);
    assertAllPassed(project.report);
  });

  it('cast drives snapshots, balances, impersonation and time travel the same way', () => {
    assert.ok(created, 'the project was deployed');
    const at = (...args) => cast(...args.slice(0, 1), '--rpc-url', url, ...args.slice(1));
    const whale = '0x000000000000000000000000000000000000bEEF';
    const height = Number(at('block-number'));
    const snapshot = JSON.parse(at('rpc', 'evm_snapshot'));
    at('rpc', 'anvil_setBalance', whale, '0x4563918244f40000');
    assert.equal(at('balance', whale), '5000000000000000000');
    at('rpc', 'anvil_impersonateAccount', whale);
    at('send', '--unlocked', '--from', whale, created.Vault, 'deposit()', '--value', '1ether');
    assert.equal(uint(at('call', created.Vault, 'balanceOf(address)(uint256)', whale)), 10n ** 18n);
    // Locked for an hour: the withdrawal fails (cast says why), until time moves on.
    // cast names the error when its signature cache knows it, else gives its selector.
    const locked = new RegExp(`Locked\\(|${ethers.id('Locked(uint256)').slice(0, 10)}`);
    assert.throws(() => at('send', '--unlocked', '--from', whale, created.Vault, 'withdraw()'), locked);
    at('rpc', 'evm_increaseTime', '3600');
    at('rpc', 'evm_mine');
    at('send', '--unlocked', '--from', whale, created.Vault, 'withdraw()');
    assert.equal(uint(at('call', created.Vault, 'balanceOf(address)(uint256)', whale)), 0n);
    at('rpc', 'anvil_stopImpersonatingAccount', whale);
    assert.throws(() => at('send', '--unlocked', '--from', whale, created.Vault, 'deposit()'), /unknown account|No Signer/);
    // Back to the snapshot: the whale never existed, the vault holds the deployer's ether alone.
    assert.equal(JSON.parse(at('rpc', 'evm_revert', snapshot)), true);
    assert.equal(Number(at('block-number')), height);
    assert.equal(at('balance', whale), '0');
    assert.equal(at('balance', created.Vault), '1000000000000000000');
    assert.equal(JSON.parse(at('rpc', 'evm_revert', snapshot)), false, 'a snapshot is used once');
  });
});

describe('Foundry on the devnet, L1 and L2', () => {
  let node;

  before(async () => {
    node = await startDevnet(['--no-explorer']);
  });

  after(async () => {
    const { code } = await node.stop('SIGINT');
    assert.equal(code, 0, `clean shutdown on Ctrl-C: ${node.stderr()}`);
  });

  for (const layer of ['L1', 'L2']) it(`forge script deploys the project on ${layer} and forge test --fork-url passes`, () => {
    const url = layer === 'L2' ? node.info.l2.rpc : node.url;
    assertFactories(url);
    const { created, report } = forgeProject(url);
    assertDeployed(url, created);
    assertAllPassed(report);
  });
});

describe('state dumps move between anvil and tandem dev', () => {
  let anvil, dev;
  const at = (url) => (...args) => cast(...args.slice(0, 1), '--rpc-url', url, ...args.slice(1));

  before(async () => {
    anvil = await startAnvil();
    dev = await startDev();
  });

  after(async () => {
    await anvil.stop();
    await dev.stop('SIGINT');
  });

  it('anvil_dumpState from one loads with anvil_loadState into the other, both ways', () => {
    const holder = '0x00000000000000000000000000000000000d0a0d';
    const slot = '0x0000000000000000000000000000000000000000000000000000000000000007';
    for (const [from, to] of [[anvil.url, dev.url], [dev.url, anvil.url]]) {
      const [src, dst] = [at(from), at(to)];
      src('rpc', 'anvil_setBalance', holder, '0x1234');
      src('rpc', 'anvil_setCode', holder, '0x60016000f3');
      src('rpc', 'anvil_setStorageAt', holder, slot, '0x' + '00'.repeat(31) + '2a');
      src('rpc', 'anvil_setNonce', holder, '0x5');
      const dump = JSON.parse(src('rpc', 'anvil_dumpState'));
      assert.match(dump, /^0x1f8b/, 'gzipped, as anvil dumps it');
      assert.equal(JSON.parse(dst('rpc', 'anvil_loadState', dump)), true);
      assert.equal(dst('balance', holder), String(0x1234));
      assert.equal(dst('code', holder), '0x60016000f3');
      assert.equal(BigInt(dst('storage', holder, slot)), 42n);
      assert.equal(dst('nonce', holder), '5');
      // The dev accounts came along too, with what they hold on the other chain.
      const dev0 = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
      assert.equal(dst('balance', dev0), src('balance', dev0));
    }
  });

  it('anvil_reset starts tandem dev over from its genesis', () => {
    const d = at(dev.url);
    const holder = '0x00000000000000000000000000000000000d0a0d';
    assert.notEqual(d('balance', holder), '0');
    assert.ok(Number(d('block-number')) > 0);
    d('rpc', 'anvil_reset');
    assert.equal(d('block-number'), '0');
    assert.equal(d('balance', holder), '0');
    assert.equal(d('balance', '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'), '10000000000000000000000');
    // And goes on from there.
    d('send', '--private-key', KEY0, holder, '--value', '1');
    assert.equal(d('block-number'), '1');
  });
});
