// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// OutputOracle: tandem's L1 system contract holding L2 output roots.
/// Address: 0x000000000000000000000000000000000000B0A2 (native, not EVM bytecode).
///
/// outputRoot = keccak256(bytes32(0) ++ L2 state root ++ L2ToL1MessagePasser storage root ++ L2 block hash).
/// Anyone may propose, with a bond, the output of L2 block nextBlockNumber() (every `interval`
/// blocks), with the output root of every block it covers (previous+1 ..= l2BlockNumber, the last
/// equal to `outputRoot`). The contract stores their binary keccak Merkle root as `blocksRoot` (an
/// odd node is paired with zero) and logs them, so a challenger can name the first wrong block
/// and prove what the proposer claimed for it. An output is final once `challengeWindow` seconds of L1 time have passed since it was
/// proposed; the DisputeGame may delete outputs that are not final yet.
/// Storage: slot 0 output count, 1 challenge window, 2 interval, 3 minimum bond; output i at
/// keccak256(abi.encode(i, 5)) + (0 outputRoot, 1 blocksRoot, 2 l2BlockNumber, 3 timestamp,
/// 4 proposer, 5 bond, 6 bond claimed).
interface IOutputOracle {
    struct Output {
        bytes32 outputRoot;
        bytes32 blocksRoot;
        uint64 l2BlockNumber;
        uint64 timestamp;
        address proposer;
        uint256 bond;
    }

    /// Proposes the output of L2 block `l2BlockNumber`, which must equal nextBlockNumber() and be
    /// in a batch BatchInbox holds (so its inputs are on L1), with msg.value >= minBond() as bond.
    /// `parentOutputRoot` is the output root the proposer holds for the previous output's block
    /// (the L2 genesis output for the first): the call reverts with WrongParent unless L1 holds
    /// the same, so an output is never put on top of one its proposer disagrees with. At most
    /// maxPendingOutputs() outputs are pending (not final) at once: a challenge that deletes an
    /// output returns the bonds of all later ones, and that work must fit one L1 transaction.
    function proposeOutput(
        bytes32 outputRoot,
        uint64 l2BlockNumber,
        bytes32 parentOutputRoot,
        bytes32[] calldata blockRoots
    ) external payable;
    /// Returns a final output's bond to its proposer, once.
    function claimBond(uint256 index) external;
    /// Deletes output `index` and every later one; only the DisputeGame, and never a final output.
    function deleteOutputs(uint256 index) external;

    function getOutput(uint256 index) external view returns (Output memory);
    function outputCount() external view returns (uint256);
    /// How many outputs are final (they are a prefix: the first finalizedCount() outputs).
    function finalizedCount() external view returns (uint256);
    function nextBlockNumber() external view returns (uint64);
    function challengeWindow() external view returns (uint64);
    function interval() external view returns (uint64);
    function minBond() external view returns (uint256);
    function maxPendingOutputs() external view returns (uint64);

    event OutputProposed(
        uint256 indexed index,
        bytes32 indexed outputRoot,
        uint64 indexed l2BlockNumber,
        bytes32 blocksRoot,
        uint64 timestamp,
        address proposer
    );
    event OutputBlockRoots(uint256 indexed index, bytes32[] blockRoots);
    event OutputsDeleted(uint256 indexed fromIndex, uint256 count);
    event BondClaimed(uint256 indexed index, address proposer, uint256 amount);

    error WrongBlockNumber(uint64 expected, uint64 got);
    error WrongParent(bytes32 stored, bytes32 given);
    error WrongBlockRoots(uint64 expectedCount, bool lastIsOutputRoot);
    error BlockNotBatched(uint64 block, uint64 lastBatched);
    error TooManyPending(uint64 pending, uint64 limit);
    error BondTooLow(uint256 minimum, uint256 got);
    error OutputNotFound(uint256 index);
    error OutputNotFinal(uint256 index, uint64 finalAt);
    error OutputFinal(uint256 index);
    error BondAlreadyClaimed(uint256 index);
    error NotDisputeGame(address caller);
    error BadCall(bytes4 selector);
    error NotAllowed();
}
