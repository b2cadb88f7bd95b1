"""Call plans: which of the verified call sizes (generator.py's self-test) give n rows soonest,
and a function run over rows in those calls."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Call = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rows, labels) -> one output row each


def candidate_sizes(max_rows: int) -> list[int]:
    """Powers of two up to max_rows, and max_rows itself."""
    sizes = [1 << k for k in range(max_rows.bit_length()) if 1 << k <= max_rows]
    return sorted(set(sizes) | {max_rows})


def plan_calls(seconds: dict[int, float], max_rows: int) -> tuple[list[tuple[int, ...]], list]:
    """plan[n]: the call sizes that give n rows soonest (by the self-test's timings), the last
    call padded when that is cheaper than splitting it; and cost[n], their expected seconds."""
    if not seconds:
        return [], []
    cost: list[float] = [0.0] + [np.inf] * max_rows
    plan: list[tuple[int, ...]] = [()] * (max_rows + 1)
    for n in range(1, max_rows + 1):
        for size, t in seconds.items():
            rest = max(n - size, 0)
            if t + cost[rest] < cost[n]:
                cost[n], plan[n] = t + cost[rest], (size, *plan[rest])
    return plan, cost


def in_calls(call: Call, rows: np.ndarray, labels: np.ndarray, plan: list) -> np.ndarray:
    """call over the rows in the plan's calls, the last one padded with zero rows; with no
    plan (no size but 1 is exact), each row in a call of its own."""
    n = len(rows)
    if not plan:
        return np.concatenate([call(rows[i : i + 1], labels[i : i + 1]) for i in range(n)])
    most = len(plan) - 1  # more rows than the plan covers: its calls for the most, repeated
    sizes = list(plan[most]) * (n // most) + list(plan[n % most]) if n > most else plan[n]
    parts, start = [], 0
    for size in sizes:
        chunk_rows, chunk_labels = rows[start : start + size], labels[start : start + size]
        if pad := size - len(chunk_rows):  # the last call padded to a verified size
            chunk_rows = np.concatenate([chunk_rows, np.zeros((pad, *rows.shape[1:]), rows.dtype)])
            chunk_labels = np.concatenate([chunk_labels, np.zeros(pad, labels.dtype)])
        parts.append(call(chunk_rows, chunk_labels))
        start += size
    return np.concatenate(parts)[:n]
