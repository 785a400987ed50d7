"""Contrastive fine-tuning of e5-small's top transformer layers on CPU, and the delta file it ships as.

The BERT encoder is split in two: the *bottom* (embeddings and layers
``0 .. n-L-1``) stays frozen, the *top* (the last ``L`` layers, then mean
pooling over all tokens and L2 normalisation, as the SentenceTransformer
folder does) is trained.  The bottom's hidden states are computed once per
text (:func:`bottom_states`, no gradients), so an epoch costs ``L`` layers
forward and backward only.  The loss is a symmetric InfoNCE over in-batch
negatives (``MultipleNegativesRankingLoss`` in both directions), pairs of the
same ``group`` (the same abstract) never count as each other's negatives.

What ships is a :class:`Delta`: ``trained - base`` of every trained tensor,
stored as float16 in an ``.npz`` with a JSON ``meta`` (the base model's
sha256, the layers, the settings).  :func:`apply_delta` adds it to a model's
float32 weights (deterministic: the same base and file give the same bytes).
torch is imported inside the functions (heavy, only when training/building).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

FORMAT_VERSION = 1
#: The shipped delta in ``corpora/`` (``python -m xfd.models.finetune_build``).
DELTA_FILE = "e5_finetune.npz"


class DeltaFileError(ValueError):
    """A delta file that is missing, unreadable or does not fit the model (the message names the file)."""


class FinetuneSettings(NamedTuple):
    """``layers``: how many top transformer layers are trained; ``epochs`` over the
    groups (each group once per epoch, with one of its queries drawn at random), in
    batches of ``batch`` pairs of similar passage length (``bucket`` batches are
    sorted together, then shuffled); AdamW with ``lr`` (linear warm-up over the
    first ``warmup`` share of steps, then linear decay) and ``weight_decay``;
    cosine ``temperature``; ``seed`` fixes the shuffles and the draws."""

    layers: int = 1
    epochs: int = 2
    batch: int = 32
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: float = 0.1
    temperature: float = 0.05
    bucket: int = 8
    seed: int = 0


@dataclass(frozen=True, eq=False)
class Delta:
    """``tensors``: state-dict key of the BERT model (e.g. ``encoder.layer.11.output.dense.weight``)
    -> float16 array ``trained - base`` of that tensor's shape; ``meta``: provenance."""

    tensors: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """12 hex characters of sha256 over the keys and float16 bytes: names the model variant."""
        h = hashlib.sha256()
        for key in sorted(self.tensors):
            h.update(key.encode("utf-8") + b"\0")
            h.update(np.ascontiguousarray(self.tensors[key], dtype="<f2").tobytes())
        return h.hexdigest()[:12]


# --------------------------------------------------------------------------- forward passes


def tokenize(tokenizer: Any, texts: Sequence[str], prefix: str, max_length: int) -> list[list[int]]:
    """Token ids (with ``<s> … </s>``) of ``prefix + text`` for each text, truncated to ``max_length``."""
    enc = tokenizer([prefix + t for t in texts], truncation=True, max_length=max_length, padding=False)
    return [list(ids) for ids in enc["input_ids"]]


def _padded(rows: Sequence[Any], pad_value: float = 0.0) -> tuple[Any, Any]:
    """Stack variable-length tensors (len_i, ...) into (b, max_len, ...) plus a (b, max_len) 0/1 mask."""
    import torch  # noqa: PLC0415 - heavy, only when training/building

    n = max(int(r.shape[0]) for r in rows)
    out = torch.full((len(rows), n, *rows[0].shape[1:]), pad_value, dtype=rows[0].dtype)
    mask = torch.zeros((len(rows), n), dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : r.shape[0]] = r
        mask[i, : r.shape[0]] = 1
    return out, mask


