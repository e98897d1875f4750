"""llama.cpp's weight layouts: AMX taken off the list (it segfaults here), repacked or plain kept as asked."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.engines.choice import stand_in_location
from bot.engines.llamacpp.buffers import AMX, drop_amx, extra_buffer_types, plain_buffers
from tests.conftest import REPO

# Loads a GGUF in a fresh process (a segfault must not take pytest with it) and reads a batch of 8 tokens: the
# batch size at which llama.cpp's AMX kernels crash on this machine. llama.cpp logs its buffers on stderr.
LOAD = textwrap.dedent("""
    import sys
    import llama_cpp
    from bot.engines.llamacpp.buffers import safe_buffers
    with safe_buffers(sys.argv[2] == "extra") as layouts:
        llama = llama_cpp.Llama(sys.argv[1], n_ctx=256, n_threads=1, use_mmap=False, verbose=True)
    tokens = llama.tokenize(b"hello", add_bos=True)
    llama.eval(tokens[:1] * 8)
    print("layouts", layouts, "read 8 tokens", flush=True)
""")


@pytest.fixture(scope="module")
def q4_0_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stand-in model requantized to Q4_0 (a second): a type both AMX and the repacked layout take."""
    import llama_cpp

    folder, gguf_file, _ = stand_in_location("bundled:smollm2-135m-instruct")
    source = Path(folder) / gguf_file
    target = tmp_path_factory.mktemp("gguf") / "standin-q4_0.gguf"
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0
    params.allow_requantize = True
    params.nthread = 1
    assert llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), params) == 0
    return target


def _load(gguf: Path, layouts: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", LOAD, str(gguf), layouts], capture_output=True, text=True,
                          timeout=300, cwd=REPO)  # fmt: skip


def test_drop_amx_keeps_the_other_layouts_in_order() -> None:
    before = extra_buffer_types()
    assert drop_amx()
    assert extra_buffer_types() == [name for name in before if name != AMX]
    assert drop_amx()  # a second call changes nothing
    assert extra_buffer_types() == [name for name in before if name != AMX]


def test_extra_layouts_load_without_amx_and_read_a_batch(q4_0_gguf: Path) -> None:
    """On this machine llama.cpp alone puts these weights in its AMX layout and segfaults reading the batch."""
    run = _load(q4_0_gguf, "extra")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "read 8 tokens" in run.stdout
    assert "AMX model buffer" not in run.stderr
    if "CPU_REPACK" in run.stdout:  # the layouts in use, as printed: on x86 builds, the repacked 4-bit blocks
        assert "CPU_REPACK model buffer" in run.stderr


def test_plain_layout_loads_no_extra_buffer(q4_0_gguf: Path) -> None:
    run = _load(q4_0_gguf, "plain")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "layouts [] read 8 tokens" in run.stdout
    assert "AMX model buffer" not in run.stderr and "REPACK model buffer" not in run.stderr
    assert "CPU model buffer" in run.stderr


def test_plain_buffers_puts_the_default_back() -> None:
    import llama_cpp.llama_cpp as native

    with plain_buffers():
        assert native.llama_model_default_params().use_extra_bufts is False
    assert native.llama_model_default_params().use_extra_bufts is True
    with plain_buffers(enabled=False):
        assert native.llama_model_default_params().use_extra_bufts is True
