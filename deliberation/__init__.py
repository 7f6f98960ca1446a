"""The deliberation core: pure domain logic of a council sitting (no asyncio, no I/O but the journal file).

Rules are those of ``shared/RULES.md``; every refusal names its rule id.
"""
