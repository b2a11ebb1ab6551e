// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vault, Counter} from "../src/Vault.sol";
import {vm} from "../test/Vm.sol";

/// Deploys a vault with a one-hour delay, a counter beside it, bumps the counter twice and
/// deposits 1 ether, broadcast with the key in DEPLOYER_KEY.
contract Deploy {
    function run() external returns (Vault vault, Counter counter) {
        vm.startBroadcast(vm.envUint("DEPLOYER_KEY"));
        vault = new Vault(1 hours);
        counter = new Counter(vault);
        counter.increment();
        counter.increment();
        vault.deposit{value: 1 ether}();
        vm.stopBroadcast();
    }
}
