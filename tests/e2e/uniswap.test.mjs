// Uniswap V2, deployed from the artifacts Uniswap publishes on npm (@uniswap/v2-core,
// @uniswap/v2-periphery: the bytecode mainnet runs), on tandem dev, the devnet's L1 and its L2:
// pairs created at their CREATE2 addresses (the router's hard-coded init code hash must match),
// liquidity added and removed, swaps token-to-token and ETH-to-token, every balance exact.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { ethers } from 'ethers';
import { startDev, startDevnet } from './lib/node.mjs';

const require = createRequire(import.meta.url);
const artifact = (pkg, name) => require(`@uniswap/${pkg}/build/${name}.json`);
const E = 10n ** 18n;

/** What a V2 pair pays out for `amountIn` (UniswapV2Library.getAmountOut: a 0.3% fee). */
const amountOut = (amountIn, reserveIn, reserveOut) =>
  (amountIn * 997n * reserveOut) / (reserveIn * 1000n + amountIn * 997n);

/** The integer square root the pair takes of the first deposit (Math.sqrt, Babylonian). */
function sqrt(y) {
  if (y <= 3n) return y === 0n ? 0n : 1n;
  let [z, x] = [y, y / 2n + 1n];
  while (x < z) [z, x] = [x, (y / x + x) / 2n];
  return z;
}

/** Deploys Uniswap V2 with `wallet` and runs the whole flow, checking every amount. */
async function uniswap(wallet) {
  const deploy = async (pkg, name, ...args) => {
    const { abi, bytecode } = artifact(pkg, name);
    const contract = await new ethers.ContractFactory(abi, bytecode, wallet).deploy(...args);
    await contract.waitForDeployment();
    return contract;
  };
  const send = async (promise) => {
    const receipt = await (await promise).wait();
    assert.equal(receipt.status, 1);
    return receipt;
  };
  const me = wallet.address;
  const deadline = 2n ** 40n;

  const weth = await deploy('v2-periphery', 'WETH9');
  const factory = await deploy('v2-core', 'UniswapV2Factory', me);
  const router = await deploy('v2-periphery', 'UniswapV2Router02', await factory.getAddress(), await weth.getAddress());
  const tokenA = await deploy('v2-periphery', 'ERC20', 10_000n * E);
  const tokenB = await deploy('v2-periphery', 'ERC20', 10_000n * E);
  const [a, b, r] = [await tokenA.getAddress(), await tokenB.getAddress(), await router.getAddress()];
  await send(tokenA.approve(r, ethers.MaxUint256));
  await send(tokenB.approve(r, ethers.MaxUint256));

  // Liquidity: the pair is created at the address the router computes with its init code hash.
  await send(router.addLiquidity(a, b, 1_000n * E, 4_000n * E, 0, 0, me, deadline));
  const pairAddress = await factory.getPair(a, b);
  const [token0, token1] = a.toLowerCase() < b.toLowerCase() ? [a, b] : [b, a];
  const initCodeHash = ethers.keccak256(artifact('v2-core', 'UniswapV2Pair').bytecode.replace(/^(?!0x)/, '0x'));
  assert.equal(pairAddress, ethers.getCreate2Address(await factory.getAddress(),
    ethers.solidityPackedKeccak256(['address', 'address'], [token0, token1]), initCodeHash));
  const pair = new ethers.Contract(pairAddress, artifact('v2-core', 'UniswapV2Pair').abi, wallet);
  const reserves = async () => {
    const [r0, r1] = await pair.getReserves();
    return token0 === a ? [r0, r1] : [r1, r0];
  };
  assert.deepEqual(await reserves(), [1_000n * E, 4_000n * E]);
  const liquidity = sqrt(1_000n * E * 4_000n * E) - 1_000n;
  assert.equal(await pair.balanceOf(me), liquidity);
  assert.equal(await pair.totalSupply(), liquidity + 1_000n);

  // A token-to-token swap pays exactly what the constant product says.
  const [beforeA, beforeB] = [await tokenA.balanceOf(me), await tokenB.balanceOf(me)];
  const out = amountOut(10n * E, 1_000n * E, 4_000n * E);
  await send(router.swapExactTokensForTokens(10n * E, out, [a, b], me, deadline));
  assert.equal(await tokenA.balanceOf(me), beforeA - 10n * E);
  assert.equal(await tokenB.balanceOf(me), beforeB + out);
  assert.deepEqual(await reserves(), [1_010n * E, 4_000n * E - out]);
  // Asking for one wei more than that is refused, and changes nothing.
  await assert.rejects(router.swapExactTokensForTokens.staticCall(10n * E, amountOut(10n * E, 1_010n * E, 4_000n * E - out) + 1n, [a, b], me, deadline),
    /INSUFFICIENT_OUTPUT_AMOUNT/);

  // ETH: a WETH pair made by addLiquidityETH, then an ETH-to-token swap.
  await send(router.addLiquidityETH(a, 100n * E, 0, 0, me, deadline, { value: E }));
  const wethPair = await factory.getPair(a, await weth.getAddress());
  assert.equal(await weth.balanceOf(wethPair), E);
  assert.equal(await tokenA.balanceOf(wethPair), 100n * E);
  const ethIn = E / 100n;
  const tokensOut = amountOut(ethIn, E, 100n * E);
  const heldA = await tokenA.balanceOf(me);
  await send(router.swapExactETHForTokens(tokensOut, [await weth.getAddress(), a], me, deadline, { value: ethIn }));
  assert.equal(await tokenA.balanceOf(me), heldA + tokensOut);
  assert.equal(await weth.balanceOf(wethPair), E + ethIn);

  // Half the liquidity out: each side pro rata, to the wei.
  const [reserveA, reserveB] = await reserves();
  const supply = await pair.totalSupply();
  const half = liquidity / 2n;
  await send(pair.approve(r, half));
  const [keptA, keptB] = [await tokenA.balanceOf(me), await tokenB.balanceOf(me)];
  await send(router.removeLiquidity(a, b, half, 0, 0, me, deadline));
  assert.equal(await tokenA.balanceOf(me), keptA + (half * reserveA) / supply);
  assert.equal(await tokenB.balanceOf(me), keptB + (half * reserveB) / supply);
  assert.equal(await pair.balanceOf(me), liquidity - half);
}

