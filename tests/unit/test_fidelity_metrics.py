"""Precision / recall, density / coverage, KID and the Stacked-MNIST mode coverage against plain
Python double loops on tiny sets, and their sanity cases on Gaussians and on MNIST."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from wae_core.data.datasets import load_mnist
from wae_core.evaluation import manifold
from wae_core.evaluation import metrics as M
from wae_core.evaluation.lenet import load_classifier
from wae_core.evaluation.protocol import CKPT_DIR


# --- naive references: lists of tuples, math.dist, no tensors ---------------------------------
def naive_radius(points, i, k):
    """Distance from points[i] to its k-th nearest neighbour among the other points."""
    return sorted(math.dist(points[i], p) for j, p in enumerate(points) if j != i)[k - 1]


def naive_precision_recall(real, fake, k):
    r_real = [naive_radius(real, i, k) for i in range(len(real))]
    r_fake = [naive_radius(fake, j, k) for j in range(len(fake))]
    precision = sum(any(math.dist(y, x) <= r_real[i] for i, x in enumerate(real)) for y in fake)
    recall = sum(any(math.dist(x, y) <= r_fake[j] for j, y in enumerate(fake)) for x in real)
    return precision / len(fake), recall / len(real)


def naive_density_coverage(real, fake, k):
    r_real = [naive_radius(real, i, k) for i in range(len(real))]
    density = 0
    for y in fake:
        for i, x in enumerate(real):
            density += math.dist(y, x) <= r_real[i]
    covered = sum(min(math.dist(x, y) for y in fake) <= r_real[i] for i, x in enumerate(real))
    return density / (k * len(fake)), covered / len(real)


def naive_mmd2_unbiased(xs, ys):
    d = len(xs[0])

    def kern(a, b):
        return (sum(ai * bi for ai, bi in zip(a, b)) / d + 1) ** 3

    m, n = len(xs), len(ys)
    xx = sum(kern(xs[i], xs[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(kern(ys[i], ys[j]) for i in range(n) for j in range(n) if i != j)
    xy = sum(kern(x, y) for x in xs for y in ys)
    return xx / (m * (m - 1)) + yy / (n * (n - 1)) - 2 * xy / (m * n)


def tiny_sets(seed):
    """12 real and 10 fake 3-d points, overlapping, with one duplicated real point (its
    nearest neighbour is at distance 0: only the point itself is left out). Seed "grid": points
    with integer coordinates, so that many distances tie exactly with a radius (inside: <=)."""
    if seed == "grid":
        g = torch.Generator().manual_seed(0)
        return (torch.randint(0, 3, (12, 3), generator=g).double(),
                torch.randint(0, 3, (10, 3), generator=g).double())
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(12, 3, generator=g, dtype=torch.float64)
    real[11] = real[3]
    fake = 0.8 * torch.randn(10, 3, generator=g, dtype=torch.float64) + 0.6
    return real, fake


def as_lists(t):
    return [tuple(float(v) for v in row) for row in t]


# --- against the references ---------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2, "grid"])
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_knn_radii_match_naive(seed, k):
    real, _ = tiny_sets(seed)
    pts = as_lists(real)
    ref = [naive_radius(pts, i, k) for i in range(len(pts))]
    assert manifold.knn_radii(real, k).tolist() == pytest.approx(ref, abs=1e-6)
    assert manifold.knn_radii(real, k, chunk_rows=5).tolist() == pytest.approx(ref, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2, "grid"])
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_precision_recall_match_naive(seed, k):
    real, fake = tiny_sets(seed)
    ref = naive_precision_recall(as_lists(real), as_lists(fake), k)
    assert tuple(manifold.precision_recall(real, fake, k)) == pytest.approx(ref, abs=1e-12)
    # blocks that do not divide either set: the same numbers
    assert tuple(manifold.precision_recall(real, fake, k, chunk_rows=4)) == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, "grid"])
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_density_coverage_match_naive(seed, k):
    real, fake = tiny_sets(seed)
    ref = naive_density_coverage(as_lists(real), as_lists(fake), k)
    assert tuple(manifold.density_coverage(real, fake, k)) == pytest.approx(ref, abs=1e-12)
    assert tuple(manifold.density_coverage(real, fake, k, chunk_rows=3)) == pytest.approx(ref, abs=1e-12)


def test_reference_cases_are_not_degenerate():
    """The tiny sets give scores strictly between 0 and 1 (and density not 1), so a wrong radius
    or normalisation changes them: the tests above can fail."""
    vals = []
    for seed, k in itertools.product([0, 1, 2], [1, 3, 5]):
        real, fake = tiny_sets(seed)
        vals.append((*manifold.precision_recall(real, fake, k), *manifold.density_coverage(real, fake, k)))
    v = np.array(vals)
    assert ((v[:, [0, 1, 3]] > 0) & (v[:, [0, 1, 3]] < 1)).mean() > 0.7  # measured 0.78
    assert len(np.unique(v.round(6), axis=0)) == len(vals)


@pytest.mark.parametrize("seed", [0, 1])
def test_prdc_is_both_functions(seed):
    real, fake = tiny_sets(seed)
    p = manifold.prdc(real, fake, k_pr=2, k_dc=4, chunk_rows=5)
    assert (p.precision, p.recall) == tuple(manifold.precision_recall(real, fake, 2))
    assert (p.density, p.coverage) == tuple(manifold.density_coverage(real, fake, 4))


def test_polynomial_mmd2_matches_naive():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, 3, generator=g, dtype=torch.float64)
    y = torch.randn(9, 3, generator=g, dtype=torch.float64) + 0.5
    ref = naive_mmd2_unbiased(as_lists(x), as_lists(y))
    assert manifold.polynomial_mmd2(x, y) == pytest.approx(ref, rel=1e-10)


def test_kid_subsets_match_naive():
    """Mean and population std of the naive MMD² over the documented subset draws; with
    subsets as large as the sets every subset is a permutation of all: std 0."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(12, 3, generator=g, dtype=torch.float64)
    y = torch.randn(12, 3, generator=g, dtype=torch.float64) + 0.3
    full = manifold.kid(x, y, subsets=3, subset_size=50, seed=0)
    assert full.subset_size == 12 and full.std == pytest.approx(0.0, abs=1e-9)
    assert full.mean == pytest.approx(naive_mmd2_unbiased(as_lists(x), as_lists(y)), rel=1e-10)

    y = y[:10]

    draw = torch.Generator().manual_seed(7)
    vals = []
    for _ in range(4):
        ix = torch.randperm(12, generator=draw)[:6]
        iy = torch.randperm(10, generator=draw)[:6]
        vals.append(naive_mmd2_unbiased(as_lists(x[ix]), as_lists(y[iy])))
    k = manifold.kid(x, y, subsets=4, subset_size=6, seed=7)
    assert (k.mean, k.std) == pytest.approx((np.mean(vals), np.std(vals)), rel=1e-10)
    assert k.subsets == 4 and k.std > 0


