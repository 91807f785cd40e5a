"""The slow, obvious greedy simplification: every step evaluates every legal move by running the
whole candidate tree on every point (a full rescan), for checking the incremental kernel."""

from __future__ import annotations

import numpy as np


def _evaluate(cl, cr, val, root, normal, offset, points):
    out = np.empty(len(points), bool)
    for k, x in enumerate(points):
        i = root
        while cl[i] >= 0:
            d = float(np.float64(normal[i]) @ x)
            i = cl[i] if d < np.float64(offset[i]) else cr[i]
        out[k] = val[i]
    return out


def _reach(cl, cr, root, normal, offset, points):
    """Nodes each point passes (a list of sets)."""
    seen = []
    for x in points:
        i = root
        path = {i}
        while cl[i] >= 0:
            d = float(np.float64(normal[i]) @ x)
            i = cl[i] if d < np.float64(offset[i]) else cr[i]
            path.add(i)
        seen.append(path)
    return seen


def reference_steps(tree, points, labels, stop_leaves, max_splice, max_splice_points):
    """(node, keep, leaf_value, error) lists, as ``kernels.greedy_steps`` returns them."""
    n = tree.n_nodes
    cl = [int(v) for v in tree.left]
    cr = [int(v) for v in tree.right]
    val = [bool(v) for v in tree.value]
    par = [-1] * n
    for i in range(n):
        if cl[i] >= 0:
            par[cl[i]] = par[cr[i]] = i
    root = 0
    steps = ([], [], [], [])

    def error(c_l, c_r, v, r):
        return int(np.count_nonzero(_evaluate(c_l, c_r, v, r, tree.normal, tree.offset, points) != labels))

    def leaves_below(u):
        return 1 if cl[u] < 0 else leaves_below(cl[u]) + leaves_below(cr[u])

    def reaching(u):
        reach = _reach(cl, cr, root, tree.normal, tree.offset, points)
        return [k for k in range(len(points)) if u in reach[k]]

    def majority(u):
        w = reaching(u)
        return 2 * int(np.count_nonzero(labels[w])) > len(w)

    while leaves_below(root) > stop_leaves:
        now = error(cl, cr, val, root)
        best = None
        live = []
        stack = [root]
        while stack:
            i = stack.pop()
            live.append(i)
            if cl[i] >= 0:
                stack += [cr[i], cl[i]]
        for u in live:
            if cl[u] >= 0:  # collapse u into one leaf of its majority value
                c_l, c_r, v = list(cl), list(cr), list(val)
                c_l[u] = c_r[u] = -1
                v[u] = majority(u)
                key = ((error(c_l, c_r, v, root) - now) / (leaves_below(u) - 1), u)
                best = key if best is None or key < best else best
            small = cl[u] < 0 or (leaves_below(u) <= max_splice and len(reaching(u)) <= max_splice_points)
            if par[u] >= 0 and small:  # remove u's subtree (a leaf, or a small one), its sibling moves up
                p = par[u]
                s = cr[p] if cl[p] == u else cl[p]
                c_l, c_r = list(cl), list(cr)
                r = root
                g = par[p]
                if g < 0:
                    r = s
                elif c_l[g] == p:
                    c_l[g] = s
                else:
                    c_r[g] = s
                k = leaves_below(u)
                key = ((error(c_l, c_r, val, r) - now) / k, (n if k == 1 else 2 * n) + u)
                best = key if best is None or key < best else best
        move = best[1]
        collapse = move if move < n else (move - 2 * n if move >= 2 * n else -1)
        splice = move - n if n <= move < 2 * n else (move - 2 * n if move >= 2 * n else -1)
        if collapse >= 0:  # two-leaf branches one at a time, the cheapest first (ties: lower id)
            while cl[collapse] >= 0:
                now = error(cl, cr, val, root)
                ready = []
                stack = [collapse]
                while stack:
                    i = stack.pop()
                    if cl[i] >= 0:
                        if cl[cl[i]] < 0 and cl[cr[i]] < 0:
                            ready.append(i)
                        stack += [cr[i], cl[i]]
                costs = []
                for b in ready:
                    c_l, c_r, v = list(cl), list(cr), list(val)
                    c_l[b] = c_r[b] = -1
                    v[b] = majority(b)
                    costs.append((error(c_l, c_r, v, root) - now, b))
                b = min(costs)[1]
                v = majority(b)
                cl[b] = cr[b] = -1
                val[b] = v
                steps[0].append(b)
                steps[1].append(0)
                steps[2].append(v)
                steps[3].append(error(cl, cr, val, root))
        if splice >= 0:
            c = splice
            p = par[c]
            s = cr[p] if cl[p] == c else cl[p]
            g = par[p]
            if g < 0:
                root = s
            elif cl[g] == p:
                cl[g] = s
            else:
                cr[g] = s
            par[s] = g
            steps[0].append(p)
            steps[1].append(1 if cl[p] == s else 2)
            steps[2].append(False)
            steps[3].append(error(cl, cr, val, root))
    return steps
