"""Random numbers for the builder: a splitmix64 stream seeded per node.

Each node draws from its own stream, so results do not depend on thread scheduling.
``state`` is a (1,) uint64 array.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, inline="always")
def _next(state):
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@nb.njit(cache=True, inline="always")
def rand01(state):
    """Uniform float64 in [0, 1)."""
    return np.float64(_next(state) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@nb.njit(cache=True, inline="always")
def randn(state):
    u = rand01(state)
    v = rand01(state)
    return np.sqrt(-2.0 * np.log(1.0 - u)) * np.cos(2.0 * np.pi * v)


@nb.njit(cache=True, nogil=True)
def rand_array(state, n):
    """(n,) uniform float64 in [0, 1) from the stream."""
    out = np.empty(n)
    for i in range(n):
        out[i] = rand01(state)
    return out


@nb.njit(cache=True)
def make_state(seed):
    s = np.empty(1, np.uint64)
    s[0] = np.uint64(seed)
    _next(s)
    return s
