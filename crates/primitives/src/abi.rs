//! The Solidity interfaces of tandem's system contracts (`contracts/*.sol`): what the precompiles
//! implement and every client (the services, the CLI, the explorer, ethers or viem) calls.
#![allow(clippy::too_many_arguments)]

alloy_sol_types::sol!("../../contracts/IPortal.sol");
alloy_sol_types::sol!("../../contracts/IBatchInbox.sol");
alloy_sol_types::sol!("../../contracts/IOutputOracle.sol");
alloy_sol_types::sol!("../../contracts/IDisputeGame.sol");
alloy_sol_types::sol!("../../contracts/IExecute.sol");
alloy_sol_types::sol!("../../contracts/IL1Block.sol");
alloy_sol_types::sol!("../../contracts/IL2ToL1MessagePasser.sol");
alloy_sol_types::sol!("../../contracts/ICrossDomainMessenger.sol");
alloy_sol_types::sol!("../../contracts/IStandardBridge.sol");
