// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// The Foundry cheatcodes these tests and scripts use, at Foundry's cheatcode address (so the
/// project needs no library from outside the repository).
interface Vm {
    function warp(uint256 timestamp) external;
    function deal(address account, uint256 balance) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function snapshotState() external returns (uint256 id);
    function revertToState(uint256 id) external returns (bool reverted);
    function expectRevert(bytes calldata data) external;
    function expectRevert(bytes4 selector) external;
    function envAddress(string calldata name) external view returns (address);
    function envUint(string calldata name) external view returns (uint256);
    function startBroadcast(uint256 privateKey) external;
    function stopBroadcast() external;
}

Vm constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
