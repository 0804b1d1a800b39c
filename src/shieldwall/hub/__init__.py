"""Stage 5: the alliance hub: membership, policy, ledger and the HTTPS API."""
