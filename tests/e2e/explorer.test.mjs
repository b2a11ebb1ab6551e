// The explorer in a real browser (Debian's headless Chromium driven by playwright-core) on a
// running devnet: live blocks on both layers, an L2 transaction's fee split, the batch that
// carried it and its L1 transaction, search, not-found, a hostile token name rendered as text,
// and a node answering garbage. Screenshots go to tests/e2e/artifacts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ethers } from 'ethers';
import { chromium } from 'playwright-core';
import { startDevnet, startNode, compile } from './lib/node.mjs';

const artifacts = process.env.ARTIFACTS_DIR || join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
mkdirSync(artifacts, { recursive: true });
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const MNEMONIC = 'test test test test test test test test test test test junk';

function wallet(i, provider) {
  return new ethers.Wallet(ethers.HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).privateKey, provider);
}

describe('the explorer in a browser', () => {
  let net, browser, page, base, l1, l2;
  const dialogs = [];

  before(async () => {
    net = await startDevnet(['--explorer-port', '0']);
    base = net.info.explorer;
    assert.ok(base, 'the devnet starts the explorer');
    // No response cache: a nonce asked twice within 250 ms must be asked twice.
    l1 = new ethers.JsonRpcProvider(net.url, 900, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
    l2 = new ethers.JsonRpcProvider(net.info.l2.rpc, 901, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  });
  after(async () => {
    await browser?.close();
    l1?.destroy();
    l2?.destroy();
    await net?.stop();
  });

  it('shows new blocks arriving on both layers without reloading', async () => {
    await page.goto(base);
    assert.match(await page.title(), /tandem explorer/);
    // A transaction on each layer makes sure both produce blocks while we watch.
    await (await wallet(1, l1).sendTransaction({ to: wallet(2).address, value: 1n })).wait();
    await (await wallet(1, l2).sendTransaction({ to: wallet(2).address, value: 1n })).wait();
    await page.waitForSelector('#l1-blocks tbody tr.new', { timeout: 30_000 });
    await page.waitForSelector('#l2-blocks tbody tr.new', { timeout: 30_000 });
    assert.equal(await page.textContent('#l2-live'), 'live');
    await page.screenshot({ path: join(artifacts, 'explorer-home.png'), fullPage: true });
  });

  it('follows an L2 transaction to its fee split, the batch that carried it and its L1 transaction', async () => {
    const receipt = await (await wallet(3, l2).sendTransaction({ to: wallet(4).address, value: 12345n })).wait();
    await page.goto(`${base}/l2/block/${receipt.blockNumber}`);
    await page.click(`a.tx[href="/l2/tx/${receipt.hash}"]`);
    await page.waitForSelector('.fee-l1');
    assert.equal(await page.textContent('.status'), 'success');
    assert.match(await page.textContent('.fee-execution'), /ETH$/);
    assert.match(await page.textContent('.fee-l1'), /ETH$/);
    await page.screenshot({ path: join(artifacts, 'explorer-l2-tx.png'), fullPage: true });
    // The batcher posts within 2 s; reload until the page names the batch.
    const deadline = Date.now() + 60_000;
    while (!(await page.$('a.batch'))) {
      assert.ok(Date.now() < deadline, 'the transaction was batched within a minute');
      await new Promise((r) => setTimeout(r, 500));
      await page.reload();
    }
    await page.click('a.batch');
    await page.waitForSelector('a.l1tx');
    await page.screenshot({ path: join(artifacts, 'explorer-batch.png'), fullPage: true });
    await page.click('a.l1tx');
    await page.waitForSelector('.event');
    const events = await page.$$eval('.event', (nodes) => nodes.map((n) => n.textContent));
    assert.ok(events.includes('BatchSubmitted'), `the L1 transaction shows BatchSubmitted (${events})`);
  });

  it('searches an address, and answers a bogus hash with a not-found page', async () => {
    const address = wallet(2).address;
    await page.goto(base);
    await page.fill('input[name=q]', address);
    await Promise.all([page.waitForURL(/\/address\//), page.press('input[name=q]', 'Enter')]);
    assert.match(await page.textContent('h1'), new RegExp(address.slice(2, 10), 'i'));
    assert.match((await page.$$eval('.balance', (n) => n.map((e) => e.textContent))).join(' '), /ETH/);
    const bogus = ethers.hexlify(ethers.randomBytes(32));
    const response = await page.goto(`${base}/search?q=${bogus}`);
    assert.equal(response.status(), 404);
    assert.equal(await page.textContent('h1'), 'Not found');
    await page.screenshot({ path: join(artifacts, 'explorer-not-found.png') });
  });

  it('renders a hostile token name as text, never as script', async () => {
    const hostile = '<script>alert(1)</script>';
    const { abi, bytecode } = compile('Token.sol', 'Token');
    const token = await new ethers.ContractFactory(abi, bytecode, wallet(5, l1)).deploy(hostile, '<img src=x onerror=alert(2)>', 1000n);
    await token.waitForDeployment();
    const receipt = await (await token.transfer(wallet(6).address, 7n)).wait();
    const response = await page.goto(`${base}/l1/tx/${receipt.hash}`);
    const html = await response.text();
    assert.match(html, /(&lt;|&#60;)script(&gt;|&#62;)alert\(1\)(&lt;|&#60;)(\/|&#x2f;|&#47;)script(&gt;|&#62;)/i, 'escaped in the HTML');
    assert.ok(!html.includes(hostile), 'never raw');
    assert.match(await page.textContent('.token'), /<script>alert\(1\)<\/script>/);
    await page.waitForTimeout(300);
    assert.deepEqual(dialogs, [], 'no script ran');
    await page.screenshot({ path: join(artifacts, 'explorer-hostile-token.png'), fullPage: true });
  });

  it('shows an L2 transaction\'s call tree, its value moves and its calldata decoded', async () => {
    const deploy = async (name) => {
      const { abi, bytecode } = compile('Trace.sol', name);
      const contract = await new ethers.ContractFactory(abi, bytecode, wallet(7, l2)).deploy();
      await contract.waitForDeployment();
      return contract;
    };
    const inner = await deploy('Inner');
    const outer = await deploy('Outer');
    const receipt = await (await outer.go(await inner.getAddress(), { value: 1000n })).wait();
    await page.goto(`${base}/l2/tx/${receipt.hash}`);
    const rows = page.locator('table.calls tr.call');
    assert.equal(await rows.count(), 2, await page.content());
    // The outer call from the sender, then the inner one, a level deeper, failed with its reason.
    assert.match(await rows.nth(0).textContent(), new RegExp(outer.target.slice(2), 'i'));
    assert.ok(await rows.nth(1).evaluate((r) => r.classList.contains('depth-1') && r.classList.contains('failed')));
    assert.match(await rows.nth(1).textContent(), new RegExp(inner.target.slice(2), 'i'));
    assert.match(await rows.nth(1).locator('.call-error').textContent(), /inner says no/);
    assert.match(await page.textContent('ul.value-moves'), /0\.000000000000001 ETH|1000 wei/);
    await page.screenshot({ path: join(artifacts, 'explorer-call-tree.png'), fullPage: true });
    // An ERC-20 transfer's calldata reads as the call it is.
    const { abi, bytecode } = compile('Token.sol', 'Token');
    const token = await new ethers.ContractFactory(abi, bytecode, wallet(7, l2)).deploy('Calls', 'CLS', 1000n);
    await token.waitForDeployment();
    const sent = await (await token.transfer(wallet(8).address, 7n)).wait();
    await page.goto(`${base}/l2/tx/${sent.hash}`);
    assert.equal(await page.textContent('.input-call'), `transfer(to: ${wallet(8).address}, value: 7)`);
  });

  it('shows the rollup and bridge pages, with a message from L1 and the L2 transaction that delivered it', async () => {
    await page.goto(`${base}/rollup`);
    await page.waitForSelector('#batches tbody tr');
    // A message from L1 to an L2 account (a call with no code: it succeeds), then its deposit on L2.
    const messenger = new ethers.Contract('0x000000000000000000000000000000000000b0a5', compile('contracts/ICrossDomainMessenger.sol', 'ICrossDomainMessenger').abi, wallet(5, l1));
    const target = wallet(6).address;
    const sent = await (await messenger.sendMessage(target, '0x1234', 100_000, { value: 777n })).wait();
    const deliveredRow = async () => {
      await page.goto(`${base}/bridge`);
      const row = page.locator('#messages tbody tr', { hasText: sent.hash });
      return (await row.count()) === 1 && (await row.locator('.stage').textContent()) === 'relayed' && row;
    };
    let row;
    for (let i = 0; i < 60 && !(row = await deliveredRow()); i++) await new Promise((r) => setTimeout(r, 500));
    assert.ok(row, 'the message shows as relayed');
    assert.match(await row.textContent(), new RegExp(target));
    // Its delivering transaction links to the L2 deposit, which ran.
    const link = await row.locator('td:last-child a').getAttribute('href');
    assert.match(link, /^\/l2\/tx\/0x[0-9a-f]{64}$/);
    const deposit = await l2.getTransactionReceipt(link.split('/').pop());
    assert.equal(deposit.status, 1);
    assert.equal(await l2.getBalance(target, deposit.blockNumber) - await l2.getBalance(target, deposit.blockNumber - 1), 777n);
    await page.screenshot({ path: join(artifacts, 'explorer-bridge.png'), fullPage: true });
  });
});

describe('the explorer against a node answering garbage', () => {
  let server, explorer;
  before(async () => {
    let n = 0;
    server = createServer((req, res) => {
      n += 1;
      // Alternate: not JSON at all, then JSON of the wrong shape.
      res.setHeader('content-type', 'application/json');
      res.end(n % 2 ? '<html>nope' : JSON.stringify({ jsonrpc: '2.0', id: 0, result: { number: 'zz', transactions: 7 } }));
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    explorer = await startNode('explorer', ['--l1-rpc', `http://127.0.0.1:${server.address().port}`, '--no-l2', '--port', '0']);
  });
  after(async () => {
    await explorer?.stop();
    server?.close();
  });

  it('answers with an error page and keeps serving', async () => {
    for (const path of ['/', '/l1/block/1', `/l1/tx/${ethers.ZeroHash}`, `/address/${ethers.ZeroAddress}`, '/rollup', '/bridge', '/search?q=5']) {
      const res = await fetch(explorer.url + path);
      assert.ok([200, 404, 502].includes(res.status), `${path}: ${res.status}`);
      const body = await res.text();
      assert.match(body, /<html|<!doctype/i);
    }
    assert.equal(explorer.proc.exitCode, null, 'still running');
  });
});