def _run_layers(bert: Any, layers: Sequence[Any], hidden: Any, mask: Any) -> Any:
    """``hidden`` (b, s, H) through ``layers`` with the padding ``mask`` (b, s) as BertModel builds it."""
    from transformers.masking_utils import create_bidirectional_mask  # noqa: PLC0415 - heavy

    attn = create_bidirectional_mask(config=bert.config, inputs_embeds=hidden, attention_mask=mask)
    for layer in layers:
        hidden = layer(hidden, attn)
    return hidden


def bottom_states(bert: Any, ids: Sequence[Sequence[int]], n_top: int, batch: int = 32) -> list[Any]:
    """Hidden states after the frozen bottom (all but the last ``n_top`` layers), one float16
    tensor (len_i, hidden) per text, in input order; texts are batched by length."""
    import torch  # noqa: PLC0415 - heavy, only when training/building

    bottom = list(bert.encoder.layer)[: len(bert.encoder.layer) - n_top]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out: list[Any] = [None] * len(ids)
    with torch.inference_mode():
        for a in range(0, len(order), batch):
            part = order[a:a + batch]
            tok, mask = _padded([torch.tensor(ids[i], dtype=torch.long) for i in part], bert.config.pad_token_id)
            h = _run_layers(bert, bottom, bert.embeddings(input_ids=tok), mask)
            for j, i in enumerate(part):
                out[i] = h[j, : len(ids[i])].to(torch.float16).clone()
    return out