def test_stacked_mode_coverage_matches_naive():
    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(3 * torch.randn(400, 3, 10, generator=g), 2)
    counts = [0] * 1000
    for sample in probs.tolist():
        r, gr, b = (max(range(10), key=lambda c, ch=ch: ch[c]) for ch in sample)
        counts[100 * r + 10 * gr + b] += 1
    c = M.stacked_mode_coverage(probs)
    assert c.counts == counts and c.n == 400
    assert c.classes_covered == sum(n >= 1 for n in counts)
    kl = sum(n / 400 * math.log(n / 400 * 1000) for n in counts if n)
    assert c.kl_to_uniform == pytest.approx(kl, rel=1e-12)
    assert M.stacked_mode_coverage(probs, min_count=2).classes_covered == sum(n >= 2 for n in counts)
    conf = sum(all(max(ch) >= M.CONFIDENT for ch in s) for s in probs.tolist()) / 400
    assert c.confident_share == pytest.approx(conf)


def test_stacked_mode_coverage_one_sample_covers_a_mode():
    """PacGAN's protocol: one sample in a mode is coverage (``mode_coverage`` would not count it)."""
    digits = torch.tensor([[1, 2, 3]] * 99 + [[9, 0, 9]])
    c = M.stacked_mode_coverage(F.one_hot(digits, 10).float())
    assert c.classes_covered == 2 and c.counts[123] == 99 and c.counts[909] == 1
    assert M.stacked_mode_coverage(F.one_hot(digits, 10).float(), min_count=2).classes_covered == 1


# --- sanity cases ----------------------------------------------------------------------------
def test_prdc_gaussians_real_vs_real_and_a_copy():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(1000, 8, generator=g), torch.randn(1000, 8, generator=g)
    p = manifold.prdc(a, b)
    assert p.precision > 0.85 and p.recall > 0.85
    assert 0.9 < p.density < 1.1 and p.coverage > 0.93  # 1 - 2^-5 = 0.969 expected
    copy = manifold.prdc(a, a[:1].repeat(1000, 1))
    assert copy.precision == 1.0 and copy.recall <= 1 / 1000 and copy.coverage < 0.01
    far = manifold.prdc(a, b + 10.0)
    assert far == manifold.PRDC(0.0, 0.0, 0.0, 0.0, 3, 5)


def test_kid_is_zero_for_one_distribution_and_positive_when_shifted():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(1000, 8, generator=g), torch.randn(1000, 8, generator=g)
    shifted = manifold.kid(a, b + 0.3, subsets=50, subset_size=500)
    same = manifold.kid(a, b, subsets=50, subset_size=500)
    self_ = manifold.kid(a, a, subsets=50, subset_size=500)
    assert shifted.mean > 5 * shifted.std > 0
    assert abs(same.mean) < 0.05 * shifted.mean and abs(self_.mean) < 0.1 * shifted.mean


@pytest.fixture(scope="module")
def lenet():
    return load_classifier(CKPT_DIR / "lenet-mnist.safetensors")