const provider = (url, chainId) =>
  new ethers.JsonRpcProvider(url, chainId, { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });

describe('Uniswap V2 on tandem dev', () => {
  let node, rpc;
  before(async () => {
    node = await startDev();
    rpc = provider(node.url, 900);
  });
  after(async () => {
    rpc.destroy();
    const { code } = await node.stop('SIGINT');
    assert.equal(code, 0, `clean shutdown on Ctrl-C: ${node.stderr()}`);
  });
  it('deploys from the npm artifacts, adds liquidity, swaps and removes liquidity, to the wei', async () => {
    await uniswap(new ethers.Wallet(node.info.accounts[3].privateKey, rpc));
  });
});

describe('Uniswap V2 on the devnet, L1 and L2', () => {
  let node, l1, l2;
  before(async () => {
    node = await startDevnet(['--no-explorer']);
    l1 = provider(node.url, 900);
    l2 = provider(node.info.l2.rpc, 901);
  });
  after(async () => {
    l1.destroy();
    l2.destroy();
    const { code } = await node.stop('SIGINT');
    assert.equal(code, 0, `clean shutdown on Ctrl-C: ${node.stderr()}`);
  });
  it('on L1: deploys, adds liquidity, swaps and removes liquidity, to the wei', async () => {
    await uniswap(new ethers.Wallet(node.info.accounts[3].privateKey, l1));
  });
  it('on L2: deploys, adds liquidity, swaps and removes liquidity, to the wei', async () => {
    await uniswap(new ethers.Wallet(node.info.accounts[3].privateKey, l2));
  });
});
