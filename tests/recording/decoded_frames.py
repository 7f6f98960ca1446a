"""Measures of decoded frames (PyAV): an audio frame's loudness, a video frame's mean luma."""

from __future__ import annotations

import array
import math


def rms(frame) -> float:
    n = frame.samples
    total, count = 0.0, 0
    for plane in frame.planes:
        samples = array.array("f", bytes(plane)[: n * 4])
        total += sum(x * x for x in samples)
        count += len(samples)
    return math.sqrt(total / max(1, count))


def luma(frame) -> float:
    plane = frame.planes[0]
    data = bytes(plane)
    rows = [data[i * plane.line_size : i * plane.line_size + frame.width] for i in range(frame.height)]
    return sum(sum(r) for r in rows) / (frame.width * frame.height)
