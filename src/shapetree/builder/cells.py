"""Convex cells of a tree: splitting polygons and polytopes by a plane, volumes.

A cell is the convex polytope of points that reach a node. We keep it as a list of convex
face polygons (CSR: ``starts`` (m+1,) int64 into ``verts`` (v, 3) float64), and the part of the
mesh surface inside it as clipped triangle pieces in the same layout. Side rule as in the tree
(``tree.side.signed_distance``): ``s = n.x - b``; ``s < 0`` is left, ``s >= 0`` is right; vertices within ``eps`` of the plane
belong to both sides, so a piece lying in the plane belongs to neither side.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..tree.side import signed_distance


@nb.njit(cache=True)
def split_polygon(poly, n, b, eps, out_left, out_right):
    """Clip a convex polygon ``(m, 3)`` against a plane.

    Writes the left and right pieces into ``out_left``/``out_right`` (each (m + 2, 3)) and returns
    their vertex counts and the number of vertices found on the plane (sign changes + on-plane).
    """
    m = poly.shape[0]
    nl = 0
    nr = 0
    s = np.empty(m)
    for i in range(m):
        s[i] = signed_distance(n, b, poly[i])
    for i in range(m):
        j = (i + 1) % m
        si = s[i]
        sj = s[j]
        # vertex i
        if si < -eps:
            out_left[nl] = poly[i]
            nl += 1
        elif si > eps:
            out_right[nr] = poly[i]
            nr += 1
        else:
            out_left[nl] = poly[i]
            nl += 1
            out_right[nr] = poly[i]
            nr += 1
        # edge i -> j crossing strictly
        if (si < -eps and sj > eps) or (si > eps and sj < -eps):
            t = si / (si - sj)
            p = poly[i] + t * (poly[j] - poly[i])
            out_left[nl] = p
            nl += 1
            out_right[nr] = p
            nr += 1
    return nl, nr


@nb.njit(cache=True, inline="always")
def _reaches_side(poly, count, n, b, eps, sign):
    """True when one of the first ``count`` vertices lies strictly (beyond ``eps``) on the side
    ``sign`` of the plane (-1: left, +1: right). A piece that does not lies in the plane."""
    for k in range(count):
        if sign * signed_distance(n, b, poly[k]) > eps:
            return True
    return False


@nb.njit(cache=True)
def polygon_area(poly, count):
    ax = 0.0
    ay = 0.0
    az = 0.0
    for k in range(1, count - 1):
        u = poly[k] - poly[0]
        v = poly[k + 1] - poly[0]
        ax += u[1] * v[2] - u[2] * v[1]
        ay += u[2] * v[0] - u[0] * v[2]
        az += u[0] * v[1] - u[1] * v[0]
    return 0.5 * np.sqrt(ax * ax + ay * ay + az * az)


@nb.njit(cache=True, nogil=True)
def split_pieces(starts, verts, ids, n, b, eps, min_area):
    """Split surface pieces (CSR) by a plane into left and right CSR sets.

    Pieces lying in the plane, or leaving a sliver of area below ``min_area``, are dropped.
    Returns (l_starts, l_verts, l_ids, l_area, r_starts, r_verts, r_ids, r_area).
    """
    m = starts.shape[0] - 1
    maxv = verts.shape[0] + 2 * m
    lv = np.empty((maxv, 3))
    rv = np.empty((maxv, 3))
    ls = np.zeros(m + 1, np.int64)
    rs = np.zeros(m + 1, np.int64)
    lid = np.empty(m, np.int64)
    rid = np.empty(m, np.int64)
    la = np.empty(m)
    ra = np.empty(m)
    bufl = np.empty((64, 3))
    bufr = np.empty((64, 3))
    nlp = 0
    nrp = 0
    lvc = 0
    rvc = 0
    for p in range(m):
        poly = verts[starts[p]:starts[p + 1]]
        if poly.shape[0] + 2 > bufl.shape[0]:
            bufl = np.empty((poly.shape[0] + 2, 3))
            bufr = np.empty((poly.shape[0] + 2, 3))
        nl, nr = split_polygon(poly, n, b, eps, bufl, bufr)
        # a piece with no vertex strictly on its side lies in the plane: it belongs to neither
        if nl >= 3 and _reaches_side(bufl, nl, n, b, eps, -1.0):
            a = polygon_area(bufl, nl)
            if a > min_area:
                lv[lvc:lvc + nl] = bufl[:nl]
                lvc += nl
                lid[nlp] = ids[p]
                la[nlp] = a
                nlp += 1
                ls[nlp] = lvc
        if nr >= 3 and _reaches_side(bufr, nr, n, b, eps, 1.0):
            a = polygon_area(bufr, nr)
            if a > min_area:
                rv[rvc:rvc + nr] = bufr[:nr]
                rvc += nr
                rid[nrp] = ids[p]
                ra[nrp] = a
                nrp += 1
                rs[nrp] = rvc
    return (ls[:nlp + 1].copy(), lv[:lvc].copy(), lid[:nlp].copy(), la[:nlp].copy(),
            rs[:nrp + 1].copy(), rv[:rvc].copy(), rid[:nrp].copy(), ra[:nrp].copy())


@nb.njit(cache=True)
def _cap_polygon(pts, count, n):
    """Order points lying on a plane with normal ``n`` into a convex polygon; drop duplicates."""
    c = np.zeros(3)
    for i in range(count):
        c += pts[i]
    c /= max(count, 1)
    # basis of the plane
    nn = np.array([np.float64(n[0]), np.float64(n[1]), np.float64(n[2])])
    nn /= np.sqrt(nn @ nn)
    if abs(nn[0]) < 0.9:
        u = np.array([0.0, -nn[2], nn[1]])
    else:
        u = np.array([nn[2], 0.0, -nn[0]])
    u /= np.sqrt(u @ u)
    v = np.array([nn[1] * u[2] - nn[2] * u[1], nn[2] * u[0] - nn[0] * u[2], nn[0] * u[1] - nn[1] * u[0]])
    ang = np.empty(count)
    for i in range(count):
        d = pts[i] - c
        ang[i] = np.arctan2(d @ v, d @ u)
    order = np.argsort(ang)
    out = np.empty((count, 3))
    k = 0
    scale = 0.0
    for i in range(count):
        d = pts[i] - c
        scale = max(scale, np.sqrt(d @ d))
    tol = 1e-9 * max(scale, 1e-300)
    for i in range(count):
        p = pts[order[i]]
        if k > 0:
            d = p - out[k - 1]
            if np.sqrt(d @ d) <= tol:
                continue
        out[k] = p
        k += 1
    if k > 1:
        d = out[k - 1] - out[0]
        if np.sqrt(d @ d) <= tol:
            k -= 1
    return out[:k].copy()


@nb.njit(cache=True, nogil=True)
def split_cell(starts, verts, n, b, eps):
    """Split a convex polytope (faces CSR) by a plane into two closed polytopes (faces CSR).

    Returns (l_starts, l_verts, r_starts, r_verts); a side with no volume has no faces.
    """
    m = starts.shape[0] - 1
    maxv = verts.shape[0] + 2 * m
    lv = np.empty((maxv + 2 * m + 8, 3))
    rv = np.empty((maxv + 2 * m + 8, 3))
    ls = np.zeros(m + 2, np.int64)
    rs = np.zeros(m + 2, np.int64)
    on = np.empty((2 * m + verts.shape[0], 3))
    non = 0
    bufl = np.empty((64, 3))
    bufr = np.empty((64, 3))
    nlf = 0
    nrf = 0
    lvc = 0
    rvc = 0
    for f in range(m):
        poly = verts[starts[f]:starts[f + 1]]
        if poly.shape[0] + 2 > bufl.shape[0]:
            bufl = np.empty((poly.shape[0] + 2, 3))
            bufr = np.empty((poly.shape[0] + 2, 3))
        nl, nr = split_polygon(poly, n, b, eps, bufl, bufr)
        for k in range(poly.shape[0]):
            if abs(signed_distance(n, b, poly[k])) <= eps:
                on[non] = poly[k]
                non += 1
        for k in range(poly.shape[0]):
            j = (k + 1) % poly.shape[0]
            si = signed_distance(n, b, poly[k])
            sj = signed_distance(n, b, poly[j])
            if (si < -eps and sj > eps) or (si > eps and sj < -eps):
                t = si / (si - sj)
                on[non] = poly[k] + t * (poly[j] - poly[k])
                non += 1
        # a face lying in the plane is not kept on either side: the cap replaces it
        if nl >= 3 and polygon_area(bufl, nl) > 0.0 and _reaches_side(bufl, nl, n, b, eps, -1.0):
            lv[lvc:lvc + nl] = bufl[:nl]
            lvc += nl
            nlf += 1
            ls[nlf] = lvc
        if nr >= 3 and polygon_area(bufr, nr) > 0.0 and _reaches_side(bufr, nr, n, b, eps, 1.0):
            rv[rvc:rvc + nr] = bufr[:nr]
            rvc += nr
            nrf += 1
            rs[nrf] = rvc
    cap = _cap_polygon(on, non, n)
    nc = cap.shape[0]
    if nc >= 3 and nlf > 0 and nrf > 0:
        lv[lvc:lvc + nc] = cap
        lvc += nc
        nlf += 1
        ls[nlf] = lvc
        rv[rvc:rvc + nc] = cap
        rvc += nc
        nrf += 1
        rs[nrf] = rvc
    if nlf == 0 or nrf == 0 or nc < 3:
        # the plane misses the cell's interior: everything is on one side
        if nlf > 0 and nrf == 0:
            return starts.copy(), verts.copy(), np.zeros(1, np.int64), np.empty((0, 3))
        if nrf > 0 and nlf == 0:
            return np.zeros(1, np.int64), np.empty((0, 3)), starts.copy(), verts.copy()
    return ls[:nlf + 1].copy(), lv[:lvc].copy(), rs[:nrf + 1].copy(), rv[:rvc].copy()


@nb.njit(cache=True, nogil=True)
def cell_volume(starts, verts):
    """Volume of a closed convex polytope given by its face polygons."""
    if verts.shape[0] == 0:
        return 0.0
    c = np.zeros(3)
    for i in range(verts.shape[0]):
        c += verts[i]
    c /= verts.shape[0]
    vol = 0.0
    for f in range(starts.shape[0] - 1):
        s = starts[f]
        e = starts[f + 1]
        for k in range(s + 1, e - 1):
            a = verts[s] - c
            u = verts[k] - c
            w = verts[k + 1] - c
            vol += abs(a[0] * (u[1] * w[2] - u[2] * w[1]) - a[1] * (u[0] * w[2] - u[2] * w[0])
                       + a[2] * (u[0] * w[1] - u[1] * w[0])) / 6.0
    return vol


def box_cell(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The six faces of an axis-aligned box as a polytope (starts, verts)."""
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    c = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                  [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], np.float64)
    faces = [[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [2, 3, 7, 6], [1, 2, 6, 5], [0, 4, 7, 3]]
    verts = np.concatenate([c[f] for f in faces])
    return np.arange(0, 25, 4, dtype=np.int64), verts
