"""web3.py against one tandem layer, with its default middleware: read blocks, build, sign and send
a transfer, deploy an ERC-20 and call it. Prints one JSON object of what it saw.

Usage: web3_client.py RPC_URL CHAIN_ID PRIVATE_KEY ARTIFACT_JSON
"""
import json
import sys

from web3 import Web3


def main() -> None:
    url, chain_id, key, artifact_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    assert w3.is_connected(), "not connected"
    assert w3.eth.chain_id == chain_id, w3.eth.chain_id
    account = w3.eth.account.from_key(key)

    # Blocks as web3.py validates them by default: the latest, then (below) the transfer's.
    latest = w3.eth.get_block("latest")

    # A transfer web3.py builds itself (nonce, fees, gas), signed locally.
    recipient = Web3.to_checksum_address("0x" + "42" * 20)
    before = w3.eth.get_balance(recipient)
    tx = {
        "from": account.address,
        "to": recipient,
        "value": 12345,
        "nonce": w3.eth.get_transaction_count(account.address),
        "chainId": chain_id,
    }
    tx["gas"] = w3.eth.estimate_gas(tx)
    tx["maxPriorityFeePerGas"] = w3.eth.max_priority_fee
    tx["maxFeePerGas"] = w3.eth.get_block("latest")["baseFeePerGas"] * 2 + tx["maxPriorityFeePerGas"]
    signed = account.sign_transaction(tx)
    sent = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(sent, timeout=60, poll_latency=0.1)
    after = w3.eth.get_balance(recipient)
    full = w3.eth.get_block(receipt["blockNumber"], full_transactions=True)
    carried = [t for t in full["transactions"] if t["hash"] == sent]

    # A contract deployed and called through web3.py's contract API.
    with open(artifact_path) as f:
        artifact = json.load(f)
    token = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    deploy = token.constructor("Py Token", "PYT", 10**24).build_transaction(
        {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address)}
    )
    deployed = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(deploy).raw_transaction),
        timeout=60,
        poll_latency=0.1,
    )
    token = w3.eth.contract(address=deployed["contractAddress"], abi=artifact["abi"])
    move = token.functions.transfer(recipient, 777).build_transaction(
        {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address)}
    )
    moved = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(move).raw_transaction),
        timeout=60,
        poll_latency=0.1,
    )
    block = w3.eth.get_block(moved["blockNumber"])

    print(json.dumps({
        "latest": latest["number"],
        "extraDataBytes": len(latest["extraData"]),
        "transferCarried": len(carried) == 1 and carried[0]["value"] == 12345,
        "transferStatus": receipt["status"],
        "received": after - before,
        "deployStatus": deployed["status"],
        "name": token.functions.name().call(),
        "tokenBalance": token.functions.balanceOf(recipient).call(),
        "transferEvents": len(token.events.Transfer().process_receipt(moved)),
        "blockOfTransfer": block["number"],
        "transferInBlock": moved["transactionHash"] in block["transactions"],
    }))


if __name__ == "__main__":
    main()