def top_vectors(bert: Any, n_top: int, states: Sequence[Any]) -> Any:
    """Unit sentence vectors (b, hidden) float32 of bottom ``states`` through the last ``n_top``
    layers, mean pooling over every token (``<s>``, ``</s>`` included), L2 normalisation."""
    import torch  # noqa: PLC0415 - heavy, only when training/building

    hidden, mask = _padded([s.to(torch.float32) for s in states])
    h = _run_layers(bert, list(bert.encoder.layer)[-n_top:] if n_top else [], hidden, mask)
    m = mask.unsqueeze(-1).to(h.dtype)
    pooled = (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
    return torch.nn.functional.normalize(pooled, dim=-1)


def encode_states(bert: Any, n_top: int, states: Sequence[Any], batch: int = 64) -> np.ndarray:
    """float32 (len(states), hidden) unit rows: :func:`top_vectors` in length-sorted batches, no grad."""
    import torch  # noqa: PLC0415 - heavy, only when training/building

    out = np.zeros((len(states), bert.config.hidden_size), dtype=np.float32)
    order = sorted(range(len(states)), key=lambda i: int(states[i].shape[0]))
    with torch.inference_mode():
        for a in range(0, len(order), batch):
            part = order[a:a + batch]
            out[part] = top_vectors(bert, n_top, [states[i] for i in part]).numpy()
    return out


# --------------------------------------------------------------------------- training


def info_nce_loss(q: Any, p: Any, groups: Sequence[str], temperature: float) -> Any:
    """Symmetric InfoNCE of unit rows ``q``, ``p`` (b, H): row i's positive is p[i];
    other rows of the same group are masked out (neither positive nor negative)."""
    import torch  # noqa: PLC0415 - heavy, only when training/building

    s = (q @ p.T) / temperature
    g = np.asarray(groups)
    same = torch.from_numpy((g[:, None] == g[None, :]) & ~np.eye(len(g), dtype=bool))
    s = s.masked_fill(same, float("-inf"))
    target = torch.arange(len(g))
    return 0.5 * (torch.nn.functional.cross_entropy(s, target) + torch.nn.functional.cross_entropy(s.T, target))


def _batches(rng: np.random.Generator, lengths: np.ndarray, settings: FinetuneSettings) -> list[np.ndarray]:
    """Index batches: a random order, cut into chunks of ``bucket`` batches sorted by length, shuffled."""
    order = rng.permutation(len(lengths))
    chunk = settings.batch * settings.bucket
    out: list[np.ndarray] = []
    for a in range(0, len(order), chunk):
        part = order[a:a + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        out.extend(part[b:b + settings.batch] for b in range(0, len(part), settings.batch))
    out = [b for b in out if len(b) >= 2]
    return [out[i] for i in rng.permutation(len(out))]


class TrainResult(NamedTuple):
    """The :class:`Delta` and the mean training loss of each epoch."""

    delta: Delta
    losses: list[float]


def train_top(bert: Any, queries: Sequence[Sequence[Any]], passages: Sequence[Any], groups: Sequence[str],
              settings: FinetuneSettings | None = None) -> TrainResult:
    """Fine-tune the last ``settings.layers`` layers of ``bert`` in place and return their delta.

    ``passages[i]``: bottom states (len, H) of group i's passage; ``queries[i]``: the
    bottom states of its queries (one is drawn per epoch); ``groups[i]`` its name.
    The bottom states must come from :func:`bottom_states` with ``n_top = settings.layers``;
    ``settings`` default to ``FinetuneSettings()``.
    """
    import torch  # noqa: PLC0415 - heavy, only when training/building

    settings = settings or FinetuneSettings()
    if len(passages) != len(queries) or len(passages) != len(groups) or len(passages) < 2:
        raise ValueError(f"need >= 2 aligned groups: {len(queries)} queries, {len(passages)} passages, "
                         f"{len(groups)} groups")
    torch.manual_seed(settings.seed)
    top = list(bert.encoder.layer)[-settings.layers:]
    base = {k: v.detach().clone() for k, v in _top_params(bert, settings.layers).items()}
    params = [p for layer in top for p in layer.parameters()]
    for p in bert.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    rng = np.random.default_rng(settings.seed)
    lengths = np.array([int(p.shape[0]) for p in passages])
    plan = [_batches(rng, lengths, settings) for _ in range(settings.epochs)]
    total = max(1, sum(len(e) for e in plan))
    warm = max(1, int(settings.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    bert.train(False)  # no dropout: deterministic, and e5 was trained to be used without it
    losses: list[float] = []
    for epoch in plan:
        run = []
        for idx in epoch:
            qs = [queries[i][int(rng.integers(len(queries[i])))] for i in idx]
            loss = info_nce_loss(top_vectors(bert, settings.layers, qs),
                                 top_vectors(bert, settings.layers, [passages[i] for i in idx]),
                                 [groups[i] for i in idx], settings.temperature)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            run.append(float(loss.detach()))
        losses.append(float(np.mean(run)) if run else float("nan"))
    for p in params:
        p.requires_grad_(False)
    now = _top_params(bert, settings.layers)
    tensors = {k: (now[k].detach() - base[k]).numpy().astype(np.float16) for k in sorted(now)}
    return TrainResult(Delta(tensors, {"settings": settings._asdict(), "groups": len(groups), "losses": losses}),
                       losses)


def _top_params(bert: Any, n_top: int) -> dict[str, Any]:
    """State-dict keys -> parameters of the last ``n_top`` layers."""
    first = len(bert.encoder.layer) - n_top
    keep = tuple(f"encoder.layer.{i}." for i in range(first, len(bert.encoder.layer)))
    return {k: v for k, v in bert.named_parameters() if k.startswith(keep)}


# --------------------------------------------------------------------------- file and application


def save_delta(delta: Delta, path: Path, provenance: dict[str, Any] | None = None) -> None:
    """Write ``path`` (.npz, compressed): every tensor as float16 under its key, plus JSON ``__meta__``."""
    meta = {**delta.meta, **(provenance or {}), "format": FORMAT_VERSION}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.ascontiguousarray(v, dtype="<f2") for k, v in delta.tensors.items()}
    with open(path, "wb") as fh:
        np.savez_compressed(fh, __meta__=np.array(json.dumps(meta, ensure_ascii=False, sort_keys=True)), **arrays)


def load_delta(path: Path) -> Delta:
    """Read a file written by :func:`save_delta`; DeltaFileError names the file on any defect."""
    path = Path(path)
    if not path.is_file():
        raise DeltaFileError(f"微调权重文件不存在 / fine-tuning delta file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
            tensors = {k: z[k] for k in z.files if k != "__meta__"}
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise DeltaFileError(f"微调权重文件无法读取 / delta file unreadable: {path}: {exc}") from exc
    if meta.get("format") != FORMAT_VERSION:
        raise DeltaFileError(f"delta file {path}: format {meta.get('format')!r}, expected {FORMAT_VERSION}")
    bad = [k for k, v in tensors.items() if v.dtype != np.float16 or not np.isfinite(v).all()]
    if bad:
        raise DeltaFileError(f"delta file {path}: tensors not finite float16: {', '.join(bad)}")
    return Delta(tensors, meta)


def apply_delta(bert: Any, delta: Delta, source: str = "delta") -> None:
    """Add ``delta`` to ``bert``'s float32 weights in place (w = w + float32(delta)).

    Every key must name a parameter of the same shape, else DeltaFileError names ``source``
    and the key (nothing is changed then).
    """
    import torch  # noqa: PLC0415 - heavy, only when training/building

    params = dict(bert.named_parameters())
    for key, value in delta.tensors.items():
        if key not in params:
            raise DeltaFileError(f"{source}: tensor {key!r} is not a parameter of the model")
        if tuple(params[key].shape) != tuple(value.shape):
            raise DeltaFileError(f"{source}: tensor {key!r} has shape {tuple(value.shape)}, "
                                 f"the model's is {tuple(params[key].shape)}")
    with torch.no_grad():
        for key in sorted(delta.tensors):
            params[key].add_(torch.from_numpy(delta.tensors[key].astype(np.float32)))


# --------------------------------------------------------------------------- the model folder built from a delta


def finetuned_dir(base_dir: Path, delta: Delta) -> Path:
    """``<base folder>-ft<delta digest>`` next to the base model folder."""
    return Path(base_dir).with_name(f"{Path(base_dir).name}-ft{delta.digest}")


def build_finetuned(base_dir: Path, delta: Delta, target_dir: Path) -> Path:
    """Write the SentenceTransformer folder ``target_dir``: the base folder's model with ``delta``
    added to its weights (via a temporary folder renamed into place, as ``e5_build`` does)."""
    from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - heavy, only when building

    from xfd.models.e5_build import move_into_place  # noqa: PLC0415 - the builder's, only when building

    target_dir = Path(target_dir)
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.tmp-", dir=target_dir.parent))
    try:
        model = SentenceTransformer(str(base_dir), device="cpu", local_files_only=True)
        apply_delta(model[0].auto_model, delta, source=str(target_dir))
        out = work / "st"
        model.save(str(out))
        info = json.loads((Path(base_dir) / "xfd_build.json").read_text(encoding="utf-8"))
        info.update({"finetune_delta": delta.digest, "finetune_meta": delta.meta})
        (out / "xfd_build.json").write_text(json.dumps(info, indent=2, ensure_ascii=False), encoding="utf-8")
        move_into_place(out, target_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target_dir


def shipped_delta(name: str = DELTA_FILE) -> Delta:
    """The delta file ``name`` in ``corpora/`` (DeltaFileError names the file when missing or malformed)."""
    from xfd.corpora import corpus_path  # noqa: PLC0415

    return load_delta(corpus_path(name))


def ensure_finetuned(base_dir: Path, delta: Delta, progress: bool = True) -> Path:
    """The folder :func:`finetuned_dir` of ``base_dir`` (a built e5-small) and ``delta``, built first if missing."""
    target = finetuned_dir(base_dir, delta)
    if (target / "xfd_build.json").is_file():
        return target
    if target.exists():
        raise RuntimeError(f"模型缓存目录不完整 / incomplete model folder, delete it and retry: {target}")
    if progress:
        print(f"首次使用：正在构建微调的 e5-small / first use: building the fine-tuned e5-small into {target}",
              file=sys.stderr)
    return build_finetuned(base_dir, delta, target)
