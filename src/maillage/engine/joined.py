"""Arrays the live index reads in two parts without joining them, and order statistics of a sorted
array with a few values removed and added.

A patched table (``live_tables``) is its base table's arrays followed by those of the few flows
written since: joining them would copy the base, millions of entries at national scale, on every
delta. ``Joined`` reads the parts where they are (a query reads a few dozen entries). NumPy has no
such view (``np.concatenate`` copies, masked or chunked arrays are other things), hence this small
class.

``merged_quantile`` gives ``np.quantile`` of (sorted base − removed + added) from the base's sorted
values without building that array: the two order statistics it interpolates are found by binary
search among a window of the base and the added values, then interpolated as NumPy's default
("linear") method does, bit for bit (tested against ``np.quantile``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class Joined:
    """A read-only 1-D array: ``head`` then ``tail``, the head's values read through ``transform``
    when given (an elementwise function: the head's values as they would be computed now).

    ``take`` and integer-array indexing read only the entries asked for; anything else (slices,
    NumPy functions) works on the joined copy, made once (``__array__``)."""

    __slots__ = ("_full", "_n", "_transform", "head", "tail")

    def __init__(
        self,
        head: np.ndarray,
        tail: np.ndarray,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ):
        self.head = head
        self.tail = np.asarray(tail, dtype=head.dtype) if transform is None else np.asarray(tail)
        self._transform = transform
        self._n = len(head) + len(self.tail)
        self._full: np.ndarray | None = None

    @property
    def dtype(self):
        return self.tail.dtype if self._transform is not None else self.head.dtype

    @property
    def shape(self) -> tuple[int]:
        return (self._n,)

    ndim = 1

    def __len__(self) -> int:
        return self._n

    def _head_values(self, at: np.ndarray) -> np.ndarray:
        values = self.head.take(at)
        return values if self._transform is None else self._transform(values)

    def take(self, indices, out: np.ndarray | None = None, mode: str = "raise") -> np.ndarray:
        idx = np.asarray(indices)
        if mode == "clip":
            idx = np.clip(idx, 0, self._n - 1)
        elif mode != "raise":
            raise ValueError(f"mode {mode!r} not supported")
        elif idx.size and (idx.min() < -self._n or idx.max() >= self._n):
            raise IndexError("index out of bounds")
        else:
            idx = np.where(idx < 0, idx + self._n, idx)
        h = len(self.head)
        result = np.empty(idx.shape, dtype=self.dtype) if out is None else out
        in_head = idx < h
        if h and in_head.any():
            result[...] = np.where(
                in_head,
                self._head_values(np.minimum(idx, h - 1)),
                self.tail.take(np.clip(idx - h, 0, max(len(self.tail) - 1, 0)))
                if len(self.tail)
                else 0,
            )
        else:
            result[...] = self.tail.take(idx - h)
        return result

    def __getitem__(self, key):
        if isinstance(key, int | np.integer):
            return self.take(np.array([key]))[0]
        if isinstance(key, np.ndarray) and key.dtype.kind in "iu":
            return self.take(key)
        return np.asarray(self)[key]

    def __array__(self, dtype=None, copy=None):
        if self._full is None:
            head = self.head if self._transform is None else self._transform(self.head)
            self._full = np.concatenate((head, self.tail)).astype(self.dtype, copy=False)
        return self._full if dtype is None else self._full.astype(dtype, copy=False)


def _order_statistic(base: np.ndarray, removed: np.ndarray, added: np.ndarray, j: int) -> float:
    """The ``j``-th smallest (from 0) of the multiset ``base`` (sorted) without ``removed`` (sorted,
    each value one copy of a base value) and with ``added`` (sorted). It is one of the base
    values within len(added) + 1 below and len(removed) + 1 above position ``j``, or an added
    value: the smallest candidate with at least j + 1 values at or below it."""
    lo = max(0, j - len(added) - 1)
    hi = min(len(base), j + len(removed) + 2)
    candidates = np.concatenate((base[lo:hi], added))
    below = (
        np.searchsorted(base, candidates, side="right")
        - np.searchsorted(removed, candidates, side="right")
        + np.searchsorted(added, candidates, side="right")
    )
    return float(candidates[below >= j + 1].min())


def merged_quantile(
    base_sorted: np.ndarray, removed: np.ndarray, added: np.ndarray, q: float
) -> float | None:
    """``np.quantile(values, q)`` (the "linear" method) of the values ``base_sorted`` (sorted, finite)
    less ``removed`` plus ``added`` (finite, any order), None when no value is left."""
    removed, added = np.sort(removed), np.sort(added)
    n = len(base_sorted) - len(removed) + len(added)
    if n <= 0:
        return None
    # as numpy.lib._function_base_impl._quantile for the linear method: the virtual index
    # (n - 1) * q, its floor and the next index (clipped), gamma, then _lerp
    virtual = np.float64(n - 1) * np.float64(q)
    previous = int(np.floor(virtual))
    following = min(previous + 1, n - 1)
    previous = min(max(previous, 0), n - 1)
    gamma = np.float64(virtual - np.float64(previous))
    a = np.float64(_order_statistic(base_sorted, removed, added, previous))
    b = np.float64(_order_statistic(base_sorted, removed, added, following))
    diff = b - a
    if gamma >= 0.5:
        return float(b - diff * (1 - gamma))
    return float(a + diff * gamma)
