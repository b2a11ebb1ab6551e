// web3.py (from PyPI, pinned in requirements.txt) with its default middleware against tandem dev,
// the devnet's L1 and its L2: blocks read and validated, a transaction built, signed and sent, a
// contract deployed and called. L2 headers stay within Ethereum's 32 bytes of extraData.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDev, startDevnet, compile, tempDir, cleanup } from './lib/node.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.TANDEM_PYTHON ?? join(here, '.venv', 'bin', 'python');

for (const mode of ['dev', 'devnet', 'l2']) describe(`web3.py on tandem ${mode}`, () => {
  const L2 = mode === 'l2';
  let node, dir, artifact;

  before(async () => {
    assert.ok(existsSync(PYTHON), `web3.py's venv is missing (${PYTHON}): scripts/test makes it`);
    node = mode === 'dev' ? await startDev() : await startDevnet(['--no-explorer']);
    dir = tempDir('tandem-web3py-');
    artifact = join(dir, 'Token.json');
    writeFileSync(artifact, JSON.stringify(compile('Token.sol', 'Token')));
  });

  after(async () => {
    cleanup(dir);
    const { code } = await node.stop('SIGINT');
    assert.equal(code, 0, `clean shutdown on Ctrl-C: ${node.stderr()}`);
  });

  it('reads blocks, sends a transaction it built and signed, deploys and calls a contract', () => {
    const url = L2 ? node.info.l2.rpc : node.url;
    const key = node.info.accounts[6].privateKey;
    const out = execFileSync(PYTHON, [join(here, 'py', 'web3_client.py'), url, L2 ? '901' : '900', key, artifact], {
      encoding: 'utf8',
      timeout: 180_000,
    });
    const seen = JSON.parse(out.trim().split('\n').pop());
    assert.ok(seen.extraDataBytes <= 32, `extraData of ${seen.extraDataBytes} bytes`);
    if (L2) assert.equal(seen.extraDataBytes, 32, 'an L2 header carries its origin in 32 bytes');
    assert.equal(seen.transferStatus, 1);
    assert.equal(seen.transferCarried, true, 'the transfer is in its block, read with full transactions');
    assert.equal(seen.received, 12345);
    assert.equal(seen.deployStatus, 1);
    assert.equal(seen.name, 'Py Token');
    assert.equal(seen.tokenBalance, 777);
    assert.equal(seen.transferEvents, 1);
    assert.equal(seen.transferInBlock, true);
  });
});
