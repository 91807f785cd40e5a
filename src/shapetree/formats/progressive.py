"""Progressive ``.stree`` v2 files (flag 1, see ``docs/format.md``): one file holding a ladder of nested
levels of detail, coarse first, each later chunk refining the previous level.

Level 0 is coded as a flat coding-1/2 tree; chunk ``i`` walks level ``i`` in pre-order against level
``i - 1``'s nodes with a few flags per old node (a new branch inserted above it, and on which side
it stays; an old leaf expanded into a new subtree) and codes the new subtrees' structure bits; the
new planes follow, quantised in their boxes in the level where they first appear, with the same
per-node pass and plane table as the flat codings (``quantized.encode_step`` / ``decode_step``). The
chunks form one deflate stream (zlib's, or raw in a compact file), sync-flushed after each, so a reader
inflates just a prefix; a level table in the header (leaf count, packed and raw end, CRC-32 of the
packed chunk; in a compact file the leaves and sizes as LEB128 increments) is checked before anything
is allocated.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from dataclasses import dataclass

import numba as nb
import numpy as np

from ..errors import FormatError
from ..tree import Kind, Tree, flipped
from . import quantized
from .stree_v1 import MAGIC, MAX_LEAVES, encode_structure
from .stree_v2 import (
    CODINGS,
    COMPACT,
    COMPACT_HEADER,
    DEFAULT_CODING,
    MAX_RATIO,
    PREFIX,
    PROGRESSIVE,
    VERSION,
    Header,
    check_parameters,
    deflater,
    has_derived_frame,
    header_layout,
    min_plane_bytes,
    pack_header,
    parse_header,
    read_parameters,
    read_planes,
    read_quantized_tree,
)

MAX_LEVELS = 64
LEVEL = struct.Struct("<IIII")  # leaf count, packed end, raw end, CRC-32 of the packed chunk
COUNT = struct.Struct("<I")
COMPACT_COUNT = struct.Struct("<B")  # a compact file's level count; its rows: 3 LEB128 numbers, then the CRC
MIN_COMPACT_ROW = 3 + 4  # one byte per number, the CRC-32
MAX_NUMBER_BYTES = 5  # a LEB128 number of a compact table holds a u32
LADDER_START = 16  # the coarsest level shapetree writes (or the order's smallest tree, if larger)
FINE_UNTIL = 1024  # levels double up to here, then grow four-fold

SLOT, NEW = 0, 1  # a position holding an old node; a position in a new subtree


@dataclass(frozen=True, eq=False)
class Levels:
    """Nested levels of detail of one occupancy tree, coarse to fine: ``trees[i]`` has strictly more
    leaves than ``trees[i - 1]``; ``ids[i][k]`` names node ``k`` of ``trees[i]`` in one id space
    shared by all levels (e.g. the node of the full tree it came from). Nested: every id of a level is
    in the next, a branch stays a branch with the same plane, a leaf stays a leaf of the same value
    or becomes a branch, and new branches may be inserted above old nodes (the reverse of a
    simplification's collapses and splices). ``simplifier.detail_levels`` makes them from a
    simplification order; the encoder checks the nesting."""

    trees: tuple[Tree, ...]
    ids: tuple[np.ndarray, ...]

    def __post_init__(self):
        if not self.trees or len(self.trees) != len(self.ids):
            raise FormatError("levels need one id array per tree, and at least one tree")
        if len(self.trees) > MAX_LEVELS:
            raise FormatError(f"at most {MAX_LEVELS} levels fit in one file, got {len(self.trees)}")
        counts = [t.n_leaves for t in self.trees]
        if any(b <= a for a, b in itertools.pairwise(counts)):
            raise FormatError(f"level leaf counts must increase strictly, got {counts}")
        for t, i in zip(self.trees, self.ids, strict=True):
            if t.kind != Kind.OCCUPANCY:
                raise FormatError("progressive files hold occupancy trees")
            if i.shape != t.left.shape or (len(i) and i.min() < 0):
                raise FormatError("every node of a level needs one id >= 0")

    @property
    def leaf_counts(self) -> list[int]:
        return [t.n_leaves for t in self.trees]


def ladder(min_leaves: int, n_leaves: int, start: int = LADDER_START, fine_until: int = FINE_UNTIL) -> list[int]:
    """The leaf counts shapetree writes: ``max(start, min_leaves)``, then the powers of two above it,
    doubling up to ``min(fine_until, n_leaves / 8)`` and growing four-fold after that (up to
    ``n_leaves / 4``), then ``n_leaves`` (one level when the tree has at most ``start`` leaves). Each level costs flags per
    node of the level before it, so the large levels are spaced widely: doubling all the way costs 6.3 %
    over a flat file on the bunny at 16,384 leaves, this ladder 4.0 %."""
    first = max(start, min_leaves)
    if n_leaves <= first:
        return [n_leaves]
    out = [first]
    fine = min(fine_until, n_leaves // 8)
    p = 1
    while p <= first:
        p *= 2
    while p < n_leaves and (p <= fine or 4 * p <= n_leaves):  # the last step before the full tree: >= 4x
        out.append(p)
        p *= 2 if p < fine else 4
    return out + [n_leaves]


# -- the delta of one level against the previous one ------------------------------------------------

@nb.njit(cache=True, inline="always")
def _put(out, b, bit):
    if bit:
        out[b >> 3] |= np.uint8(1 << (b & 7))
    return b + 1


@nb.njit(cache=True)
def encode_delta(left, right, value, old_of, oleft, oright, ovalue):
    """The delta of a new level (pre-order ``left, right, value``; ``old_of[k]`` the old level's node
    that node ``k`` is, -1 for a new node) against the old level (``oleft, oright, ovalue``), as three
    bit streams (uint8 arrays): the insert flags (one per old position visited), the grow flags
    (one per old leaf), the new nodes' structure bits and sides; and a status, 0 or -1 (the levels
    are not nested)."""
    n = left.shape[0]
    has_old = old_of >= 0
    for k in range(n - 1, -1, -1):  # children come after their parent in pre-order
        if left[k] >= 0 and (has_old[left[k]] or has_old[right[k]]):
            has_old[k] = True
    ins = np.zeros(n // 8 + 1, np.uint8)
    grow = np.zeros(n // 8 + 1, np.uint8)
    shape = np.zeros((2 * n) // 8 + 1, np.uint8)
    bi = bg = bs = 0
    task = np.empty(n + 1, np.int64)
    node = np.empty(n + 1, np.int64)
    old = np.empty(n + 1, np.int64)
    task[0], node[0], old[0] = SLOT, 0, 0
    sp = 1
    while sp > 0:
        sp -= 1
        t, k, o = task[sp], node[sp], old[sp]
        if t == NEW:
            if old_of[k] >= 0:
                return ins[:0], grow[:0], shape[:0], -1
            if left[k] >= 0:
                bs = _put(shape, bs, 0)
                task[sp], node[sp], old[sp] = NEW, right[k], -1
                task[sp + 1], node[sp + 1], old[sp + 1] = NEW, left[k], -1
                sp += 2
            else:
                bs = _put(shape, bs, 1)
                bs = _put(shape, bs, value[k])
            continue
        if old_of[k] < 0:  # a new branch above the old node o
            if left[k] < 0:
                return ins[:0], grow[:0], shape[:0], -1
            hl, hr = has_old[left[k]], has_old[right[k]]
            if hl == hr:
                return ins[:0], grow[:0], shape[:0], -1
            bi = _put(ins, bi, 1)
            bs = _put(shape, bs, 0 if hl else 1)
            task[sp], node[sp], old[sp] = (NEW, right[k], -1) if hl else (SLOT, right[k], o)
            task[sp + 1], node[sp + 1], old[sp + 1] = (SLOT, left[k], o) if hl else (NEW, left[k], -1)
            sp += 2
            continue
        if old_of[k] != o:
            return ins[:0], grow[:0], shape[:0], -1
        bi = _put(ins, bi, 0)
        if oleft[o] >= 0:  # an old branch stays a branch; its children are the old children's positions
            if left[k] < 0:
                return ins[:0], grow[:0], shape[:0], -1
            task[sp], node[sp], old[sp] = SLOT, right[k], oright[o]
            task[sp + 1], node[sp + 1], old[sp + 1] = SLOT, left[k], oleft[o]
            sp += 2
        elif left[k] >= 0:  # an old leaf grows a new subtree
            bg = _put(grow, bg, 1)
            task[sp], node[sp], old[sp] = NEW, right[k], -1
            task[sp + 1], node[sp + 1], old[sp + 1] = NEW, left[k], -1
            sp += 2
        else:
            if value[k] != ovalue[o]:
                return ins[:0], grow[:0], shape[:0], -1
            bg = _put(grow, bg, 0)
    return ins[:(bi + 7) // 8], grow[:(bg + 7) // 8], shape[:(bs + 7) // 8], 0


@nb.njit(cache=True, inline="always")
def _bit(bits, b):
    return (bits[b >> 3] >> (b & 7)) & 1


@nb.njit(cache=True)
def _padded(bits, b):
    """Whether a stream read up to bit ``b`` used all its bytes, with zero padding."""
    if (b + 7) // 8 != bits.shape[0]:
        return False
    while b < bits.shape[0] * 8:
        if _bit(bits, b):
            return False
        b += 1
    return True


@nb.njit(cache=True)
def decode_delta(ins, grow, shape, n_leaves, oleft, oright, ovalue):
    """The new level's structure from its three delta streams and the old level: (left, right, value,
    old_of, status); status 0, or -1 a stream ends early, -2 more nodes than ``n_leaves`` allow, -3 a
    different leaf count, -4 non-zero padding or unused bytes."""
    n = 2 * n_leaves - 1
    left = np.full(n, -1, np.int32)
    right = np.full(n, -1, np.int32)
    value = np.zeros(n, np.bool_)
    old_of = np.full(n, -1, np.int64)
    task = np.empty(n + 2, np.int64)
    olds = np.empty(n + 2, np.int64)
    parent = np.empty(n + 2, np.int64)
    ti, tg, ts = ins.shape[0] * 8, grow.shape[0] * 8, shape.shape[0] * 8
    bi = bg = bs = 0
    count = 0
    leaves = 0
    task[0], olds[0], parent[0] = SLOT, 0, -1
    sp = 1
    while sp > 0:
        sp -= 1
        t, o, p = task[sp], olds[sp], parent[sp]
        if count >= n:
            return left, right, value, old_of, -2
        k = count
        count += 1
        if p >= 0 and k != p + 1:  # a left child is the node after its parent, set with it
            right[p] = k
        branch = False
        if t == SLOT:
            if bi >= ti:
                return left, right, value, old_of, -1
            bi += 1
            if _bit(ins, bi - 1):  # a new branch above the old node o
                if bs >= ts:
                    return left, right, value, old_of, -1
                bs += 1
                left[k] = k + 1
                if sp + 2 > n + 2:
                    return left, right, value, old_of, -2
                if _bit(shape, bs - 1) == 0:
                    task[sp], olds[sp], parent[sp] = NEW, -1, k
                    task[sp + 1], olds[sp + 1], parent[sp + 1] = SLOT, o, k
                else:
                    task[sp], olds[sp], parent[sp] = SLOT, o, k
                    task[sp + 1], olds[sp + 1], parent[sp + 1] = NEW, -1, k
                sp += 2
                continue
            old_of[k] = o
            if oleft[o] >= 0:
                left[k] = k + 1
                if sp + 2 > n + 2:
                    return left, right, value, old_of, -2
                task[sp], olds[sp], parent[sp] = SLOT, oright[o], k
                task[sp + 1], olds[sp + 1], parent[sp + 1] = SLOT, oleft[o], k
                sp += 2
                continue
            if bg >= tg:
                return left, right, value, old_of, -1
            bg += 1
            if _bit(grow, bg - 1):
                branch = True
            else:
                value[k] = ovalue[o]
                leaves += 1
        else:
            if bs >= ts:
                return left, right, value, old_of, -1
            bs += 1
            if _bit(shape, bs - 1):
                if bs >= ts:
                    return left, right, value, old_of, -1
                bs += 1
                value[k] = _bit(shape, bs - 1) == 1
                leaves += 1
            else:
                branch = True
        if branch:  # a new branch (a grown leaf, or a branch of a new subtree)
            left[k] = k + 1
            if sp + 2 > n + 2:
                return left, right, value, old_of, -2
            task[sp], olds[sp], parent[sp] = NEW, -1, k
            task[sp + 1], olds[sp + 1], parent[sp + 1] = NEW, -1, k
            sp += 2
    if count != n or leaves != n_leaves:
        return left, right, value, old_of, -3
    if not (_padded(ins, bi) and _padded(grow, bg) and _padded(shape, bs)):
        return left, right, value, old_of, -4
    return left, right, value, old_of, 0


# -- the file -------------------------------------------------------------------------------------

def oriented_levels(levels: Levels, coding: int = DEFAULT_CODING) -> Levels:
    """``levels`` with every tree ``quantized.oriented`` for coding 4 (a plane flips alike in every level,
    so they stay nested; ids follow their nodes), ``levels`` itself otherwise or when nothing flips."""
    if coding != quantized.HEMISPHERE_PLANES:
        return levels
    masks = [quantized.downward(t) for t in levels.trees]
    if not any(m.any() for m in masks):
        return levels
    trees, ids = [], []
    for t, i, m in zip(levels.trees, levels.ids, masks, strict=True):
        t2, order = flipped(t, m)
        trees.append(t2)
        ids.append(np.asarray(i)[order])
    return Levels(tuple(trees), tuple(ids))


def encode_levels(levels: Levels, precision: float, extra: int = quantized.DEFAULT_NORMAL_EXTRA,
                  coding: int = DEFAULT_CODING) -> tuple[list[list[bytes]], list[Tree]]:
    """The raw (inflated) chunks of ``levels`` (for coding 4 ``oriented_levels``), each as its parts
    (the streams, each with its size first), and the level trees as the file stores them (every plane
    quantised in its box in the level where it first appears; later levels keep it)."""
    byte = check_parameters(precision, extra, coding)
    full = levels.trees[-1]
    lo, hi = quantized.checked_root_box(full)
    tol = quantized.tolerance(lo, hi, precision)
    space = max(int(i.max()) for i in levels.ids) + 1
    key_full, mark_full = quantized.plane_hints(full)
    key = np.zeros(space, np.int64)
    mark = np.zeros(space, np.bool_)
    key[levels.ids[-1]] = key_full
    mark[levels.ids[-1]] = mark_full
    qn_id = np.zeros((space, 3), np.float32)
    qo_id = np.zeros(space, np.float32)
    table = quantized.PlaneTable(full.n_leaves - 1, int(key_full.max()) + 1)
    chunks, stored = [], []
    prev = prev_ids = None
    for t, ids in zip(levels.trees, levels.ids, strict=True):
        if len(np.unique(ids)) != len(ids):
            raise FormatError("levels are not nested (an id appears twice in one level)")
        branch = t.left >= 0
        if prev is None:
            known = np.zeros(len(ids), np.bool_)
            head = [struct.pack("<BBI", byte, extra, t.n_leaves) + encode_structure(t.left, t.value, True).tobytes()]
        else:
            where = np.full(space, -1, np.int64)
            where[prev_ids] = np.arange(len(prev_ids))
            old_of = where[ids]
            *streams, status = encode_delta(t.left.astype(np.int64), t.right.astype(np.int64), t.value, old_of,
                                            prev.left.astype(np.int64), prev.right.astype(np.int64), prev.value)
            if status != 0 or np.count_nonzero(old_of >= 0) != len(prev_ids):
                raise FormatError("levels are not nested")
            known = branch & (old_of >= 0) & (prev.left[np.maximum(old_of, 0)] >= 0)
            same = (np.array_equal(t.normal[known], prev.normal[old_of[known]])
                    and np.array_equal(t.offset[known], prev.offset[old_of[known]]))
            if not same:
                raise FormatError("levels are not nested (a branch changes its plane)")
            head = [COUNT.pack(len(b)) + b.tobytes() for b in streams]
        normal = np.where(known[:, None], qn_id[ids], t.normal)
        offset = np.where(known, qo_id[ids], t.offset)
        planes, qn, qo = quantized.encode_known(normal, offset, t.left, t.right, lo, hi, tol, extra, coding, key[ids],
                                                mark[ids], known, table)
        qn_id[ids[branch]] = qn[branch]
        qo_id[ids[branch]] = qo[branch]
        chunks.append(head + [COUNT.pack(len(planes)) + planes])
        stored.append(t.replace(normal=qn, offset=qo))
        prev, prev_ids = t, ids
    return chunks, stored


def quantize_levels(levels: Levels, precision: float | None = None, extra: int = quantized.DEFAULT_NORMAL_EXTRA,
                    coding: int = DEFAULT_CODING) -> list[Tree]:
    """The level trees exactly as the progressive file ``encode_file`` writes stores them (coding 4:
    oriented)."""
    levels = oriented_levels(levels, coding)
    if precision is None:
        precision = auto_precision(levels, extra, coding)
    return encode_levels(levels, precision, extra, coding)[1]


def auto_precision(levels: Levels, extra: int = quantized.DEFAULT_NORMAL_EXTRA, coding: int = DEFAULT_CODING,
                   budget=quantized.DISAGREEMENT_BUDGET) -> float:
    """``quantized.auto_precision`` of the finest level, its planes quantised as this file stores them
    (a precision at which the levels are stored already: the coarsest level's flat check first, cheap,
    then the finest level's)."""
    levels = oriented_levels(levels, coding)
    full = levels.trees[-1]
    branch = full.left >= 0
    planes_at = lambda p: _planes(encode_levels(levels, p, extra, coding)[1][-1])

    def stored(p):
        if not quantized.stored_at(levels.trees[0], p, extra, coding):
            return False
        qn, qo = planes_at(p)
        return np.array_equal(qn[branch], full.normal[branch]) and np.array_equal(qo[branch], full.offset[branch])

    return quantized.auto_precision(full, extra, coding, budget=budget, planes_at=planes_at, stored=stored)


def _planes(t: Tree) -> tuple[np.ndarray, np.ndarray]:
    return t.normal, t.offset


def _deflate(levels: Levels, chunks: list[list[bytes]], split: bool,
             flags: int) -> tuple[list[bytes], list[tuple[int, int, int, int]]]:
    """The chunks as one deflate stream (raw with flags ``COMPACT``, else zlib's), sync-flushed after
    each chunk (``split``: a deflate block ended after each of its streams too): (packed chunks, level
    table rows: leaves, packed end, raw end, CRC-32 of the packed chunk)."""
    z = deflater(flags)
    packed, rows, pend, rend = [], [], 0, 0
    for i, (t, parts) in enumerate(zip(levels.trees, chunks, strict=True)):
        part = b"".join(z.compress(p) + (z.flush(zlib.Z_BLOCK) if split else b"") for p in parts[:-1])
        part += z.compress(parts[-1]) + z.flush(zlib.Z_FINISH if i == len(chunks) - 1 else zlib.Z_SYNC_FLUSH)
        pend += len(part)
        rend += sum(map(len, parts))
        rows.append((t.n_leaves, pend, rend, zlib.crc32(part)))
        packed.append(part)
    return packed, rows


def leb128(value: int) -> bytes:
    """``value`` (>= 0) as an unsigned LEB128 number: 7 bits a byte, least significant first, the top
    bit set on every byte but the last; the fewest bytes."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_leb128(number: bytes) -> int | None:
    """A compact table's number from its bytes (the last without the top bit), None unless it is a
    u32 in the fewest bytes."""
    value = sum((b & 0x7F) << (7 * k) for k, b in enumerate(number))
    return None if value > 0xFFFFFFFF or (len(number) > 1 and number[-1] == 0) else value


def level_table_bytes(rows: list[tuple[int, int, int, int]], flags: int) -> bytes:
    """The level count and table of ``rows`` (leaves, packed end, raw end, CRC-32): u32 and 16-byte rows,
    or with flags ``COMPACT`` a u8 and per level the new leaves, the packed and the raw size of its
    chunk (LEB128) and the CRC-32 (u32)."""
    if not flags & COMPACT:
        return COUNT.pack(len(rows)) + b"".join(LEVEL.pack(*r) for r in rows)
    out, prev = [COMPACT_COUNT.pack(len(rows))], (0, 0, 0)
    for leaves, pend, rend, crc in rows:
        out += [leb128(leaves - prev[0]), leb128(pend - prev[1]), leb128(rend - prev[2]), COUNT.pack(crc)]
        prev = (leaves, pend, rend)
    return b"".join(out)


def encode_file(levels: Levels, *, precision: float | None = None, normal_extra: int = quantized.DEFAULT_NORMAL_EXTRA,
                coding: int = DEFAULT_CODING, budget=quantized.DISAGREEMENT_BUDGET) -> bytes:
    """A progressive v2 file of ``levels`` (plane ``coding`` 4, or 1 to 3; ``precision`` None:
    ``auto_precision`` within ``budget``)."""
    if coding not in CODINGS:
        raise FormatError(f"plane coding must be one of {CODINGS}, got {coding!r}")
    levels = oriented_levels(levels, coding)
    if precision is None:
        precision = auto_precision(levels, normal_extra, coding, budget)
    check_parameters(precision, normal_extra, coding)
    chunks, _ = encode_levels(levels, precision, normal_extra, coding)
    # a deflate block per stream (its own Huffman codes: the flag streams are skewed) pays on large
    # trees, one block per chunk on small ones: keep the smaller (readers do not care)
    full = levels.trees[-1]
    flags = PROGRESSIVE | (COMPACT if has_derived_frame(full) else 0)
    packed, rows = min((_deflate(levels, chunks, split, flags) for split in (True, False)),
                       key=lambda r: sum(map(len, r[0])))
    rend = sum(len(p) for parts in chunks for p in parts)
    pend = sum(map(len, packed))
    table = level_table_bytes(rows, flags)
    head = pack_header(Kind.OCCUPANCY, coding, flags, 1, full, rend, len(table) + 4 + pend) + table
    body = head + COUNT.pack(zlib.crc32(head)) + b"".join(packed)
    return body + COUNT.pack(zlib.crc32(body))


# -- reading --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Level:
    """One row of the level table: the level's leaf count, where its chunk ends in the zlib stream and
    in the inflated bytes, the CRC-32 of its packed bytes, and the bytes of the file a reader needs
    to decode it (header, table and the stream up to its end; the last level: the whole file)."""

    leaves: int
    packed_end: int
    raw_end: int
    crc: int
    file_bytes: int


def is_progressive(head: bytes) -> bool:
    """Whether a file starting with ``head`` (at least ``PREFIX`` bytes) is a progressive v2 file."""
    return (len(head) >= PREFIX and head[:4] == MAGIC and head[4] == VERSION
            and head[7] in (PROGRESSIVE, PROGRESSIVE | COMPACT))


class _Head:
    """The first bytes of a file, read through ``read(n)`` as far as they are needed and no further."""

    def __init__(self, read, start: bytes):
        self.read = read
        self.data = bytes(start)

    def fill(self, n: int) -> bool:
        """Whether the file has ``n`` bytes (then ``data`` holds them)."""
        if len(self.data) < n:
            self.data += self.read(n - len(self.data))
        return len(self.data) >= n


def read_table(read, size: int, name: str, start: bytes = b"") -> tuple[Header, list[Level], bytes]:
    """The header and level table of a progressive file of ``size`` bytes, read through ``read(n)``
    (the next ``n`` bytes; ``start``: the first bytes, already read, at most ``PREFIX``), every field
    checked (the header's CRC first), reading nothing past the header's checksum: (header, levels, the
    bytes read)."""
    head = _Head(read, start)
    if not head.fill(PREFIX):
        raise FormatError(f"{name}: truncated (progressive header past the end)")
    layout = header_layout(head.data, name)
    compact = layout is COMPACT_HEADER
    count = COMPACT_COUNT if compact else COUNT
    table = layout.size + count.size  # the first row
    if not head.fill(table) or size < table + 4:
        raise FormatError(f"{name}: truncated (progressive header past the end)")
    (n,) = count.unpack_from(head.data, layout.size)
    if not 1 <= n <= MAX_LEVELS:
        raise FormatError(f"{name}: invalid level count {n}")
    if compact:
        rows, table_end = _compact_rows(head, table, n, name)
    else:
        if not head.fill(table + LEVEL.size * n + 4):
            raise FormatError(f"{name}: truncated (level table past the end)")
        rows = [LEVEL.unpack_from(head.data, table + LEVEL.size * i) for i in range(n)]
        table_end = table + LEVEL.size * n
    data = head.data[:table_end + 4]
    if zlib.crc32(memoryview(data)[:table_end]) != COUNT.unpack_from(data, table_end)[0]:
        raise FormatError(f"{name}: header checksum mismatch (file is corrupted)")
    h = parse_header(data, name)
    if not h.flags & PROGRESSIVE or h.coding not in CODINGS or h.kind != Kind.OCCUPANCY:
        raise FormatError(f"{name}: a progressive file holds one occupancy tree with quantised planes")
    if h.size + h.packed_size + 4 != size:
        raise FormatError(f"{name}: header says {h.packed_size} packed bytes, the file holds {size - h.size - 4}")
    h.check_raw_size(name)
    stream = h.packed_size - (len(data) - h.size)
    levels, leaves, pend, rend = [], 0, 0, 0
    for i, row in enumerate(rows):
        if compact:
            if None in row:
                raise FormatError(f"{name}: invalid level table (level {i}: a number not a u32 in the fewest bytes)")
            count, pe, re_, crc = leaves + row[0], pend + row[1], rend + row[2], row[3]
        else:
            count, pe, re_, crc = row
        raw = re_ - rend
        new = count - leaves  # level 0: all its leaves; later ones: as many new branches
        if count <= leaves or count > MAX_LEAVES or pe <= pend or re_ <= rend or raw > MAX_RATIO * (pe - pend) + 64:
            raise FormatError(f"{name}: invalid level table (level {i}: {count} leaves, ends {pe} / {re_})")
        if 8 * raw < 3 * (new - (1 if i == 0 else 0)):  # every new branch takes at least 3 plane bits
            raise FormatError(f"{name}: level {i} claims {count} leaves in {raw} bytes")
        levels.append(Level(count, pe, re_, crc, len(data) + pe + (4 if i == n - 1 else 0)))
        leaves, pend, rend = count, pe, re_
    if pend != stream or rend != h.raw_size:
        raise FormatError(f"{name}: level table ends at {pend} / {rend}, the stream holds {stream} / {h.raw_size}")
    return h, levels, data


def _compact_rows(head: _Head, table: int, n: int, name: str) -> tuple[list[list], int]:
    """The ``n`` rows of a compact level table at ``table``, read without reading past the header's
    checksum: (rows of [new leaves, packed size, raw size, CRC-32], a number None unless it is a u32 in
    the fewest bytes; where the header's checksum is). Only the numbers' lengths are checked here:
    the checksum is checked next, then the values."""
    least = table + MIN_COMPACT_ROW * n + 4  # the table and the checksum take at least this much
    if not head.fill(least):
        raise FormatError(f"{name}: truncated (level table past the end)")
    pos, rows = table, []
    for i in range(n):
        row = []
        for _ in range(3):
            first = pos
            while head.data[pos] & 0x80:
                pos += 1
                least += 1
                if pos - first == MAX_NUMBER_BYTES:
                    raise FormatError(f"{name}: invalid level table (level {i}: a number of more than "
                                      f"{MAX_NUMBER_BYTES} bytes)")
                if not head.fill(least):
                    raise FormatError(f"{name}: truncated (level table past the end)")
            pos += 1
            row.append(read_leb128(head.data[first:pos]))
        row.append(COUNT.unpack_from(head.data, pos)[0])
        rows.append(row)
        pos += 4
    return rows, pos


def pick(levels: list[Level], max_leaves: int | None) -> int:
    """The index of the largest level with at most ``max_leaves`` leaves (the smallest if none; the
    largest if ``max_leaves`` is None)."""
    if max_leaves is None:
        return len(levels) - 1
    fits = [i for i, lv in enumerate(levels) if lv.leaves <= max_leaves]
    return fits[-1] if fits else 0


def decode_levels(h: Header, levels: list[Level], stream: bytes, upto: int, name: str) -> list[Tree]:
    """Levels ``0..upto`` from the zlib stream's first ``levels[upto].packed_end`` bytes (each chunk's CRC
    checked before it is inflated)."""
    lo, hi = h.root_box
    coding = h.coding
    inflater = h.inflater()
    table = quantized.PlaneTable(0, 0)
    out: list[Tree] = []
    pend = rend = 0
    tol = extra = None
    last = len(levels) - 1
    for i in range(upto + 1):
        lv = levels[i]
        part = memoryview(stream)[pend:lv.packed_end]
        if len(part) != lv.packed_end - pend:
            raise FormatError(f"{name}: truncated (level {i} past the end)")
        if zlib.crc32(part) != lv.crc:
            raise FormatError(f"{name}: level {i} checksum mismatch (file is corrupted)")
        size = lv.raw_end - rend
        try:
            raw = inflater.decompress(part, size + 1)
        except zlib.error as e:
            raise FormatError(f"{name}: corrupted tree data in level {i} ({e})") from None
        done = inflater.eof and not inflater.unused_data and not inflater.unconsumed_tail
        if len(raw) != size or inflater.unconsumed_tail or (done if i < last else not done):
            raise FormatError(f"{name}: level {i} does not match the table's size {size}")
        table.reserve(lv.leaves - 1)
        if i == 0:
            _, extra, tol = read_parameters(raw, size, lo, hi, name, h.coding)
            arrays, pos = read_quantized_tree(raw, 2, size, Kind.OCCUPANCY, lo, hi, tol, extra, coding, table, name)
            if arrays[2].shape[0] != 2 * lv.leaves - 1:
                raise FormatError(f"{name}: level 0 holds {(arrays[2].shape[0] + 1) // 2} leaves, the table says "
                                  f"{lv.leaves}")
        else:
            arrays, pos = _read_delta(raw, size, out[-1], lv.leaves, lo, hi, tol, extra, coding, table, name)
        if pos != size:
            raise FormatError(f"{name}: {size - pos} unexpected trailing bytes in level {i}")
        out.append(h.trees([arrays])[0])
        pend, rend = lv.packed_end, lv.raw_end
    return out


def _read_delta(raw: bytes, end: int, old: Tree, n_leaves: int, lo, hi, tol, extra, coding,
                table: quantized.PlaneTable, name: str) -> tuple[tuple, int]:
    new = n_leaves - old.n_leaves
    pos = 0
    streams = []
    for what in ("insert", "grow", "shape"):
        if pos + 4 > end:
            raise FormatError(f"{name}: truncated ({what} stream size past the end)")
        (size,) = COUNT.unpack_from(raw, pos)
        if pos + 4 + size > end:
            raise FormatError(f"{name}: invalid {what} stream size {size}")
        streams.append(np.frombuffer(raw, np.uint8, size, pos + 4))
        pos += 4 + size
    if pos + 4 + min_plane_bytes(new + 1, coding) > end or 8 * len(streams[2]) < new:
        raise FormatError(f"{name}: level streams too short for {new} new leaves")
    left, right, value, old_of, status = decode_delta(*streams, n_leaves, old.left.astype(np.int64),
                                                      old.right.astype(np.int64), old.value)
    if status != 0:
        raise FormatError(f"{name}: malformed level structure (code {status})")
    src = np.maximum(old_of, 0)
    known = (old_of >= 0) & (left >= 0) & (old.left[src] >= 0)
    kn = np.where(known[:, None], old.normal[src], np.float32(0))
    ko = np.where(known, old.offset[src], np.float32(0))
    normal, offset, pos = read_planes(raw, pos, end, new, left, right, lo, hi, tol, extra, coding, table,
                                      known, kn, ko, name)
    return (normal, offset, left, right, value), pos


def read_levels(f, size: int, name: str, max_leaves: int | None = None, every: bool = False,
                start: bytes = b"") -> list[Tree]:
    """Levels of a progressive file open as ``f`` (``size`` bytes; ``start``: its first bytes, already
    read from ``f``), reading only the bytes they need: the level ``pick(max_leaves)`` chooses
    (``every``: it and all coarser levels). Reading the last level reads the whole file and checks
    its CRC too."""
    h, levels, head = read_table(f.read, size, name, start)
    j = pick(levels, max_leaves)
    stream = f.read(levels[j].packed_end)
    if j == len(levels) - 1:
        tail = f.read(5)
        if len(tail) != 4 or zlib.crc32(head + stream) != COUNT.unpack(tail)[0]:
            raise FormatError(f"{name}: checksum mismatch (file is corrupted or truncated)")
    trees = decode_levels(h, levels, stream, j, name)
    return trees if every else trees[-1:]


def level_table(f, size: int, name: str, start: bytes = b"") -> list[Level]:
    """The level table of a progressive file (reading only the header and table)."""
    return read_table(f.read, size, name, start)[1]