@pytest.fixture(scope="module")
def mnist_feats(lenet):
    """Shipped-LeNet features of 3,000 MNIST test images (two disjoint halves)."""
    feats, _ = lenet.embed(load_mnist("test").x[:3000])
    return feats[:1500], feats[1500:]


def test_prdc_real_vs_real_on_lenet_features(mnist_feats):
    a, b = mnist_feats
    p = manifold.prdc(a, b)
    assert p.precision > 0.85 and p.recall > 0.85  # measured 0.89 / 0.90
    assert 0.95 < p.density < 1.15 and p.coverage > 0.93  # 1.06 / 0.97
    k = manifold.kid(a, b, subsets=20, subset_size=1000)
    shifted = manifold.kid(a, a + 0.1 * a.std(), subsets=20, subset_size=1000)
    assert abs(k.mean) < 0.2 * shifted.mean


def test_copying_one_real_image_precise_but_no_recall(mnist_feats):
    a, _ = mnist_feats
    p = manifold.prdc(a, a[7:8].repeat(1500, 1))
    assert p.precision == 1.0 and p.recall <= 1 / 1500  # only the copied image itself
    assert p.coverage < 0.01


def test_classify_stacked_is_per_channel(lenet):
    x = load_mnist("test").x[:300]
    stacked = torch.cat([x[:100], x[100:200], x[200:]], 1)
    probs = M.classify_stacked(stacked, lenet)
    single = lenet.embed(x)[1]
    assert probs.shape == (100, 3, 10)
    for c in range(3):
        assert torch.allclose(probs[:, c], single[100 * c:100 * (c + 1)], atol=1e-6)
    with pytest.raises(ValueError):
        M.classify_stacked(x, lenet)


def test_stacked_real_data_covers_every_mode_and_a_copy_one(lenet):
    """Real Stacked MNIST: 30,000 triples of 2,000 test images' classifier outputs (the channel
    outputs of ``classify_stacked``, checked above, without classifying 90,000 images) cover all
    1,000 modes with KL about the sampling floor 999 / (2 N); one triple copied covers 1 with
    KL = ln 1000."""
    x = load_mnist("test").x[:2000]
    probs = lenet.embed(x)[1]
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(0, len(x), (30_000, 3), generator=g)
    c = M.stacked_mode_coverage(probs[idx])
    assert c.classes_covered == 1000 and c.kl_to_uniform < 0.05  # floor 0.017
    one = M.classify_stacked(torch.cat([x[:1], x[1:2], x[2:3]], 1).repeat(50, 1, 1, 1), lenet)
    c1 = M.stacked_mode_coverage(one)
    assert c1.classes_covered == 1 and c1.kl_to_uniform == pytest.approx(math.log(1000), rel=1e-12)


@pytest.mark.slow
def test_stacked_real_data_end_to_end(lenet):
    """Stacked images built from three random permutations of the 10,000 MNIST test images,
    classified by ``classify_stacked`` (~20 s)."""
    test = load_mnist("test")
    g = torch.Generator().manual_seed(0)
    stacked = torch.cat([test.x[torch.randperm(len(test), generator=g)] for _ in range(3)], 1)
    c = M.stacked_mode_coverage(M.classify_stacked(stacked, lenet))
    assert c.classes_covered == 1000 and c.kl_to_uniform < 0.1  # floor 999 / 20,000 = 0.05


def test_evaluate_rows_and_markdown_carry_the_fidelity_columns():
    """``evaluate.image_row`` adds the columns measured by the functions above on the LeNet
    features it also gives the FID, and ``to_markdown`` labels them as on LeNet features."""
    from wae_core.evaluation import protocol as E
    from wae_core.evaluation import report
    from wae_core.evaluation import scoring as S
    from wae_core.evaluation.lenet import LeNet

    torch.manual_seed(0)
    net = LeNet().eval()
    x = load_mnist("test").x[:600]
    ref = net.embed(x[:300])[0]
    row = E.image_row("m", "gan", x[300:], ref, net, fidelity=True, seed=3)
    feats = net.embed(x[300:])[0]
    p = manifold.prdc(ref, feats, S.PR_K, S.DC_K)
    k = manifold.kid(feats, ref, S.KID_SUBSETS, S.KID_SUBSET_SIZE, 3)
    assert (row["precision"], row["recall"], row["density"], row["coverage"]) == (
        p.precision, p.recall, p.density, p.coverage)
    assert (row["kid_mean"], row["kid_std"]) == (k.mean, k.std)
    assert "precision" not in E.image_row("m", "gan", x[300:], ref, net)
    res = {"command": "c", "generated": "g", "n_samples": 300, "classifier": {},
           "fidelity": E.fidelity_protocol(),
           "rows": [{**row, "mmd_qz_pz": None, "recon_mse": None}]}
    md = report.to_markdown(res)
    assert "| Precision ↑ (LeNet) | Recall ↑ (LeNet) |" in md
    assert f"| m | {row['precision']:.3f} | {row['recall']:.3f} |" in md
    assert f"{row['kid_mean']:.3f} ± {row['kid_std']:.3f}" in md
