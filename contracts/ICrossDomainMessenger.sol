// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// CrossDomainMessenger: sends a message (a call, with ETH if any) to the other layer, where it is
/// relayed as a call to `target` whose sender is readable through `xDomainMessageSender()`. The
/// interface is OP Stack's, so contracts written for OP's messengers port unchanged.
/// Addresses: L1 0x000000000000000000000000000000000000b0a5, L2 0x4200000000000000000000000000000000000007
/// (EVM code, built from contracts/src by contracts/build.mjs).
///
/// L1 to L2 rides the Portal's queue as a deposit (from the L1 messenger's alias), so it keeps
/// forced inclusion. L2 to L1 is a withdrawal from the L2 messenger to the L1 messenger: once an
/// output covering it is final, anyone relays it with `relayMessageWithProof`, which has the Portal
/// check the proof and pay the message's ETH to the L1 messenger.
///
/// A message whose first delivery fails (its call reverts, or less gas than `minGasLimit` is
/// left) is recorded in `failedMessages` and keeps its ETH in the messenger; anyone may relay it
/// again with `relayMessage` and more gas, and a replay that fails reverts (so `eth_estimateGas`
/// finds the gas that delivers it). A message succeeds at most once (`successfulMessages`). The
/// first delivery on L2 is the deposit, with the gas `baseGas` asked for; on L1 it is
/// `relayMessageWithProof`, which reverts if given less gas than the withdrawal's `gasLimit`.
/// Message hash: keccak256(abi.encodeWithSignature("relayMessage(uint256,address,address,uint256,uint256,bytes)",
/// nonce, sender, target, value, minGasLimit, message)), OP's version-1 hash; nonces carry version 1 in
/// their top two bytes.
interface ICrossDomainMessenger {
    /// Sends `message` to `target` on the other layer with `msg.value`. On L2 the relay gets at
    /// least `minGasLimit` gas for the call (the deposit asks for `baseGas`, at most 2,000,000).
    function sendMessage(address target, bytes calldata message, uint32 minGasLimit) external payable;

    /// Relays a message. From the other layer's messenger (on L2: its deposit) it is the first
    /// relay; from anyone else it replays a message that failed before, without ETH.
    function relayMessage(
        uint256 nonce,
        address sender,
        address target,
        uint256 value,
        uint256 minGasLimit,
        bytes calldata message
    ) external payable;

    /// The sender of the message being relayed; reverts outside a relay.
    function xDomainMessageSender() external view returns (address);
    /// The messenger on the other layer.
    function OTHER_MESSENGER() external view returns (address);
    /// The nonce the next message sent from this layer gets (version 1 in the top two bytes).
    function messageNonce() external view returns (uint256);
    /// The L2 gas a deposit carrying `message` asks for, so its call gets `minGasLimit`.
    function baseGas(bytes calldata message, uint32 minGasLimit) external pure returns (uint64);
    function successfulMessages(bytes32 msgHash) external view returns (bool);
    function failedMessages(bytes32 msgHash) external view returns (bool);

    event SentMessage(address indexed target, address sender, bytes message, uint256 messageNonce, uint256 gasLimit);
    event SentMessageExtension1(address indexed sender, uint256 value);
    event RelayedMessage(bytes32 indexed msgHash);
    event FailedRelayedMessage(bytes32 indexed msgHash);
}

/// The L1 messenger's first relay of an L2 to L1 message: `withdrawal` is the message passer's
/// record of it (sender the L2 messenger, target the L1 messenger, data the `relayMessage` call),
/// proven as `IPortal.finalizeWithdrawal` proves any withdrawal.
/// The structs are IPortal's, repeated so this file stands alone.
interface IL1CrossDomainMessenger is ICrossDomainMessenger {
    struct Withdrawal {
        uint256 nonce;
        address sender;
        address target;
        uint256 value;
        uint256 gasLimit;
        bytes data;
    }

    struct OutputRootProof {
        bytes32 version;
        bytes32 stateRoot;
        bytes32 messagePasserStorageRoot;
        bytes32 blockHash;
    }

    function relayMessageWithProof(
        Withdrawal calldata withdrawal,
        uint256 outputIndex,
        OutputRootProof calldata outputRootProof,
        bytes[] calldata withdrawalProof
    ) external;
}
