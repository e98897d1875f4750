"""LFM2-1.2B's exact shape with random weights, and its GGUF files, built offline and cached for the latency benchmark.

Random weights change what the model says, not how fast it says it, once the answer length is forced. The length is
forced the way tests/fixtures/tiny_lfm2.py forces it: the (tied) embedding rows of every token greedy decoding must not
pick are zero, so their logits are exactly 0 while the best remaining token scores above 0. Here the remaining tokens
are the printable ones that start with a space, so a streamer can hand each one on as soon as it is generated (a
transformers TextIteratorStreamer holds text back until a space) and neither backend ever stops on <|im_end|>.

The tokenizer is the test fixture's (LFM2's special tokens at LFM2's ids, LFM2's chat template verbatim, a byte-level
BPE trained on the fixture's corpus), with the regex of llama.cpp's `lfm2` pre-tokenizer so that llama.cpp and
transformers split text alike; the model's vocabulary is padded to LFM2's 65,536 rows.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from tests.fixtures.tiny_lfm2 import BOS, CHAT_TEMPLATE, CORPUS, EOS, PAD, SPECIAL_TOKENS

LLAMA_CPP_PYTHON = "0.3.36"  # the sdist that carries llama.cpp's convert_hf_to_gguf.py and gguf-py
SEED = 20251124
TOKENIZER_VOCAB = 4096  # BPE target; the corpus is small, so training stops earlier
# llama.cpp's LLAMA3 pre-tokenizer regex, which its `lfm2` pre-tokenizer uses (src/llama-vocab.cpp).
SPLIT_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# LiquidAI/LFM2-1.2B's config.json, less what is Lfm2Config's default anyway.
CONFIG: dict[str, Any] = {
    "vocab_size": 65536,
    "hidden_size": 2048,
    "intermediate_size": 12288,  # block_ff_dim; auto-adjusted to a feed-forward of 8192
    "num_hidden_layers": 16,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "layer_types": ["full_attention" if i in (2, 5, 8, 10, 12, 14) else "conv" for i in range(16)],
    "max_position_embeddings": 128000,
    "norm_eps": 1e-5,
    "conv_L_cache": 3,
    "block_multiple_of": 256,
    "block_ffn_dim_multiplier": 1.0,
    "block_auto_adjust_ff_dim": True,
    "tie_word_embeddings": True,
    "pad_token_id": SPECIAL_TOKENS.index(PAD),
    "bos_token_id": SPECIAL_TOKENS.index(BOS),
    "eos_token_id": SPECIAL_TOKENS.index(EOS),
}
QUANTS = {"q8_0": 7, "q4_0": 2, "q4_k_m": 15}  # llama.cpp's LLAMA_FTYPE_MOSTLY_* numbers
_BUILD_VERSION = "1"


def _fingerprint() -> str:
    parts = [_BUILD_VERSION, CHAT_TEMPLATE, CORPUS, SPLIT_REGEX, json.dumps(CONFIG, sort_keys=True), str(SEED)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _train_tokenizer() -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TOKENIZER_VOCAB,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS.splitlines(), trainer=trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, SPECIAL_TOKENS.index(BOS))]
    )
    return tokenizer


def _silenced_ids(tokenizer: Any, vocab_size: int) -> list[int]:
    """Every id but the printable tokens that start with a space: special, partial-character and padding ids too."""
    keep = set()
    for i in range(len(SPECIAL_TOKENS), len(tokenizer)):
        text = tokenizer.decode([i])
        if len(text) > 1 and text[0] == " " and "\ufffd" not in text and text[1:].isprintable() and text[1:].strip():
            keep.add(i)
    return [i for i in range(vocab_size) if i not in keep]


def build_model(folder: Path) -> Path:
    """The transformers folder (bf16 safetensors, tokenizer, chat template); reused when already complete."""
    marker = folder / ".lfm2_shape"
    if marker.is_file() and marker.read_text().strip() == _fingerprint():
        return folder
    import torch
    from transformers import Lfm2Config, Lfm2ForCausalLM, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_tokenizer(),
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(folder)
    config = Lfm2Config(**CONFIG)
    config.architectures = ["Lfm2ForCausalLM"]
    torch.manual_seed(SEED)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)  # 2.3 GB instead of 4.7 GB while building
    try:
        model = Lfm2ForCausalLM(config).eval()
    finally:
        torch.set_default_dtype(previous)
    with torch.no_grad():
        model.get_input_embeddings().weight[_silenced_ids(tokenizer, config.vocab_size)] = 0.0
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        setattr(model.generation_config, key, getattr(config, key))
    model.save_pretrained(folder)
    marker.write_text(_fingerprint() + "\n")
    return folder


# Runs llama.cpp's converter with one change: a tokenizer it does not know is given LFM2's pre-tokenizer.
_CONVERT = """
import runpy, sys
root = sys.argv.pop(1)
sys.path[0:0] = [root, root + "/gguf-py"]
from conversion.base import TextModel
known = TextModel.get_vocab_base_pre
def lfm2_when_unknown(self, tokenizer):
    try:
        return known(self, tokenizer)
    except NotImplementedError:
        return "lfm2"
TextModel.get_vocab_base_pre = lfm2_when_unknown
runpy.run_path(root + "/convert_hf_to_gguf.py", run_name="__main__")
"""


def _converter(cache: Path) -> Path:
    root = cache / "src" / f"llama_cpp_python-{LLAMA_CPP_PYTHON}" / "vendor" / "llama.cpp"
    if (root / "convert_hf_to_gguf.py").is_file():
        return root
    source = cache / "src"
    source.mkdir(parents=True, exist_ok=True)
    archive = source / f"llama_cpp_python-{LLAMA_CPP_PYTHON}.tar.gz"
    if not archive.is_file():
        command = ["pip", "download", "--no-binary", ":all:", "--no-deps", f"llama-cpp-python=={LLAMA_CPP_PYTHON}"]
        subprocess.run([sys.executable, "-m", *command, "-d", str(source)], check=True)
    inside = f"llama_cpp_python-{LLAMA_CPP_PYTHON}/vendor/llama.cpp/"
    with tarfile.open(archive) as tar:
        wanted = [
            m
            for m in tar.getmembers()
            if m.name == inside + "convert_hf_to_gguf.py"
            or m.name.startswith((inside + "gguf-py/", inside + "conversion/"))
        ]
        tar.extractall(source, members=wanted, filter="data")
    return root


def build_gguf(cache: Path, kind: str) -> Path:
    """bf16 (converted) or a quantisation of it, under cache/gguf/; reused when present."""
    target = cache / "gguf" / f"lfm2-1.2b-shape-{_fingerprint()}-{kind}.gguf"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    if kind == "bf16":
        folder = build_model(cache / "model")
        command = [sys.executable, "-c", _CONVERT, str(_converter(cache)), str(folder), "--outtype", "bf16"]
        subprocess.run([*command, "--outfile", str(partial)], check=True)
    else:
        _quantize(build_gguf(cache, "bf16"), partial, QUANTS[kind])
    partial.rename(target)
    return target


def _quantize(source: Path, target: Path, ftype: int) -> None:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = 2
    if llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), params) != 0:
        raise RuntimeError(f"llama.cpp could not quantize {source} to type {ftype}")
