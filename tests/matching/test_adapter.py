"""The e5 adapter: linear map math, the file format, and the InfoNCE training step."""
from __future__ import annotations

import numpy as np
import pytest

from xfd.matching.adapter import (
    AdaptedEncoder,
    Adapter,
    AdapterFileError,
    TrainSettings,
    fit_adapter,
    identity_adapter,
    info_nce,
    load_adapter,
    save_adapter,
)
from xfd.matching.encoders import HashingEncoder


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_identity_adapter_leaves_unit_vectors_unchanged():
    x = unit(np.random.default_rng(0).normal(size=(5, 8))).astype(np.float32)
    y = identity_adapter(8).transform(x)
    assert y.shape == (5, 8) and y.dtype == np.float32
    np.testing.assert_allclose(y, x, atol=1e-6)


def test_transform_by_hand_centres_maps_and_normalises():
    a = Adapter(mean=np.array([1.0, 0.0]), matrix=np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0]]))
    y = a.transform(np.array([[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]))
    # (1,1)-(1,0) = (0,1) -> (0,0,3) -> (0,0,1);  (0,1)-(1,0) = (-1,1) -> (-2,0,3) / sqrt(13)
    np.testing.assert_allclose(y[0], [0, 0, 1], atol=1e-6)
    np.testing.assert_allclose(y[1], np.array([-2, 0, 3]) / np.sqrt(13), atol=1e-6)
    np.testing.assert_array_equal(y[2], [0, 0, 0])  # an empty text's zero row stays zero
    assert (a.dim, a.out_dim) == (2, 3)


def test_shapes_are_checked():
    with pytest.raises(ValueError, match=r"mean \(3,\), matrix \(2, 2\)"):
        Adapter(np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match=r"expects \(n, 4\)"):
        identity_adapter(4).transform(np.ones((2, 3)))
    with pytest.raises(ValueError, match="has dim 16, adapter expects 4"):
        AdaptedEncoder(HashingEncoder(dim=16), identity_adapter(4))


def test_adapted_encoder_names_the_adapter_and_applies_it():
    base = HashingEncoder(dim=16)
    rng = np.random.default_rng(1)
    a = Adapter(rng.normal(size=16) * 0.1, np.eye(16) + 0.1 * rng.normal(size=(16, 16)))
    enc = AdaptedEncoder(base, a)
    texts = ["材料 腐蚀", "", "machine learning"]
    got = enc.encode(texts, "query")
    np.testing.assert_allclose(got, a.transform(base.encode(texts, "query")), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), [1, 0, 1], atol=1e-5)
    assert enc.name == f"hashing+adapter@{a.digest}" and enc.dim == 16
    assert AdaptedEncoder(base, identity_adapter(16)).name != enc.name


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    a = Adapter(rng.normal(size=6), rng.normal(size=(6, 6)), {"pairs": 3})
    save_adapter(a, tmp_path / "a.npz", provenance={"sources": ["csl"]}, dtype="float32")
    b = load_adapter(tmp_path / "a.npz")
    np.testing.assert_array_equal(b.matrix, a.matrix)
    np.testing.assert_array_equal(b.mean, a.mean)
    assert b.meta["sources"] == ["csl"] and b.meta["pairs"] == 3 and b.digest == a.digest
    save_adapter(a, tmp_path / "h.npz")  # float16 by default: close, not equal
    np.testing.assert_allclose(load_adapter(tmp_path / "h.npz").matrix, a.matrix, atol=5e-3)


