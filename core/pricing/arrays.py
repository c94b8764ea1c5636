"""Sorted distinct values, as np.unique gives them, without np.unique's first-call import of
numpy.ma (~20 ms of `alvh report`'s start-up, which the hedge-advice issue bounds)."""
from __future__ import annotations

import numpy as np


def distinct(*parts: np.ndarray) -> np.ndarray:
    """The sorted distinct values of the arrays together (np.union1d; np.unique of one), for
    values without NaN: each NaN would be kept, where numpy keeps one."""
    x = np.sort(np.concatenate([np.ravel(p) for p in parts]))
    keep = np.ones(len(x), dtype=bool)
    keep[1:] = x[1:] != x[:-1]
    return x[keep]
