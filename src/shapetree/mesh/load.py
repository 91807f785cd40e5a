"""Loading meshes and validating them: finite, non-empty, indices in range, not degenerate."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import MeshError
from .core import Mesh
from .headers import COUNTED_SUFFIXES, check_counts, check_kind

MESH_SUFFIXES = {".off", ".obj", ".ply", ".stl", ".glb", ".gltf"}


def as_mesh(mesh_or_path) -> Mesh:
    """Accept a ``Mesh``, a path, a trimesh object or a ``(vertices, faces)`` pair."""
    if isinstance(mesh_or_path, Mesh):
        return mesh_or_path
    if isinstance(mesh_or_path, (str, Path)):
        return load_mesh(mesh_or_path)
    if isinstance(mesh_or_path, tuple) and len(mesh_or_path) == 2:
        return _validated(np.asarray(mesh_or_path[0]), np.asarray(mesh_or_path[1]), "<arrays>")
    if hasattr(mesh_or_path, "vertices") and hasattr(mesh_or_path, "faces"):
        return _validated(np.asarray(mesh_or_path.vertices), np.asarray(mesh_or_path.faces), "<trimesh>")
    raise MeshError(f"cannot use {type(mesh_or_path).__name__} as a mesh")


def load_mesh(path: str | Path) -> Mesh:
    """Load a triangle mesh with trimesh and validate it (finite, non-empty, indices in range).
    The file's kind and, for OFF and ASCII PLY, its header's counts are checked first."""
    p = Path(path)
    if not p.exists():
        raise MeshError(f"{p}: no such file")
    if p.is_dir():
        raise MeshError(f"{p}: is a directory, not a mesh file")
    suffix = p.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise MeshError(f"{p}: unsupported mesh format '{suffix or '(none)'}' (use {', '.join(sorted(MESH_SUFFIXES))})")
    if p.stat().st_size == 0:
        raise MeshError(f"{p}: empty file")
    with p.open("rb") as f:
        check_kind(f.read(1 << 16), suffix, str(p))
    if suffix in COUNTED_SUFFIXES:
        check_counts(p, suffix)
    with _interrupts_not_swallowed():
        import trimesh

        try:
            scene = trimesh.load_scene(str(p), process=False, skip_materials=True)
            meshes = [g for g in scene.geometry.values() if isinstance(g, trimesh.Trimesh) and len(g.faces)]
            loaded = scene.to_mesh() if meshes else None
        except ModuleNotFoundError as e:
            raise MeshError(f"{p}: cannot parse mesh: trimesh needs the missing Python package '{e.name}'") from None
        except Exception as e:  # noqa: BLE001 -- trimesh raises many kinds of errors on bad files
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise MeshError(f"{p}: cannot parse mesh ({msg[:160]})") from None
    if loaded is None:
        n_vertices = sum(len(getattr(g, "vertices", ())) for g in scene.geometry.values())
        if n_vertices:
            raise MeshError(f"{p}: has {n_vertices:,} vertices but no triangles (a point cloud, not a triangle mesh)")
        raise MeshError(f"{p}: holds no vertices or faces readable as {suffix[1:].upper()}")
    return _validated(np.asarray(loaded.vertices), np.asarray(loaded.faces), str(p))


@contextlib.contextmanager
def _interrupts_not_swallowed() -> Iterator[None]:
    """trimesh guards its optional imports (and some calls) with ``except BaseException``, which
    eats the KeyboardInterrupt of a Ctrl-C that lands there: the signal is recorded while trimesh
    runs and raised again once it returns. Only the main thread can handle signals."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    received = []

    def record(signum, frame):
        received.append(signum)
        previous(signum, frame)

    signal.signal(signal.SIGINT, record)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def _validated(vertices: np.ndarray, faces: np.ndarray, name: str) -> Mesh:
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
        raise MeshError(f"{name}: mesh has no vertices")
    if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
        raise MeshError(f"{name}: mesh has {len(vertices):,} vertices but no triangles")
    if not np.issubdtype(faces.dtype, np.integer):
        raise MeshError(f"{name}: face indices are not integers")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise MeshError(f"{name}: face index out of range (0..{len(vertices) - 1})")
    v = np.ascontiguousarray(vertices, np.float64)
    if not np.all(np.isfinite(v)):
        bad = int(np.count_nonzero(~np.isfinite(v).all(1)))
        raise MeshError(f"{name}: {bad} vertices are NaN or infinite")
    f = np.ascontiguousarray(faces, np.int64)
    t = v[f]
    area2 = np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)
    f = f[area2 > 0]
    if len(f) == 0:
        raise MeshError(f"{name}: every triangle is degenerate (zero area)")
    mesh = Mesh(v, f, name)
    lo, hi = mesh.bounds
    if np.any(hi - lo <= 0) and np.count_nonzero(hi - lo > 0) < 2:
        raise MeshError(f"{name}: mesh is degenerate (zero extent)")
    return mesh