def test_loader_names_a_missing_or_corrupt_file(tmp_path):
    with pytest.raises(AdapterFileError, match="not found: .*nope.npz"):
        load_adapter(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(AdapterFileError, match="unreadable: .*bad.npz"):
        load_adapter(bad)
    partial = tmp_path / "partial.npz"
    np.savez(partial, mean=np.zeros(3))
    with pytest.raises(AdapterFileError, match="partial.npz"):
        load_adapter(partial)
    shapes = tmp_path / "shapes.npz"
    np.savez(shapes, mean=np.zeros(3), matrix=np.eye(2), meta=np.array('{"format": 1}'))
    with pytest.raises(AdapterFileError, match=r"shapes.npz: adapter shapes disagree"):
        load_adapter(shapes)


def test_info_nce_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    xq, xp = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    w = np.eye(4) + 0.3 * rng.normal(size=(4, 4))
    loss = info_nce(xq, xp, w, 0.5)
    num = np.zeros_like(w)
    eps = 1e-6
    for i in range(4):
        for j in range(4):
            d = np.zeros_like(w)
            d[i, j] = eps
            num[i, j] = (info_nce(xq, xp, w + d, 0.5).value - info_nce(xq, xp, w - d, 0.5).value) / (2 * eps)
    np.testing.assert_allclose(loss.grad, num, rtol=1e-5, atol=1e-8)


def test_info_nce_by_hand_for_two_orthogonal_pairs():
    # cos matrix = I, so each row's softmax is (e^{1/τ}, 1) / (e^{1/τ} + 1)
    x = np.eye(2)
    loss = info_nce(x, x, np.eye(2), 1.0)
    assert loss.value == pytest.approx(-np.log(np.e / (np.e + 1)))


def test_training_reduces_the_loss_on_a_synthetic_problem():
    # passages differ from their queries by a fixed hidden distortion: a learned map undoes it
    rng = np.random.default_rng(4)
    z = rng.normal(size=(400, 8))
    distort = np.diag([1, 1, 1, 1, 4, 4, 4, 4]) + 0.5 * rng.normal(size=(8, 8))
    q, p = unit(z + 0.3 * rng.normal(size=z.shape) @ distort), unit(z)
    settings = TrainSettings(epochs=30, batch=64, lr=1e-2, temperature=0.1, l2=0.0, center=False)
    before = info_nce(q, p, np.eye(8), 0.1).value
    a = fit_adapter(q, p, settings)
    after = info_nce(q, p, a.matrix.astype(np.float64), 0.1).value
    assert after < before - 0.2
    assert a.meta["loss_last_epoch"] < a.meta["loss_first_epoch"]
    # a strong pull to the identity keeps the map there
    tied = fit_adapter(q, p, settings._replace(l2=1e4))
    np.testing.assert_allclose(tied.matrix, np.eye(8), atol=1e-2)


def test_fit_checks_its_inputs():
    with pytest.raises(ValueError, match=r"queries \(3, 4\) and passages \(3, 5\)"):
        fit_adapter(np.ones((3, 4)), np.ones((3, 5)))
    with pytest.raises(ValueError, match="at least 2 pairs"):
        fit_adapter(np.ones((1, 4)), np.ones((1, 4)))


def _transform_whole_batch(a: Adapter, x: np.ndarray) -> np.ndarray:
    """The unchunked transform (the code before chunking), as the reference."""
    live = np.linalg.norm(x, axis=1) > 0
    z = (x - a.mean) @ a.matrix
    n = np.linalg.norm(z, axis=1, keepdims=True)
    out = z / np.where(n > 0, n, 1.0)
    out[~live] = 0.0
    return out.astype(np.float32, copy=False)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 8, 9, 16, 17, 33])
def test_chunked_transform_equals_the_whole_batch(n: int) -> None:
    """Chunks of 8 rows: every row the one-batch product's to float32 rounding (some BLAS builds
    block 16+ rows differently, ~1 ulp), lone last rows included, zero rows zero."""
    rng = np.random.default_rng(n)
    a = Adapter(rng.standard_normal(16).astype(np.float32) * 0.1,
                np.eye(16, dtype=np.float32) + 0.1 * rng.standard_normal((16, 16)).astype(np.float32))
    x = unit(rng.standard_normal((max(n, 1), 16)))[:n].astype(np.float32)
    if n > 3:
        x[2] = 0.0
    got = a.transform(x, chunk=8)
    assert got.dtype == np.float32 and got.shape == (n, 16)
    want = _transform_whole_batch(a, x)
    assert np.abs(got - want).max(initial=0.0) <= 5e-7
    if n > 3:
        assert not got[2].any()
