"""Host-side check that points given to a metric lie inside the Poincaré ball (private to zoo.metrics).

Example:
    >>> from zoo.metrics._ball import check_in_ball
    >>> check_in_ball(np.zeros((3, 2)), 1.0, "points")   # fine; a point of norm >= 1/sqrt(c) raises
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["check_in_ball", "ball_curvature"]


def ball_curvature(geometry: Any) -> float | None:
    """The curvature c of a resolved `zoo.geometry` geometry on the Poincaré ball, None for other geometries."""
    return float(geometry.c) if getattr(geometry, "name", None) == "poincare" else None


def check_in_ball(x: np.ndarray, c: float, name: str) -> None:
    """Raise a ValueError naming `name` when a row of x [N, d] has norm >= the radius 1/sqrt(c).

    A point on or past the boundary is infinitely far from every point of the ball: its distances are
    clamped garbage, not a score. Norms are computed in float64.

    Args:
        x: [N, d] points.
        c: curvature magnitude > 0 (already validated).
        name: the argument's name in the message.
    """
    norms = np.linalg.norm(np.asarray(x, np.float64), axis=-1)
    radius = 1.0 / math.sqrt(c)
    outside = ~(norms * math.sqrt(c) < 1.0)  # NaN norms count as outside
    if np.any(outside):
        raise ValueError(
            f"`{name}` has {int(outside.sum())} of {norms.size} points outside the Poincaré ball of radius "
            f"1/sqrt(c) = {radius:.6g} (c={c:g}): the largest norm is {float(np.nanmax(norms)):.6g}. Project them "
            f"into the ball (zoo.geometry.poincare.project) or pass the curvature they were embedded with."
        )
