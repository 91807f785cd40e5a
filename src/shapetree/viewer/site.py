"""``shapetree export-web``: the viewer and a tree written out as a static site.

The site has the server's layout (``index.html`` and the modules at the root, ``trees.json``,
``trees/``), so any static host serves it. It is written into a temporary folder beside the
target and renamed into place; an existing target is replaced only when it is empty or a site
written before (it holds the ``MARKER`` file), never any other folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .. import UsageError
from .files import gallery, gallery_json, static_files

MARKER = ".shapetree-site"


def _replaceable(out: Path) -> bool:
    if not out.exists():
        return True
    if not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    return not any(out.iterdir()) or (out / MARKER).is_file()


def export_site(tree_path: str | Path, normals_path: str | Path | None, out_dir: str | Path) -> Path:
    """Write the viewer, the occupancy tree at ``tree_path`` and its optional normal map into
    ``out_dir``; returns the folder. Raises ``FormatError`` for a bad tree, ``UsageError`` when
    ``out_dir`` is a file or a non-empty folder that is not a site."""
    out = Path(out_dir)
    entries, trees = gallery([tree_path], normals_path)
    if not _replaceable(out):
        raise UsageError(f"{out}: folder is not empty and not a shapetree site; choose a new or empty folder")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise UsageError(f"{parent}: output folder's parent does not exist")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        for name, src in {**static_files(), **trees}.items():
            dst = tmp / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        (tmp / "trees.json").write_bytes(gallery_json(entries))
        (tmp / MARKER).write_text("written by shapetree export-web; the folder is replaced on the next export\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes the folder private; a site is not
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            os.replace(out, old / "site")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
