"""Fixtures shared by the benchmark's tests.

``bench_samples``: one media sample cache for the whole session. The benchmark encodes its
samples (VP8 at 640x360, the three simulcast layers up to 1280x720, Opus) once per cache
directory, before anything is timed (bench/run.py); the samples are a pure function of the
parameters in their file names (bench/samples.py), so every run of the session reading the
same files checks the same thing as a run that encodes them afresh, without paying the
encoding again in each test (it was most of these tests' time).
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def bench_samples(tmp_path_factory) -> Path:
    """A session-wide ``--cache`` directory for ``python -m bench`` (a fresh one per session)."""
    return tmp_path_factory.mktemp("bench-samples")
