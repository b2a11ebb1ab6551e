// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Addresses} from "./Addresses.sol";
import {IPortal} from "../IPortal.sol";
import {IL2ToL1MessagePasser} from "../IL2ToL1MessagePasser.sol";

/// The messenger of both layers (ICrossDomainMessenger.sol says what it promises). Its storage
/// starts empty: genesis places the runtime code with no constructor run.
abstract contract CrossDomainMessenger {
    /// Gas kept back from the target's call to record its outcome.
    uint256 internal constant RELAY_RESERVED_GAS = 40_000;
    /// Gas the check before the call itself may use.
    uint256 internal constant RELAY_GAS_CHECK_BUFFER = 5_000;
    /// Gas a proven relay spends between its own check and the relay's (hashing, reading its
    /// records).
    uint256 internal constant RELAY_CALL_OVERHEAD = 40_000;
    /// The fixed part of a deposit's gas: the deposit, the relay's checks, hashing and bookkeeping.
    uint64 internal constant RELAY_CONSTANT_OVERHEAD = 200_000;
    /// Gas per byte of message in a deposit's gas.
    uint64 internal constant RELAY_GAS_PER_BYTE = 16;

    /// Slot 0. Storage starts empty (genesis runs no constructor).
    mapping(bytes32 => bool) public successfulMessages;
    /// Slot 1: the L2 state transition writes it too, for a deposit of a message that could not
    /// run at all (tandem_execution's executor; contracts/build.mjs checks the slot).
    mapping(bytes32 => bool) public failedMessages;
    /// Slot 2: messages sent from this layer so far.
    uint240 internal sent;
    /// The sender of the message being relayed; zero outside a relay. Transient: setting it costs
    /// the call no storage write, so the target gets the gas `hasMinGas` checked.
    address internal transient relaying;

    event SentMessage(address indexed target, address sender, bytes message, uint256 messageNonce, uint256 gasLimit);
    event SentMessageExtension1(address indexed sender, uint256 value);
    event RelayedMessage(bytes32 indexed msgHash);
    event FailedRelayedMessage(bytes32 indexed msgHash);

    function OTHER_MESSENGER() public pure virtual returns (address);

    /// Hands the encoded `relayMessage` call to the other layer, with `msg.value`.
    function sendToOther(uint64 gasLimit, bytes memory relay) internal virtual;

    /// Whether the caller is the other layer's messenger delivering a message the first time.
    function fromOtherMessenger() internal view virtual returns (bool);

    function messageNonce() public view returns (uint256) {
        return uint256(sent) | (uint256(1) << 240);
    }

    function xDomainMessageSender() external view returns (address) {
        require(relaying != address(0), "CrossDomainMessenger: xDomainMessageSender is not set");
        return relaying;
    }

    /// The gas a deposit carrying `message` asks for: the relay's overhead, the call's minimum
    /// under EIP-150's 63/64 and the calldata, or EIP-7623's calldata floor if that is more (the
    /// relay call's encoding adds up to 260 bytes to the message).
    function baseGas(bytes calldata message, uint32 minGasLimit) public pure returns (uint64) {
        uint64 bytes_ = uint64(message.length) + 260;
        uint64 execution = RELAY_CONSTANT_OVERHEAD + (uint64(minGasLimit) * 64) / 63 + RELAY_GAS_PER_BYTE * bytes_;
        uint64 floor = 21_000 + 40 * bytes_;
        return execution > floor ? execution : floor;
    }

    function sendMessage(address target, bytes calldata message, uint32 minGasLimit) external payable {
        // Refused on the other layer on every relay (its system contracts, its messenger and this
        // one): refused here, before ETH leaves.
        require(
            !isBlockedRemote(target) && target != address(this) && target != OTHER_MESSENGER(),
            "CrossDomainMessenger: cannot send a message to a system address"
        );
        uint256 nonce = messageNonce();
        sendToOther(
            baseGas(message, minGasLimit),
            abi.encodeCall(this.relayMessage, (nonce, msg.sender, target, msg.value, minGasLimit, message))
        );
        emit SentMessage(target, msg.sender, message, nonce, minGasLimit);
        emit SentMessageExtension1(msg.sender, msg.value);
        unchecked {
            ++sent;
        }
    }

    function relayMessage(
        uint256 nonce,
        address sender,
        address target,
        uint256 value,
        uint256 minGasLimit,
        bytes calldata message
    ) external payable {
        if (fromOtherMessenger()) {
            require(msg.value == value, "CrossDomainMessenger: value mismatch");
            relay(nonce, sender, target, value, minGasLimit, message, true);
        } else {
            require(msg.value == 0, "CrossDomainMessenger: a replay carries no value");
            relay(nonce, sender, target, value, minGasLimit, message, false);
        }
    }

    /// Relays a message once delivered (`first`) or as a replay of a failed one. The ETH it carries
    /// is already in this contract.
    function relay(
        uint256 nonce,
        address sender,
        address target,
        uint256 value,
        uint256 minGasLimit,
        bytes memory message,
        bool first
    ) internal {
        require(nonce >> 240 == 1, "CrossDomainMessenger: only version 1 messages are supported");
        bytes32 hash = keccak256(abi.encodeCall(this.relayMessage, (nonce, sender, target, value, minGasLimit, message)));
        if (first) {
            // Delivered once: the Portal's queue and its finalized withdrawals see to that.
            require(!failedMessages[hash], "CrossDomainMessenger: message already delivered");
        } else {
            require(failedMessages[hash], "CrossDomainMessenger: message cannot be replayed");
        }
        require(
            target != address(this) && target != OTHER_MESSENGER() && !isBlockedTarget(target),
            "CrossDomainMessenger: cannot send a message to a system address"
        );
        require(!successfulMessages[hash], "CrossDomainMessenger: message has already been relayed");

        // The first delivery with too little gas for the call's minimum, or inside another relay:
        // recorded as failed, so anyone can relay it again, never lost. A replay just reverts.
        if (!hasMinGas(minGasLimit, RELAY_RESERVED_GAS + RELAY_GAS_CHECK_BUFFER) || relaying != address(0)) {
            require(first, "CrossDomainMessenger: not enough gas to relay the message");
            failedMessages[hash] = true;
            emit FailedRelayedMessage(hash);
            return;
        }
        relaying = sender;
        bool success = call(target, gasleft() - RELAY_RESERVED_GAS, value, message);
        relaying = address(0);
        if (success) {
            require(!successfulMessages[hash], "CrossDomainMessenger: message has already been relayed");
            successfulMessages[hash] = true;
            emit RelayedMessage(hash);
        } else {
            // A replay whose call fails changes nothing, so a gas estimate finds what succeeds.
            require(first, "CrossDomainMessenger: the message's call failed");
            failedMessages[hash] = true;
            emit FailedRelayedMessage(hash);
        }
    }

    /// Targets a message may not call: the layer's system contracts.
    function isBlockedTarget(address target) internal view virtual returns (bool);

    /// What the other layer's messenger refuses as a target.
    function isBlockedRemote(address target) internal pure virtual returns (bool);

    /// L1's system contracts, and L2's: no message calls them.
    function isL1System(address target) internal pure returns (bool) {
        return target == Addresses.PORTAL || target == Addresses.OUTPUT_ORACLE || target == Addresses.DISPUTE_GAME
            || target == Addresses.EXECUTE || target == Addresses.BATCH_INBOX || target == Addresses.L1_MESSENGER;
    }

    function isL2System(address target) internal pure returns (bool) {
        return target == Addresses.MESSAGE_PASSER || target == Addresses.L1_BLOCK || target == Addresses.L2_MESSENGER;
    }

    /// Whether the call gets at least `minGas` after EIP-150 keeps a 64th back, with `reserved` left
    /// over (OP Stack's SafeCall.hasMinGas).
    function hasMinGas(uint256 minGas, uint256 reserved) internal view returns (bool enough) {
        assembly {
            enough := iszero(lt(mul(gas(), 63), add(mul(minGas, 64), mul(add(reserved, 40), 63))))
        }
    }

    function call(address target, uint256 gasLimit, uint256 value, bytes memory message)
        internal
        returns (bool success)
    {
        assembly {
            success := call(gasLimit, target, value, add(message, 32), mload(message), 0, 0)
        }
    }
}

