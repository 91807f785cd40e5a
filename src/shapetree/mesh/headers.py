"""What a mesh file's first bytes and header say, checked before a parser trusts them: files of
another kind (an image, an archive, random bytes) and text meshes whose header promises more
vertices or faces than the file holds. Nothing here allocates from a header's counts."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import MeshError

# Signatures of files users name .obj/.stl/... by mistake: (magic bytes, what the file is).
_FOREIGN = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x7fELF", "an executable"),
)
COUNTED_SUFFIXES = {".off", ".ply"}
_PLY_HEADER_MAX = 1 << 16
_TEXT_ONLY = {".obj", ".off", ".gltf"}
# Bytes that never occur in a text mesh (whatever its 8-bit encoding): NUL and C0 controls
# other than tab, newline, vertical tab, form feed and carriage return.
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f]")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def check_kind(head: bytes, suffix: str, name: str) -> None:
    """Reject a file whose first bytes show it is not a mesh of its suffix's format."""
    for magic, kind in _FOREIGN:
        if head.startswith(magic):
            raise MeshError(f"{name}: is {kind}, not a mesh")
    if suffix in _TEXT_ONLY and not head.startswith(_UTF16_BOMS) and _CONTROL.search(head):
        raise MeshError(f"{name}: holds binary data, but {suffix[1:].upper()} meshes are text")
    if suffix == ".ply" and not head.lstrip().lower().startswith(b"ply"):
        raise MeshError(f"{name}: not a PLY file (it does not start with 'ply')")


def check_counts(path: Path, suffix: str) -> None:
    """For OFF and ASCII PLY, the rows a header promises must be in the file (a truncated file
    would otherwise give a partial mesh). Other formats carry no counts or are checked by their
    parser (binary PLY by its byte length)."""
    if suffix == ".off":
        _check_off(path.read_bytes(), str(path))
    elif suffix == ".ply":
        _check_ascii_ply(path, str(path))


def _rows(lines: list[bytes]) -> int:
    return sum(1 for line in lines if line.strip())


def _shortfall(name: str, fmt: str, declared: list[tuple[str, int]], rows: int) -> None:
    """``declared``: (what, count) in file order; each takes its rows from what is left."""
    left = rows
    for what, count in declared:
        if left < count:
            raise MeshError(f"{name}: truncated {fmt}: the header promises {count:,} {what}, "
                            f"the file holds {left:,}")
        left -= count


def _check_off(data: bytes, name: str) -> None:
    # As trimesh reads it: comments stripped, the counts are the first line after "OFF".
    text = re.sub(rb"#[^\n]*", b"", data)
    m = re.search(rb"OFF", text)
    if m is None:
        raise MeshError(f"{name}: not an OFF file (no 'OFF' header)")
    lines = text[m.end():].splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise MeshError(f"{name}: OFF file has no vertex/face count line")
    counts = lines[first].split()
    if len(counts) < 2 or not all(c.isdigit() for c in counts[:2]):
        shown = lines[first].strip()[:40].decode("latin-1")
        raise MeshError(f"{name}: OFF count line is not 'vertices faces edges': '{shown}'")
    n_vertices, n_faces = int(counts[0]), int(counts[1])
    _shortfall(name, "OFF", [("vertices", n_vertices), ("faces", n_faces)], _rows(lines[first + 1:]))


def _check_ascii_ply(path: Path, name: str) -> None:
    with path.open("rb") as f:
        head = f.read(_PLY_HEADER_MAX)
    m = re.search(rb"^end_header[ \t]*\r?\n?", head, re.MULTILINE)
    if m is None:
        raise MeshError(f"{name}: PLY header has no 'end_header' line")
    header = head[:m.start()].decode("latin-1").splitlines()
    if not any(line.split()[:2] == ["format", "ascii"] for line in header):
        return
    data = path.read_bytes()
    declared = []
    for line in header:
        words = line.split()
        if words[:1] == ["element"]:
            if len(words) != 3 or not words[2].isdigit():
                raise MeshError(f"{name}: PLY header line is not 'element NAME COUNT': '{line.strip()[:40]}'")
            what = {"vertex": "vertices", "face": "faces"}.get(words[1], f"'{words[1]}' rows")
            declared.append((what, int(words[2])))
    _shortfall(name, "ASCII PLY", declared, _rows(data[m.end():].splitlines()))
