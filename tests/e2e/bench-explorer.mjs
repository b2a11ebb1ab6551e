// A small benchmark of the explorer against a running devnet: fetches each kind of page in a
// loop and prints render-time percentiles per page (and the explorer process's memory, when its
// pid is given). Timings are reported, never asserted.
//   node tests/e2e/bench-explorer.mjs http://127.0.0.1:8080 [seconds] [pid]
const [base = 'http://127.0.0.1:8080', seconds = '30', pid] = process.argv.slice(2);
import { readFileSync } from 'node:fs';

async function get(path) {
  const started = performance.now();
  const res = await fetch(base + path);
  const body = await res.text();
  return { ms: performance.now() - started, status: res.status, body };
}

function rss() {
  if (!pid) return null;
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS'));
  return line ? Number(line.split(/\s+/)[1]) / 1024 : null;
}

// Discover a block, a transaction and an address on each layer from the pages themselves.
const home = (await get('/')).body;
const l1Block = home.match(/href="(\/l1\/block\/\d+)"/)?.[1] ?? '/l1/block/1';
const l2Block = home.match(/href="(\/l2\/block\/\d+)"/)?.[1] ?? '/l2/block/1';
const rollup = (await get('/rollup')).body;
const batch = rollup.match(/href="(\/rollup\/batch\/\d+)"/)?.[1];
const l1Tx = rollup.match(/href="(\/l1\/tx\/0x[0-9a-f]{64})"/)?.[1];
const address = rollup.match(/href="(\/address\/0x[0-9a-fA-F]{40})"/)?.[1] ?? '/address/0x0000000000000000000000000000000000000000';
const pages = { home: '/', l1Block, l2Block, rollup: '/rollup', bridge: '/bridge', address, ...(batch && { batch }), ...(l1Tx && { l1Tx }) };

const times = Object.fromEntries(Object.keys(pages).map((k) => [k, []]));
const memory = [];
const until = Date.now() + Number(seconds) * 1000;
while (Date.now() < until) {
  for (const [name, path] of Object.entries(pages)) {
    const { ms, status } = await get(path);
    if (status !== 200) throw new Error(`${path}: ${status}`);
    times[name].push(ms);
  }
  const m = rss();
  if (m !== null) memory.push(m);
}
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
console.log('| page | requests | p50 (ms) | p95 (ms) | max (ms) |\n|---|---|---|---|---|');
for (const [name, xs] of Object.entries(times)) {
  console.log(`| ${name} (${pages[name]}) | ${xs.length} | ${pct(xs, 50).toFixed(1)} | ${pct(xs, 95).toFixed(1)} | ${Math.max(...xs).toFixed(1)} |`);
}
if (memory.length) console.log(`\nprocess RSS: first ${memory[0].toFixed(0)} MiB, last ${memory.at(-1).toFixed(0)} MiB, max ${Math.max(...memory).toFixed(0)} MiB over ${seconds} s`);
