"""What the viewer consists of: its static files, and the trees it is given with their gallery.

The server and the static site lay out the same URLs: the viewer's files at the root, the trees
under ``trees/`` and the gallery in ``trees.json``. Trees are read (and so validated) before they
are offered, so a bad file is one clear error here rather than an error page in the browser.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .. import Kind, UsageError, read_trees

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".vert": "text/plain; charset=utf-8",
    ".frag": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".stree": "application/octet-stream",
}


@dataclass(frozen=True)
class Entry:
    """One gallery model: its name, and the URL paths (relative to the root) of its files."""

    name: str
    model: str
    normals: str | None


def static_files() -> dict[str, Path]:
    """The viewer's own files by URL path relative to the root (``main.js``, ``shaders/trace.frag``)."""
    return {p.relative_to(STATIC).as_posix(): p for p in sorted(STATIC.rglob("*"))
            if p.is_file() and p.suffix in TYPES}


def _url_name(path: Path, taken: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem).strip("._") or "tree"
    name, k = f"{stem}.stree", 2
    while name in taken:
        name, k = f"{stem}-{k}.stree", k + 1
    taken.add(name)
    return name


def gallery(tree_paths: list[str | Path], normals_path: str | Path | None) -> tuple[list[Entry], dict[str, Path]]:
    """Validate the trees (occupancy trees; a normal map for the first) and give each a URL path.

    Returns the gallery entries and the tree files by URL path (``trees/bunny.stree``).
    Raises ``FormatError`` for a missing, bad or wrong-kind file.
    """
    paths = [Path(p) for p in tree_paths]
    if not paths:
        raise UsageError("no trees to show")
    files: dict[str, Path] = {}
    taken: set[str] = set()
    entries = []
    for k, path in enumerate(paths):
        read_trees(path, Kind.OCCUPANCY, format="stree")
        model = f"trees/{_url_name(path, taken)}"
        files[model] = path.resolve()
        normals = None
        if k == 0 and normals_path is not None:
            read_trees(normals_path, Kind.NORMALS, format="stree")
            normals = f"trees/{_url_name(Path(normals_path), taken)}"
            files[normals] = Path(normals_path).resolve()
        entries.append(Entry(path.stem, model, normals))
    return entries, files


def gallery_json(entries: list[Entry]) -> bytes:
    return json.dumps([{"name": e.name, "model": e.model, "normals": e.normals} for e in entries],
                      indent=1).encode()
