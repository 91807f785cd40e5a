"""Mesh files as users really have them: other text encodings, truncated headers, files of another
kind, point clouds. Each loads, or fails with one MeshError naming the file and the problem."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from shapetree import MeshError, load_mesh

CUBE_V = np.array([[x, y, z] for x in (0.0, 1.0) for y in (0.0, 1.0) for z in (0.0, 1.0)])
CUBE_F = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                   [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])


def off_text(n_faces_declared: int = 12, n_faces: int = 12, n_vertices: int = 8) -> str:
    rows = [" ".join(map(str, v)) for v in CUBE_V[:n_vertices]]
    rows += ["3 " + " ".join(map(str, f)) for f in CUBE_F[:n_faces]]
    return f"OFF\n# a cube\n8 {n_faces_declared} 0\n" + "\n".join(rows) + "\n"


def ply_text(n_faces_declared: int = 12, n_faces: int = 12, n_vertices: int = 8) -> str:
    header = ["ply", "format ascii 1.0", "comment a cube", "element vertex 8", "property float x",
              "property float y", "property float z", f"element face {n_faces_declared}",
              "property list uchar int vertex_indices", "end_header"]
    rows = [" ".join(map(str, v)) for v in CUBE_V[:n_vertices]]
    rows += ["3 " + " ".join(map(str, f)) for f in CUBE_F[:n_faces]]
    return "\n".join(header + rows) + "\n"


def obj_text() -> str:
    return ("".join(f"v {x} {y} {z}\n" for x, y, z in CUBE_V)
            + "".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in CUBE_F))


def stl_text(name: str) -> str:
    out = [f"solid {name}"]
    for f in CUBE_F:
        t = CUBE_V[f]
        n = np.cross(t[1] - t[0], t[2] - t[0])
        out += [f"facet normal {n[0]} {n[1]} {n[2]}", "outer loop",
                *(f"vertex {x} {y} {z}" for x, y, z in t), "endloop", "endfacet"]
    return "\n".join(out + [f"endsolid {name}"]) + "\n"


def assert_mesh_error(path, *needles: str) -> None:
    with pytest.raises(MeshError) as e:
        load_mesh(path)
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    for needle in needles:
        assert needle in message, message
    assert "module" not in message, message


def assert_is_the_cube(mesh) -> None:
    assert len(mesh.faces) == 12
    np.testing.assert_array_equal(mesh.bounds, [[0, 0, 0], [1, 1, 1]])


def test_obj_with_a_latin1_comment_loads(tmp_path):
    path = tmp_path / "cube.obj"
    path.write_bytes("# modèle créé à Zürich\n".encode("latin-1") + obj_text().encode())
    assert_is_the_cube(load_mesh(path))


def test_ascii_stl_with_a_latin1_solid_name_loads(tmp_path):
    path = tmp_path / "cube.stl"
    path.write_bytes(stl_text("pièce_usinée").encode("latin-1"))
    assert_is_the_cube(load_mesh(path))


def test_obj_in_utf8_with_a_bom_loads(tmp_path):
    path = tmp_path / "cube.obj"
    path.write_bytes(b"\xef\xbb\xbf# \xe2\x9c\x93\n" + obj_text().encode())
    assert_is_the_cube(load_mesh(path))


@pytest.mark.parametrize("suffix", [".obj", ".off"])
def test_a_png_named_as_a_mesh_is_called_an_image(tmp_path, suffix):
    path = tmp_path / f"picture{suffix}"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    assert_mesh_error(path, "PNG image, not a mesh")


@pytest.mark.parametrize("suffix", [".obj", ".off", ".ply", ".stl"])
def test_random_bytes_are_not_a_mesh(tmp_path, suffix):
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert_mesh_error(path)


def test_well_formed_off_and_ply_load(tmp_path):
    (tmp_path / "cube.off").write_text(off_text())
    (tmp_path / "cube.ply").write_text(ply_text())
    assert_is_the_cube(load_mesh(tmp_path / "cube.off"))
    assert_is_the_cube(load_mesh(tmp_path / "cube.ply"))


@pytest.mark.parametrize("declared", [12, 10**9])
@pytest.mark.parametrize("fmt", ["off", "ply"])
def test_truncated_text_mesh_is_rejected(tmp_path, fmt, declared):
    path = tmp_path / f"cube.{fmt}"
    text = off_text if fmt == "off" else ply_text
    path.write_text(text(n_faces_declared=declared, n_faces=6))
    assert_mesh_error(path, "truncated", f"promises {declared:,} faces", "holds 6")


@pytest.mark.parametrize("fmt", ["off", "ply"])
def test_missing_vertices_are_rejected(tmp_path, fmt):
    path = tmp_path / f"cube.{fmt}"
    text = off_text if fmt == "off" else ply_text
    path.write_text(text(n_vertices=5, n_faces=0))
    assert_mesh_error(path, "promises 8 vertices", "holds 5")


def test_truncated_binary_ply_is_rejected(tmp_path):
    header = ("ply\nformat binary_little_endian 1.0\nelement vertex 8\nproperty float x\nproperty float y\n"
              "property float z\nelement face 12\nproperty list uchar int vertex_indices\nend_header\n")
    faces = b"".join(b"\x03" + f.astype("<i4").tobytes() for f in CUBE_F)
    path = tmp_path / "cube.ply"
    path.write_bytes(header.encode() + CUBE_V.astype("<f4").tobytes() + faces[: len(faces) // 2])
    assert_mesh_error(path)


@pytest.mark.parametrize("fmt, text", [
    ("obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n"),
    ("off", "OFF\n3 0 0\n0 0 0\n1 0 0\n0 1 0\n"),
    ("ply", ("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
             "end_header\n0 0 0\n1 0 0\n0 1 0\n")),
])
def test_vertices_without_faces_say_the_faces_are_missing(tmp_path, fmt, text):
    path = tmp_path / f"points.{fmt}"
    path.write_text(text)
    assert_mesh_error(path, "has 3 vertices but no triangles")


def test_messages_name_the_file_once(tmp_path):
    path = tmp_path / "cube.off"
    path.write_text(off_text(n_faces_declared=12, n_faces=6))
    with pytest.raises(MeshError, match=re.escape(os.fspath(path)) + ": truncated OFF"):
        load_mesh(path)
