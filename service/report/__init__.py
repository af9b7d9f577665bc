"""The report stage: one report from a dataset reference, for every transport.

- ``models``: the report request (per-check options, policy) and the report Structs.
- ``pipeline``: ``run_report`` — resolve -> load and encode (Triton) -> checks; the only orchestration.
- ``check_runners``: adapters from a report's collected arrays to each pure analysis.
- ``policy``: the report's headline figures and the policy gate (verdict).
"""
