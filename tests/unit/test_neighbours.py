"""wae_core.evaluation.neighbours: the exact k-NN index behind the Samples page's memorisation check,
against a naive double loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from wae_core.evaluation.neighbours import NeighbourIndex


def _feats(n: int, d: int, seed: int) -> np.ndarray:
    # ReLU-like features (non-negative, norms ~ tens, as LeNet's): the expanded form's rounding shows
    return np.abs(np.random.default_rng(seed).normal(3.0, 2.0, size=(n, d))).astype(np.float32)


def naive_knn(ref: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Distances and indices by a double loop over (query, reference) pairs, float64."""
    dist = np.empty((len(q), k))
    idx = np.empty((len(q), k), np.int64)
    for i in range(len(q)):
        row = []
        for j in range(len(ref)):
            row.append((math.sqrt(sum((float(a) - float(b)) ** 2 for a, b in zip(q[i], ref[j]))), j))
        row.sort()
        dist[i] = [r[0] for r in row[:k]]
        idx[i] = [r[1] for r in row[:k]]
    return dist, idx


@pytest.mark.parametrize("chunk", [7, 64, 10_000])  # chunks smaller than k + margin, uneven, one
@pytest.mark.parametrize("k", [1, 3])
def test_query_equals_naive_double_loop(chunk: int, k: int) -> None:
    ref, q = _feats(300, 16, 0), _feats(25, 16, 1)
    dist, idx = NeighbourIndex(chunk_size=chunk).fit(ref).query(q, k)
    want_d, want_i = naive_knn(ref, q, k)
    assert dist.shape == idx.shape == (25, k)
    assert np.array_equal(idx, want_i)
    assert np.allclose(dist, want_d, rtol=1e-5, atol=1e-5)
    assert np.all(np.diff(dist, axis=1) >= 0)  # nearest first


def test_a_training_item_finds_itself_at_distance_zero() -> None:
    ref = _feats(5_000, 128, 2) * 10  # norms ~ 400: 2 q·x in float32 is off by far more than 0
    index = NeighbourIndex(chunk_size=1_024).fit(ref)
    rows = np.array([0, 1, 1_023, 1_024, 4_999])
    dist, idx = index.query(ref[rows], k=3)
    assert np.array_equal(idx[:, 0], rows)
    assert np.all(dist[:, 0] == 0.0)
    assert np.all(dist[:, 1] > 0)


def test_torch_input_and_k_equal_to_reference_size() -> None:
    ref = _feats(10, 4, 3)
    dist, idx = NeighbourIndex(chunk_size=3).fit(torch.as_tensor(ref)).query(torch.as_tensor(ref[:2]), k=10)
    assert sorted(idx[0].tolist()) == list(range(10)) and idx[0, 0] == 0 and dist[1, 0] == 0


def test_errors() -> None:
    index = NeighbourIndex()
    with pytest.raises(RuntimeError, match="fit"):
        index.query(np.zeros((1, 4)), 1)
    index.fit(_feats(5, 4, 0))
    with pytest.raises(ValueError, match="k must be"):
        index.query(np.zeros((1, 4)), 6)
    with pytest.raises(ValueError, match="shape"):
        index.query(np.zeros((1, 3)), 1)
    with pytest.raises(ValueError):
        NeighbourIndex(chunk_size=0)


def test_near_ties_are_ordered_by_the_direct_distance() -> None:
    # Five references within 0.05 of the query, at norm ~ 1,100: the expanded form's float32
    # rounding (~0.1 in d²) cannot tell them apart, the re-measured distance can.
    rng = np.random.default_rng(4)
    base = rng.uniform(90, 110, size=128).astype(np.float32)
    u = rng.normal(size=128).astype(np.float32)
    u /= np.linalg.norm(u)
    near = np.stack([base + (j + 1) * 0.01 * u for j in range(5)])
    far = base + rng.normal(0, 5, size=(200, 128)).astype(np.float32)
    ref = np.concatenate([far[:100], near[::-1], far[100:]])  # nearest (j = 0) at row 104
    index = NeighbourIndex(chunk_size=50).fit(ref)
    dist, idx = index.query(base[None], k=5)
    assert idx[0].tolist() == [104, 103, 102, 101, 100]
    assert np.allclose(dist[0], [0.01, 0.02, 0.03, 0.04, 0.05], atol=2e-3)
    # k = 1 as well: the candidates re-measured must be more than k
    assert index.query(base[None], k=1)[1][0, 0] == 104


def test_save_and_load_round_trip(tmp_path) -> None:
    ref, q = _feats(200, 8, 5), _feats(5, 8, 6)
    index = NeighbourIndex(chunk_size=64).fit(ref)
    index.save(tmp_path / "sub" / "feats.npy")
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["feats.npy"]  # no temp file left
    loaded = NeighbourIndex.load(tmp_path / "sub" / "feats.npy")
    assert len(loaded) == 200 and loaded.dim == 8
    for a, b in zip(index.query(q, 3), loaded.query(q, 3)):
        assert np.array_equal(a, b)
    with pytest.raises(RuntimeError):
        NeighbourIndex().save(tmp_path / "x.npy")
