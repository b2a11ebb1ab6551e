#!/usr/bin/env node
// Forge's compiler, offline: solc-js (the `solc` package from npm, the official Emscripten build)
// behind solc's command line, as much of it as forge uses: `--version`, and `--standard-json`
// reading the input from stdin (forge puts every source's content in it, so no import callback).
// Forge is told to use it with `--use` (see foundry.test.mjs); nothing is downloaded.
import { createRequire } from 'node:module';
const solc = createRequire(import.meta.url)('solc');

const args = process.argv.slice(2);
if (args.includes('--version')) {
  // solc's own two lines; forge reads the version from the last one.
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
} else if (args.includes('--standard-json')) {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  process.stdout.write(solc.compile(Buffer.concat(chunks).toString('utf8')));
} else {
  process.stderr.write(`solc.mjs: only --version and --standard-json are supported (got ${args.join(' ')})\n`);
  process.exit(1);
}