/// The L1 messenger: sends through the Portal's queue and relays withdrawals from the L2 messenger.
contract L1CrossDomainMessenger is CrossDomainMessenger {
    function OTHER_MESSENGER() public pure override returns (address) {
        return Addresses.L2_MESSENGER;
    }

    function sendToOther(uint64 gasLimit, bytes memory relay) internal override {
        IPortal(Addresses.PORTAL).depositTransaction{value: msg.value}(Addresses.L2_MESSENGER, msg.value, gasLimit, relay);
    }

    /// On L1 a message's first delivery is `relayMessageWithProof`; `relayMessage` only replays.
    function fromOtherMessenger() internal pure override returns (bool) {
        return false;
    }

    function isBlockedTarget(address target) internal pure override returns (bool) {
        // The native system contracts: through the Portal a message could deposit as this
        // messenger, a message from L1 that no L1 contract sent.
        return isL1System(target);
    }

    function isBlockedRemote(address target) internal pure override returns (bool) {
        return isL2System(target);
    }

    /// The first relay of an L2 to L1 message: the Portal checks `withdrawal` against a final output
    /// and pays its ETH here (it pays a withdrawal with data only to its target's own call), then the
    /// message inside it is relayed as from the L2 messenger.
    function relayMessageWithProof(
        IPortal.Withdrawal calldata withdrawal,
        uint256 outputIndex,
        IPortal.OutputRootProof calldata outputRootProof,
        bytes[] calldata withdrawalProof
    ) external {
        require(withdrawal.sender == Addresses.L2_MESSENGER, "L1CrossDomainMessenger: not from the L2 messenger");
        require(withdrawal.target == address(this), "L1CrossDomainMessenger: not to this messenger");
        require(
            withdrawal.data.length >= 4 && bytes4(withdrawal.data[:4]) == this.relayMessage.selector,
            "L1CrossDomainMessenger: not a message"
        );
        // Inside another relay the first delivery would be recorded as failed: refused instead.
        require(relaying == address(0), "L1CrossDomainMessenger: inside a relay");
        // The gas the L2 messenger asked for (the message's minimum and the relay's overhead), so
        // a relay short of gas reverts and a gas estimate finds what delivers the message.
        require(gasleft() >= withdrawal.gasLimit, "L1CrossDomainMessenger: less gas than the message asks");
        IPortal(Addresses.PORTAL).finalizeWithdrawal(withdrawal, outputIndex, outputRootProof, withdrawalProof);
        // The L2 messenger built the call; the Portal paid its value here.
        (uint256 nonce, address sender, address target, uint256 value, uint256 minGasLimit, bytes memory message) =
            abi.decode(withdrawal.data[4:], (uint256, address, address, uint256, uint256, bytes));
        require(value == withdrawal.value, "L1CrossDomainMessenger: value mismatch");
        // The call still gets the message's minimum after the proof (the relay runs in this frame:
        // one 63/64 on the way to the target), else no relay at all: a relayer cannot make a
        // message fail for want of the gas it asked for.
        require(
            hasMinGas(minGasLimit, RELAY_RESERVED_GAS + RELAY_GAS_CHECK_BUFFER + RELAY_CALL_OVERHEAD),
            "L1CrossDomainMessenger: less gas than the message asks"
        );
        relay(nonce, sender, target, value, minGasLimit, message, true);
    }
}

/// The L2 messenger: sends through the message passer and relays deposits from the L1 messenger.
contract L2CrossDomainMessenger is CrossDomainMessenger {
    function OTHER_MESSENGER() public pure override returns (address) {
        return Addresses.L1_MESSENGER;
    }

    function sendToOther(uint64 gasLimit, bytes memory relay) internal override {
        // A relay on L1 brings this much gas in one transaction (EIP-7825 caps one at 2^24).
        require(gasLimit <= 15_000_000, "L2CrossDomainMessenger: more gas than one L1 transaction has");
        IL2ToL1MessagePasser(Addresses.MESSAGE_PASSER).initiateWithdrawal{value: msg.value}(
            Addresses.L1_MESSENGER, gasLimit, relay
        );
    }

    function fromOtherMessenger() internal view override returns (bool) {
        return msg.sender == Addresses.applyAlias(Addresses.L1_MESSENGER);
    }

    function isBlockedTarget(address target) internal pure override returns (bool) {
        // Through the message passer a message could withdraw as this messenger, a message to L1
        // that no L2 contract sent.
        return isL2System(target);
    }

    function isBlockedRemote(address target) internal pure override returns (bool) {
        return isL1System(target);
    }
}
