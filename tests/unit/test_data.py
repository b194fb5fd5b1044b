"""Data: the embedded MNIST, the offline download error, toys, image folders."""


import pytest
import torch
from PIL import Image

from wae_core.data.datasets import (
    TOY_STD,
    DatasetUnavailableError,
    load_dataset,
    load_image_folder,
    load_mnist,
    load_torchvision,
    sample_toy,
    stacked_digits,
    stacked_indices,
    stacked_label,
    toy_modes,
)

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_embedded_mnist_is_complete_and_offline():
    train, test = load_mnist("train"), load_mnist("test")
    assert train.x.shape == (60000, 1, 28, 28) and test.x.shape == (10000, 1, 28, 28)
    assert torch.bincount(train.y).tolist() == TRAIN_COUNTS
    assert torch.bincount(test.y).tolist() == TEST_COUNTS
    assert train.x.dtype == torch.float32 and float(train.x.min()) == 0 and float(train.x.max()) == 1


def test_batches_are_deterministic_per_epoch_and_sharded():
    d = load_mnist("test").subset(1000)
    a = torch.cat(list(d.batches(100, epoch=3, seed=7)))
    b = torch.cat(list(d.batches(100, epoch=3, seed=7)))
    c = torch.cat(list(d.batches(100, epoch=4, seed=7)))
    assert torch.equal(a, b) and not torch.equal(a, c)
    r0 = torch.cat(list(d.batches(100, 3, 7, rank=0, world=2)))
    r1 = torch.cat(list(d.batches(100, 3, 7, rank=1, world=2)))
    assert r0.shape[0] == r1.shape[0] == 500
    # the two shards are disjoint parts of one permutation
    assert not any(torch.equal(r0[i], r1[j]) for i in range(0, 500, 97) for j in range(500))


def test_download_path_offline_gives_clear_error(monkeypatch, tmp_path):
    from torchvision import datasets

    def offline(*a, **k):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: <urlopen error [Errno -3]>")

    monkeypatch.setattr(datasets, "MNIST", offline)
    with pytest.raises(DatasetUnavailableError, match="embedded data set '--dataset mnist'"):
        load_torchvision("mnist", root=tmp_path)


@pytest.mark.parametrize("name,n_modes,radius", [("ring", 8, 2.0), ("grid", 25, None)])
def test_toys(name, n_modes, radius):
    modes = toy_modes(name)
    assert modes.shape == (n_modes, 2)
    if radius:
        assert torch.allclose(modes.norm(dim=1), torch.full((8,), radius))
    else:
        assert set(modes[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    d = sample_toy(name, 50_000, torch.Generator().manual_seed(0))
    resid = d.x - modes[d.y]
    assert float(resid.std()) == pytest.approx(TOY_STD[name], rel=0.05)
    assert torch.bincount(d.y, minlength=n_modes).min() > 50_000 / n_modes * 0.8
    assert len(load_dataset(name, "test")) == 10_000


def test_image_folder(tmp_path):
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            im = Image.new("L", (40, 40), 0)
            im.paste(255, (10 + i, 10, 30, 30))
            im.save(tmp_path / cls / f"{i}.png")
    (tmp_path / "a" / "junk.png").write_bytes(b"not an image")
    d = load_image_folder(tmp_path)
    assert d.x.shape == (6, 1, 28, 28) and torch.bincount(d.y).tolist() == [3, 3]
    with pytest.raises(DatasetUnavailableError):
        load_image_folder(tmp_path / "missing")


def test_unknown_dataset():
    with pytest.raises(DatasetUnavailableError, match="unknown data set"):
        load_dataset("cifar")


@pytest.mark.parametrize("split", ["train", "test"])
def test_stacked_mnist_stacks_three_mnist_digits(split):
    mnist, stacked = load_mnist(split), load_dataset("stacked-mnist", split)
    n = len(mnist)
    assert stacked.x.shape == (n, 3, 28, 28) and stacked.x.dtype == torch.float32
    idx = stacked_indices(split, n)
    for i in (0, 1, n - 1):  # each channel is the MNIST digit its index names, and so is the label
        for c in range(3):
            assert torch.equal(stacked.x[i, c], mnist.x[idx[i, c], 0])
        assert stacked.y[i] == 100 * mnist.y[idx[i, 0]] + 10 * mnist.y[idx[i, 1]] + mnist.y[idx[i, 2]]
    assert torch.equal(stacked_digits(stacked.y), mnist.y[idx])
    assert torch.equal(stacked_label(stacked_digits(torch.arange(1000))), torch.arange(1000))
    counts = torch.bincount(stacked.y, minlength=1000)
    assert len(counts) == 1000 and int((counts > 0).sum()) == 1000  # every mode is in the data
    assert torch.equal(load_dataset("stacked-mnist", split).x[:50], stacked.x[:50])  # fixed seed
    if split == "train":  # the channels are independent draws, not one digit three times
        assert float((idx[:, 0] == idx[:, 1]).double().mean()) < 0.001
