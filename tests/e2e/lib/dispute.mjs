// What the fault-proof tests read from L1 (OutputOracle and DisputeGame logs and views) and the
// proposers they run, on any L1: a devnet or a `tandem setup` network.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ethers } from 'ethers';
import { tandemBin, waitFor } from './node.mjs';

export const ORACLE = '0x000000000000000000000000000000000000b0a2';
export const GAME = '0x000000000000000000000000000000000000b0a3';

export const oracleAbi = [
  'event OutputProposed(uint256 indexed index, bytes32 indexed outputRoot, uint64 indexed l2BlockNumber, bytes32 blocksRoot, uint64 timestamp, address proposer)',
  'event OutputsDeleted(uint256 indexed fromIndex, uint256 count)',
  'event BondClaimed(uint256 indexed index, address proposer, uint256 amount)',
  'function getOutput(uint256 index) view returns (tuple(bytes32 outputRoot, bytes32 blocksRoot, uint64 l2BlockNumber, uint64 timestamp, address proposer, uint256 bond))',
  'function outputCount() view returns (uint256)',
  'function finalizedCount() view returns (uint256)',
];
export const gameAbi = [
  'event Challenged(uint256 indexed outputIndex, uint64 indexed l2BlockNumber, address indexed challenger, bool won, bytes32 claimedRoot, bytes32 trueRoot)',
  'function bond() view returns (uint256)',
];

/**
 * The outputs and challenges L1 at `l1` (an ethers provider) holds, read from its logs: every
 * proposal and challenge so far, the outputs a challenge deleted, and who proposed an output when.
 */
export function disputeViews(l1) {
  const oracleIface = new ethers.Interface(oracleAbi);
  const gameIface = new ethers.Interface(gameAbi);
  const logs = async (address, iface, event) => {
    const found = await l1.getLogs({ address, topics: [iface.getEvent(event).topicHash], fromBlock: 0 });
    return found.map((l) => ({ ...iface.parseLog(l).args.toObject(), block: l.blockNumber, tx: l.transactionHash }));
  };
  const views = {
    oracle: new ethers.Contract(ORACLE, oracleAbi, l1),
    game: new ethers.Contract(GAME, gameAbi, l1),
    /** Every OutputProposed log so far, oldest first. */
    proposals: () => logs(ORACLE, oracleIface, 'OutputProposed'),
    /** Every BondClaimed log so far, oldest first. */
    bondsClaimed: () => logs(ORACLE, oracleIface, 'BondClaimed'),
    /** Every Challenged log so far, with the block it landed in. */
    challenges: () => logs(GAME, gameIface, 'Challenged'),
    /** The OutputsDeleted event of challenge `c`'s transaction. */
    async deleted(c) {
      const receipt = await l1.getTransactionReceipt(c.tx);
      const events = receipt.logs.filter((l) => l.address.toLowerCase() === ORACLE).map((l) => oracleIface.parseLog(l));
      return events.find((e) => e?.name === 'OutputsDeleted')?.args ?? { fromIndex: -1n, count: 0n };
    },
    /** The L1 balances of the faulty proposer and the challenger now, for checkRemoved. */
    async balances(faulty, challenger) {
      return { faulty: await l1.getBalance(faulty), challenger: await l1.getBalance(challenger) };
    },
    /**
     * Checks the won challenges `won` (each with the `fault` it was against): each landed within
     * `window` seconds of the wrong output's proposal, was sent by `challenger` and deleted the
     * output in the same transaction; every challenge L1 ever upheld was against `faulty`; and,
     * since the balances `before`, the faulty proposer paid a bond for each and the challenger
     * got three quarters of each (a quarter is burnt).
     */
    async checkRemoved({ won, faulty, challenger, window, before }) {
      const [all, cs] = [await views.proposals(), await views.challenges()];
      for (const c of won) {
        const wrong = proposerBefore(all, c.outputIndex, c.block);
        const at = (await l1.getBlock(c.block)).timestamp;
        assert.ok(BigInt(at) < wrong.timestamp + BigInt(window), `${c.fault}: challenged in time`);
        assert.notEqual(c.claimedRoot, c.trueRoot);
        assert.equal(ethers.getAddress(c.challenger), challenger);
        assert.equal((await views.deleted(c)).fromIndex, c.outputIndex, `${c.fault}: output deleted`);
      }
      for (const c of cs.filter((c) => c.won)) {
        assert.equal(proposerOf(proposerBefore(all, c.outputIndex, c.block)), faulty, `challenge of output ${c.outputIndex} at L1 block ${c.block}`);
      }
      const bond = await views.game.bond();
      const lost = BigInt(cs.filter((c) => c.won).length);
      const after = await views.balances(faulty, challenger);
      assert.ok(before.faulty - after.faulty >= lost * bond, 'the faulty proposer paid its bonds');
      assert.ok(after.challenger - before.challenger > (lost * bond * 3n) / 4n - bond / 100n, 'the challenger was paid');
    },
  };
  return views;
}

/** Who proposed output `index` as it stood just before L1 block `block`, from `all` proposals. */
export function proposerBefore(all, index, block) {
  return all.filter((p) => p.index === index && p.block < block).at(-1);
}

/** The address proposer `p` (a proposal, maybe undefined) posted from. */
export function proposerOf(p) {
  return ethers.getAddress(p?.proposer ?? ethers.ZeroAddress);
}

/**
 * Runs `tandem l2 proposer` as dev account `index` (with `--fault`, if given) on the outputs of
 * the L2 node at `l2Rpc`, posting to L1 at `l1Rpc`, until `done` returns something truthy (which
 * it returns); then stops it.
 */
export async function proposeUntil({ l1Rpc, l2Rpc, index, fault }, what, done, timeoutMs = 90_000) {
  const args = ['l2', 'proposer', '--l1-rpc', l1Rpc, '--l2-rpc', l2Rpc, '--mnemonic-index', String(index), '--log', 'warn'];
  if (fault) args.push('--fault', fault);
  const proc = spawn(tandemBin(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => proc.on('exit', r));
  try {
    return await waitFor(what, done, timeoutMs).catch((e) => {
      throw new Error(`${e.message}; the proposer said: ${stderr.slice(-2000)}`);
    });
  } finally {
    proc.kill('SIGINT');
    await exited;
  }
}
