// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vault, Counter} from "../src/Vault.sol";
import {vm} from "./Vm.sol";

/// Run with `forge test --fork-url URL` against a chain where script/Deploy.s.sol was broadcast
/// (VAULT, COUNTER and DEPLOYER in the environment), on anvil and on tandem alike: it reads the
/// deployed state, then uses snapshots, time travel, impersonation and balances on the fork.
contract DeployedTest {
    Vault vault;
    Counter counter;
    address deployer;

    function setUp() public {
        vault = Vault(vm.envAddress("VAULT"));
        counter = Counter(vm.envAddress("COUNTER"));
        deployer = vm.envAddress("DEPLOYER");
    }

    function test_reads_what_the_script_deployed() public view {
        require(address(counter.vault()) == address(vault), "counter names the vault");
        require(counter.count() == 2, "counted twice");
        require(vault.keeper() == deployer, "the deployer keeps the vault");
        require(vault.delay() == 1 hours, "one-hour delay");
        require(vault.balanceOf(deployer) == 1 ether, "deposit held");
        require(address(vault).balance == 1 ether, "vault balance");
    }

    function test_time_travel_releases_a_deposit() public {
        uint256 until = vault.unlockAt(deployer);
        vm.prank(deployer);
        vm.expectRevert(abi.encodeWithSelector(Vault.Locked.selector, until));
        vault.withdraw();
        vm.warp(until);
        uint256 before = deployer.balance;
        vm.prank(deployer);
        vault.withdraw();
        require(deployer.balance == before + 1 ether, "paid out");
        require(vault.balanceOf(deployer) == 0, "emptied");
    }

    function test_impersonation_and_balances() public {
        address stranger = address(0xBEEF);
        vm.deal(stranger, 5 ether);
        require(stranger.balance == 5 ether, "dealt");
        vm.prank(stranger);
        vm.expectRevert(Vault.NotKeeper.selector);
        vault.setDelay(0);
        vm.startPrank(deployer);
        vault.setDelay(2 hours);
        vm.stopPrank();
        require(vault.delay() == 2 hours, "the keeper changed the delay");
        vm.prank(stranger);
        vault.deposit{value: 2 ether}();
        require(vault.balanceOf(stranger) == 2 ether, "stranger deposited");
        require(vault.unlockAt(stranger) == block.timestamp + 2 hours, "new delay applies");
    }

    function test_snapshots_undo_everything_after_them() public {
        uint256 id = vm.snapshotState();
        vm.deal(address(vault), 0);
        vm.warp(block.timestamp + 365 days);
        counter.increment();
        require(counter.count() == 3, "counted on the fork");
        require(vm.revertToState(id), "reverted");
        require(counter.count() == 2, "count back");
        require(address(vault).balance == 1 ether, "balance back");
    }
}
