"""The network lab of issue 11 (see tests/networks/baseline.py and docs/media.md)."""
