"""Figures the benchmarks read off a run's job timeline and the emulator's request log."""

from __future__ import annotations

from collections.abc import Sequence


def max_overlap(intervals: Sequence[tuple[float, float]]) -> int:
    """The most intervals open at the same instant (a job leaves Marketo's queue when it finishes)."""
    edges = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    best = now = 0
    for _, step in edges:
        now += step
        best = max(best, now)
    return best


def max_in_window(times: Sequence[float], window: float) -> int:
    """The most events in any half-open window of ``window`` seconds."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best
