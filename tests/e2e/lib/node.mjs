// Starts and stops real `tandem` processes for the end-to-end tests.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import solc from 'solc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The tandem binary: $TANDEM_BIN, else the debug build in $CARGO_TARGET_DIR or ./target. */
export function tandemBin() {
  if (process.env.TANDEM_BIN) return process.env.TANDEM_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(root, 'target');
  return join(target, 'debug', 'tandem');
}

/**
 * A Foundry tool (`cast`, `forge`, `anvil`) from its npm package: the Linux binary the package
 * ships, run directly (the package's `.bin` wrapper exits 0 whatever the tool's exit code).
 */
export function foundryBin(tool) {
  return join(root, 'tests', 'e2e', 'node_modules', '@foundry-rs', `${tool}-linux-amd64`, 'bin', tool);
}

export function tempDir(prefix = 'tandem-e2e-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Runs `tandem dev` on a free port; see startNode. */
export function startDev(args = []) {
  return startNode('dev', ['--port', '0', ...args]);
}

/** Runs `tandem devnet` (4 BFT validators in one process) with RPC on a free port; see startNode. */
export function startDevnet(args = []) {
  // Below the kernel's ephemeral ports (32768 and up), which clients' connections take at random:
  // a p2p port among them was once in use and the devnet could not bind it.
  const p2p = 20_000 + Math.floor(Math.random() * 12_000);
  return startNode('devnet', ['--port', '0', '--p2p-port', String(p2p), '--l2-port', '0', '--verifier-port', '0', ...args]);
}

/**
 * Writes a network with `tandem setup` into a fresh directory (validators and full nodes on
 * loopback, ports from a random base) and returns the directory; `extra` are more setup flags.
 * Start its members with startNetworkNode.
 */
export function setupNetwork({ validators = 4, fullNodes = 0, extra = [] } = {}) {
  const dir = tempDir('tandem-net-');
  const base = 21_000 + Math.floor(Math.random() * 11_000); // below the ephemeral ports, as above
  const args = ['setup', '--validators', String(validators), '--full-nodes', String(fullNodes), '--out', dir,
    '--base-port', String(base), '--rpc-port', String(base + 100), ...extra];
  const setup = spawnSync(tandemBin(), args, { encoding: 'utf8' });
  if (setup.status !== 0) throw new Error(`tandem setup failed: ${setup.stderr}`);
  return dir;
}

/** Runs `tandem node` for member `name` (`node0`, `full0`, ...) of the network in `dir`; see startNode. */
export function startNetworkNode(dir, name) {
  return startNode('node', ['--config', join(dir, `${name}.toml`)]);
}

/**
 * Runs `tandem l2 <role>` (sequencer or verifier) against L1 at `l1Rpc` on a free port; see startNode.
 */
export function startL2(role, l1Rpc, args = []) {
  return startNode(`l2 ${role}`, ['--l1-rpc', l1Rpc, '--port', '0', ...args]);
}

/**
 * Runs `tandem <command> --json` and resolves once it prints its JSON summary.
 * Returns { url, ws, info, proc, stop(signal) }.
 */
export async function startNode(command, args = []) {
  const proc = spawn(tandemBin(), [...command.split(' '), '--json', '--log', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const info = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`tandem ${command} did not start: ${stderr}`)), 30_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try { resolve(JSON.parse(out.slice(0, nl))); } catch (e) { reject(e); }
      }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`tandem ${command} exited with ${code}: ${stderr}`)); });
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    url: info.rpc,
    ws: info.ws,
    info,
    proc,
    stderr: () => stderr,
    async stop(signal = 'SIGINT') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/**
 * Compiles a contract with solc-js: `file` in tests/e2e/contracts, or a path from the repository
 * root when it has a slash (e.g. the published `contracts/IPortal.sol`). Returns { abi, bytecode }.
 */
export function compile(file, name) {
  const path = file.includes('/') ? join(root, file) : join(root, 'tests', 'e2e', 'contracts', file);
  const source = readFileSync(path, 'utf8');
  const input = {
    language: 'Solidity',
    sources: { [file]: { content: source } },
    settings: { optimizer: { enabled: true, runs: 200 }, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const c = output.contracts[file][name];
  return { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
}

/** A raw JSON-RPC call over HTTP that returns the whole response object (result or error). */
export async function rawRpc(url, method, params = []) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return res.json();
}

/** Revert data of a failed call, decoded with `iface` (its error name). */
export async function revertName(iface, promise) {
  try {
    await promise;
  } catch (e) {
    const data = e?.data ?? e?.info?.error?.data ?? e?.error?.data;
    if (typeof data === 'string' && data.length >= 10) return iface.parseError(data)?.name;
    throw e;
  }
  throw new Error('expected a revert');
}

export function cleanup(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** Polls `check` every 200 ms until it returns something truthy (which it returns), or throws. */
export async function waitFor(what, check, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
