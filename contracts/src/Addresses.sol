// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// Where tandem's system contracts sit (crates/primitives/src/system.rs lists the same; a test
/// checks the two agree).
library Addresses {
    /// L1: the native system contracts.
    address internal constant PORTAL = address(0xb0a1);
    address internal constant OUTPUT_ORACLE = address(0xb0a2);
    address internal constant DISPUTE_GAME = address(0xb0a3);
    address internal constant EXECUTE = address(0xb0a4);
    address internal constant BATCH_INBOX = address(0xba70);
    /// L1: the L1 messenger and standard bridge (this directory's EVM code).
    address internal constant L1_MESSENGER = address(0xb0a5);
    address internal constant L1_BRIDGE = address(0xb0a6);
    /// L2: the native message passer (withdrawals), and the L2 messenger and standard bridge.
    address internal constant L1_BLOCK = 0x4200000000000000000000000000000000000015;
    address internal constant MESSAGE_PASSER = 0x4200000000000000000000000000000000000016;
    address internal constant L2_MESSENGER = 0x4200000000000000000000000000000000000007;
    address internal constant L2_BRIDGE = 0x4200000000000000000000000000000000000010;

    /// What L1 adds to a contract's address when it deposits (OP Stack's alias).
    uint160 internal constant ALIAS_OFFSET = uint160(0x1111000000000000000000000000000000001111);

    function applyAlias(address l1) internal pure returns (address) {
        unchecked {
            return address(uint160(l1) + ALIAS_OFFSET);
        }
    }
}
