"""The reference implementation's binary format ("treed"): read, write, reject bad files."""

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from factories import ROOT, random_tree

from shapetree.cli import main
from shapetree.errors import FormatError
from shapetree.formats import decode_treed, encode_treed, load, quantize, read_trees, save, write_trees
from shapetree.tree import Kind, trees_equal

REFERENCE = ROOT.parent / "shared" / "reference-trees"


def ref(name: str) -> Path:
    """A file of the reference implementation's trees beside the checkout (skip if absent)."""
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"reference tree {name} not available at {REFERENCE}")
    return path
FILES = ["treed_ant_small", "treed_bunny_750", "treed_bunny_1958"]
SHAPES = {"treed_ant_small": (43, 8), "treed_bunny_750": (750, 14), "treed_bunny_1958": (1958, 20)}


@pytest.mark.parametrize("name", FILES)
def test_reference_trees_reproduce_the_reference_predictions_exactly(name):
    tree = load(ref(f"{name}.bin"))
    expected = np.load(ref(f"{name}_expected.npz"))
    assert (tree.n_leaves, tree.depth) == SHAPES[name]
    np.testing.assert_array_equal(tree.contains(expected["points"]), expected["inside"])


@pytest.mark.parametrize("name", FILES)
def test_reference_files_round_trip_byte_for_byte(name):
    data = ref(f"{name}.bin").read_bytes()
    assert encode_treed(decode_treed(data)) == data


def test_reference_tree_survives_stree_round_trip(tmp_path):
    tree = load(ref("treed_bunny_750.bin"))
    save(tree, tmp_path / "b.stree", lossless=True)
    assert trees_equal(load(tmp_path / "b.stree"), tree)


@pytest.mark.parametrize("n_leaves", [1, 2, 7, 100])
def test_write_then_read_is_identity(tmp_path, n_leaves):
    tree = random_tree(np.random.default_rng(n_leaves), n_leaves)
    save(tree, tmp_path / "t.bin")
    assert (tmp_path / "t.bin").stat().st_size == 32 * n_leaves + 8
    assert trees_equal(load(tmp_path / "t.bin"), tree)


def test_several_normal_map_trees_round_trip_with_given_bounds(tmp_path):
    rng = np.random.default_rng(0)
    bounds = np.array([[-1, -2, -3], [4, 5, 6.0]])
    trees = [random_tree(rng, n, Kind.NORMALS, bounds) for n in (5, 1, 12)]
    write_trees(tmp_path / "n.bin", trees, format="treed")
    back = read_trees(tmp_path / "n.bin", Kind.NORMALS, bounds=bounds)
    assert len(back) == 3 and all(trees_equal(a, b) for a, b in zip(trees, back))
    with pytest.raises(FormatError, match="no bounds"):
        read_trees(tmp_path / "n.bin", Kind.NORMALS)


def test_bounds_are_rounded_outward_to_float32():
    tree = random_tree(np.random.default_rng(1), 3, bounds=((0.1, 0.2, 0.3), (1.1, 1.2, 1.3)))
    back = decode_treed(encode_treed([tree]))[0]
    assert np.all(back.bounds[0] <= tree.bounds[0]) and np.all(back.bounds[1] >= tree.bounds[1])


def test_a_branch_with_a_zero_normal_cannot_be_written():
    tree = random_tree(np.random.default_rng(2), 4)
    tree = tree.replace(normal=np.where(np.arange(tree.n_nodes)[:, None] == 0, 0, tree.normal))
    with pytest.raises(FormatError, match="zero normal"):
        encode_treed([tree])


@pytest.mark.parametrize("keep", [0, 8, 39, 40 + 32 * 10, 62664 - 32, 62664 - 1])
def test_truncated_file_is_rejected(keep):
    data = ref("treed_bunny_1958.bin").read_bytes()[:keep]
    with pytest.raises(FormatError):
        decode_treed(data)


def test_size_not_32_leaves_plus_8_is_rejected():
    data = ref("treed_ant_small.bin").read_bytes()
    with pytest.raises(FormatError, match="32 \\* leaves \\+ 8"):
        decode_treed(data + b"\0\0\0\0")


def test_non_finite_values_are_rejected():
    words = np.frombuffer(ref("treed_ant_small.bin").read_bytes(), "<f4").copy()
    words[9] = np.nan
    with pytest.raises(FormatError, match="non-finite"):
        decode_treed(words.tobytes())


def test_inverted_bounds_are_rejected():
    words = np.frombuffer(ref("treed_ant_small.bin").read_bytes(), "<f4").copy()
    words[0] = words[3] + 1
    with pytest.raises(FormatError, match="bounds"):
        decode_treed(words.tobytes())


def test_a_tree_that_ends_early_or_never_closes_is_rejected():
    words = np.frombuffer(ref("treed_ant_small.bin").read_bytes(), "<f4").copy()
    early = words.copy()
    early[6:9] = 0  # the root becomes a leaf: the rest of the file is left over
    with pytest.raises(FormatError, match="unexpected bytes"):
        decode_treed(early.tobytes())
    never = words.copy()
    leaf_markers = np.flatnonzero((never[6:-3] == 0) & (never[7:-2] == 0) & (never[8:-1] == 0)) + 6
    never[leaf_markers[-1]] = 1  # the last leaf reads as a branch
    with pytest.raises(FormatError, match="truncated|malformed"):
        decode_treed(never.tobytes())


def test_random_corruption_gives_only_format_errors():
    data = ref("treed_ant_small.bin").read_bytes()
    rng = np.random.default_rng(0)
    for _ in range(300):
        mutated = bytearray(data)
        for pos in rng.integers(0, len(data), rng.integers(1, 6)):
            mutated[pos] = int(rng.integers(0, 256))
        try:
            tree = decode_treed(bytes(mutated))[0]
        except FormatError:
            continue
        assert tree.n_nodes == 2 * tree.n_leaves - 1


def test_cli_imports_a_treed_file_quantised_or_lossless(tmp_path):
    reference = load(ref("treed_bunny_750.bin"))
    for flags, expected in (([], quantize(reference)), (["--lossless"], reference)):
        out = tmp_path / "bunny.stree"
        result = CliRunner().invoke(main, ["import-treed", str(ref("treed_bunny_750.bin")), "-o", str(out), *flags])
        assert result.exit_code == 0, result.output
        assert "750 leaves" in result.output
        assert trees_equal(load(out), expected)


def test_cli_rejects_a_file_that_is_not_treed_in_one_line(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"hello world")
    result = CliRunner().invoke(main, ["import-treed", str(bad), "-o", str(tmp_path / "x.stree")])
    assert result.exit_code == 1
    assert "not a treed occupancy file" in result.output
    assert not (tmp_path / "x.stree").exists()
