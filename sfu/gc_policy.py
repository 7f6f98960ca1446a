"""The garbage collector's policy for a process that forwards media.

CPython's cyclic collector stops the event loop while it runs; a full collection walks
every tracked object of the heap. In a sitting of 48 salles the heap holds about 140,000
tracked objects (aiortc's per-peer objects, the consumers' NACK history) and a full
collection took 20 to 90 ms, about every 3.5 s with the default thresholds (700, 10, 10):
every packet of the sitting waited that long, the p99 of the added delay followed
(``docs/performance.md``, "Garbage collection"). Two standard measures:

- :func:`gc.freeze` once the process is built (modules, classes, the application, the
  council): what lives for the whole process is moved out of the collector's sight, so a
  full collection walks only what the sittings created.
- Full collections ten times rarer (threshold2 = 100 generation-1 collections instead of
  10): about one a minute at 48 salles. Young collections are unchanged, so short-lived
  cycles are freed as before, and whatever a departed peer left in cycles is freed at the
  next full collection, within minutes: memory stays bounded (the soak checks it).

``python_gc_collections_total{generation}`` in ``/metrics`` shows the collections.
"""

from __future__ import annotations

import gc

#: generation-1 collections between two full collections (CPython's default: 10)
FULL_COLLECTION_AFTER = 100


def apply() -> None:
    """Collect once, freeze what exists, space out full collections. Call once, when
    the process is built and before it serves."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_AFTER)
