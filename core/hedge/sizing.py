"""Integer hedge sizing: the most stress coverage the drag budget and the premium cap allow.

Each candidate is one unit of an instrument a layer may buy, with its gain in that layer's
own stress ($), its drag ($ a year from theta) and its premium ($). Each layer needs a
gain (its target less what it holds); coverage beyond a layer's need counts for nothing.
A small mixed-integer program (scipy's HiGHS through `milp`) maximises the covered
dollars, then, at that coverage, spends the least drag:

    max  sum_k y_k - eps sum_c drag_c n_c
    s.t. y_k <= need_k,  y_k <= sum_{c in k} gain_c n_c,
         sum_c drag_c n_c <= drag left,  sum_c premium_c n_c <= premium left,
         n_c >= 0 whole contracts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_UNITS = 10_000  # per candidate: no advice asks for more contracts than this


@dataclass(frozen=True)
class Choice:
    units: np.ndarray  # whole contracts of each candidate
    covered: np.ndarray  # $ of each layer's need covered
    drag: float  # $/yr of the chosen units
    premium: float  # $ of the chosen units


def choose(layer: np.ndarray, gain: np.ndarray, drag: np.ndarray, premium: np.ndarray,
           need: np.ndarray, drag_left: float, premium_left: float) -> Choice:
    """Whole-contract counts of each candidate (arrays over candidates; `layer` indexes
    `need`). A candidate that gains nothing in its stress is never bought; when a budget is
    already spent (left <= 0), nothing with a cost in it is bought."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    layer = np.asarray(layer, dtype=int)
    gain, drag, premium, need = (np.asarray(x, dtype=float) for x in (gain, drag, premium, need))
    n, k = len(gain), len(need)
    need = np.maximum(need, 0.0)
    useful = gain > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        top = np.where(useful, np.ceil(need[layer] / np.where(useful, gain, 1.0)), 0.0)
    top = np.minimum(top, MAX_UNITS)
    if not n or not top.any():
        return Choice(np.zeros(n, dtype=int), np.zeros(k), 0.0, 0.0)
    # tie-break: among plans of equal coverage the least drag; all the drag there is weighs
    # half a cent of coverage, so coverage comes first to the cent
    eps = 0.005 / max(float(np.abs(drag) @ top), 1.0)
    c = np.concatenate([eps * drag, -np.ones(k)])
    own = np.zeros((k, n))
    own[layer, np.arange(n)] = gain
    rows = [LinearConstraint(np.hstack([-own, np.eye(k)]), -np.inf, 0.0)]
    for cost, left in ((drag, drag_left), (premium, premium_left)):
        if (cost > 0).any():
            rows.append(LinearConstraint(np.concatenate([cost, np.zeros(k)])[None, :], -np.inf,
                                         max(left, 0.0)))
    bounds = Bounds(np.zeros(n + k), np.concatenate([top, need]))
    integrality = np.concatenate([np.ones(n), np.zeros(k)])
    res = milp(c, constraints=rows, integrality=integrality, bounds=bounds,
               options={"mip_rel_gap": 0.0, "presolve": True})
    if res.x is None:  # cannot happen (zero is feasible); keep the advice empty, not wrong
        return Choice(np.zeros(n, dtype=int), np.zeros(k), 0.0, 0.0)
    units = np.rint(res.x[:n]).astype(int)
    covered = np.minimum(np.bincount(layer, weights=gain * units, minlength=k), need)
    return Choice(units, covered, float(drag @ units), float(premium @ units))
