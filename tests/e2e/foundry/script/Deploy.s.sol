// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vault, Counter} from "../src/Vault.sol";
import {vm} from "../test/Vm.sol";

/// Deploys a vault with a one-hour delay, a counter beside it (by CREATE2, at an address that
/// depends only on its code and salt), bumps the counter twice and deposits 1 ether, broadcast
/// with the key in DEPLOYER_KEY.
contract Deploy {
    function run() external returns (Vault vault, Counter counter) {
        vm.startBroadcast(vm.envUint("DEPLOYER_KEY"));
        vault = new Vault(1 hours);
        // Salted: forge deploys it through the CREATE2 factory at 0x4e59...956c.
        counter = new Counter{salt: bytes32(uint256(1))}(vault);
        counter.increment();
        counter.increment();
        vault.deposit{value: 1 ether}();
        vm.stopBroadcast();
    }
}
