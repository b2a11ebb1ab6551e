// Builds the EVM code of tandem's bridge contracts (contracts/src) with solc-js, pinned in
// tests/e2e/package.json, and writes each deployed contract's runtime code and ABI to
// contracts/build, which genesis places at their addresses (crates/primitives/src/system.rs), and
// the creation code of the tests' contracts (contracts/test) to contracts/build/test.json.
// The same sources and compiler give the same bytes: `node contracts/build.mjs --check` fails if
// what is committed differs from a fresh build, and if a contract lacks a function or event its
// published interface (contracts/I*.sol) declares.
//
//   cd tests/e2e && npm ci && cd ../.. && node contracts/build.mjs [--check]
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync, readdirSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const solc = createRequire(join(here, '..', 'tests', 'e2e', 'package.json'))('solc');
const VERSION = '0.8.30';
if (!solc.version().startsWith(VERSION)) throw new Error(`solc ${VERSION} expected, found ${solc.version()}`);

/** Contract name -> the published interface whose functions and events it must have. */
const DEPLOYED = {
  L1CrossDomainMessenger: ['ICrossDomainMessenger.sol', 'IL1CrossDomainMessenger'],
  L2CrossDomainMessenger: ['ICrossDomainMessenger.sol', 'ICrossDomainMessenger'],
  L1StandardBridge: ['IStandardBridge.sol', 'IStandardBridge'],
  L2StandardBridge: ['IStandardBridge.sol', 'IStandardBridge'],
  BridgedERC20: ['IStandardBridge.sol', 'IBridgedERC20'],
};

function compile(sources, creation = false) {
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([name, content]) => [name, { content }])),
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'cancun',
      metadata: { bytecodeHash: 'none', appendCBOR: false },
      outputSelection: { '*': { '*': ['abi', 'storageLayout', creation ? 'evm.bytecode.object' : 'evm.deployedBytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  return output.contracts;
}

// Sources by their path below contracts/: the published interfaces and the implementations,
// which import them.
const sources = {};
for (const dir of ['', 'src']) {
  for (const f of readdirSync(join(here, dir)).filter((f) => f.endsWith('.sol'))) {
    sources[dir ? `${dir}/${f}` : f] = readFileSync(join(here, dir, f), 'utf8');
  }
}
const output = compile(sources);
const built = {};
const interfaces = {};
for (const [path, contracts] of Object.entries(output)) Object.assign(path.startsWith('src/') ? built : interfaces, contracts);
const signature = (item) => `${item.type} ${item.name}(${(item.inputs || []).map((i) => i.type === 'tuple' ? `(${i.components.map((c) => c.type)})` : i.type)})`;

// The slots the L2 state transition writes (crates/primitives/src/system.rs).
for (const name of ['L1CrossDomainMessenger', 'L2CrossDomainMessenger']) {
  const slot = built[name].storageLayout.storage.find((v) => v.label === 'failedMessages')?.slot;
  if (slot !== '1') throw new Error(`${name}.failedMessages is at slot ${slot}, where the executor writes slot 1`);
}

const check = process.argv.includes('--check');
const out = join(here, 'build');
mkdirSync(out, { recursive: true });
let stale = [];
for (const [name, [, iface]] of Object.entries(DEPLOYED)) {
  const contract = built[name];
  const have = new Set(contract.abi.map(signature));
  const missing = interfaces[iface].abi.filter((item) => !have.has(signature(item))).map(signature);
  if (missing.length) throw new Error(`${name} lacks what ${iface} declares: ${missing.join(', ')}`);
  const files = {
    [`${name}.hex`]: contract.evm.deployedBytecode.object + '\n',
    [`${name}.abi.json`]: JSON.stringify(contract.abi, null, 2) + '\n',
  };
  for (const [file, content] of Object.entries(files)) {
    const path = join(out, file);
    if (check) {
      let committed = null;
      try { committed = readFileSync(path, 'utf8'); } catch {}
      if (committed !== content) stale.push(file);
    } else {
      writeFileSync(path, content);
    }
  }
}
// The tests' contracts: creation code by name, for the Rust tests and the end-to-end suite.
const tests = compile({ 'BridgeTest.sol': readFileSync(join(here, 'test', 'BridgeTest.sol'), 'utf8') }, true)['BridgeTest.sol'];
const testJson = JSON.stringify(
  Object.fromEntries(Object.entries(tests).map(([name, c]) => [name, { abi: c.abi, bytecode: c.evm.bytecode.object }])),
  null,
  1,
) + '\n';
const testPath = join(out, 'test.json');
if (check) {
  let committed = null;
  try { committed = readFileSync(testPath, 'utf8'); } catch {}
  if (committed !== testJson) stale.push('test.json');
} else {
  writeFileSync(testPath, testJson);
}
if (stale.length) {
  console.error(`contracts/build differs from a fresh build of contracts/src: ${stale.join(', ')} (run node contracts/build.mjs)`);
  process.exit(1);
}
console.log(check ? 'contracts/build matches contracts/src' : `wrote ${Object.keys(DEPLOYED).length} contracts to contracts/build`);
