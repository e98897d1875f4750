"""Which weight layouts llama.cpp loads a GGUF into: its plain CPU buffers, or its extra ones (repacked 4-bit, AMX).

On x86, llama.cpp offers two extra weight layouts besides its plain one: AMX tiles (on a CPU with AMX, when it was
built on one, as `pip install` does there) and 4-bit blocks repacked for wide vector kernels. Its AMX kernels
segfault at the first batch of two or more tokens on some Sapphire Rapids machines, this one among them
(ggml-org/llama.cpp#20824, closed without a fix). llama-cpp-python has no flag for either layout, so this module
reaches llama.cpp through ggml's own registry: the AMX layout is taken off the CPU device's list of extra layouts
(the repacked one stays), or the extra layouts are all turned off for the models loaded in a block.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

AMX = "AMX"
_CPU_DEVICE = 0  # GGML_BACKEND_DEVICE_TYPE_CPU


def cpu_has_amx() -> bool:
    """Whether this CPU has AMX tiles (Linux; False where /proc/cpuinfo can't be read)."""
    try:
        return "amx_tile" in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False


def extra_buffer_types() -> list[str]:
    """The extra weight layouts llama.cpp would load a model's weights into, in its order of preference."""
    return [name for name, _ in _extra_layouts()[1]]


def drop_amx() -> bool:
    """Take the AMX layout off llama.cpp's list for every model this process loads from now on; the repacked
    layout stays. False when AMX is still listed (llama.cpp changed how it keeps the list): turn the extra
    layouts off instead."""
    table, layouts = _extra_layouts()
    if table is None or all(name != AMX for name, _ in layouts):
        return True
    kept = [pointer for name, pointer in layouts if name != AMX]
    # The list is llama.cpp's own null-terminated array, read at each model load: rewritten in place, it stays
    # as long, with a null after the layouts kept.
    for index, pointer in enumerate([*kept, None]):
        table[index] = pointer
    return AMX not in extra_buffer_types()


@contextmanager
def plain_buffers(enabled: bool = True) -> Iterator[None]:
    """Models loaded inside the block keep their weights in plain CPU buffers (no extra layout at all).

    llama-cpp-python builds a model's parameters from `llama_model_default_params()`, so the block swaps that
    for one with `use_extra_bufts` off; the default is put back on leaving the block."""
    if not enabled:
        yield
        return
    import llama_cpp.llama_cpp as native

    defaults: Callable[[], Any] = native.llama_model_default_params

    def plain() -> Any:
        params = defaults()
        params.use_extra_bufts = False
        return params

    native.llama_model_default_params = plain
    try:
        yield
    finally:
        native.llama_model_default_params = defaults


@contextmanager
def safe_buffers(extra: bool) -> Iterator[list[str]]:
    """Load models inside the block with the extra layouts llama.cpp can run here (never AMX), or with none when
    `extra` is False; yields the extra layouts offered (llama.cpp puts each weight in the first that takes it)."""
    if extra and drop_amx():
        yield extra_buffer_types()
        return
    with plain_buffers():
        yield []


def _extra_layouts() -> tuple[Any, list[tuple[str, int]]]:
    """llama.cpp's array of the CPU device's extra buffer types, and each one's name and pointer."""
    from llama_cpp._ggml import libggml as ggml

    ggml.ggml_backend_dev_by_type.restype = ctypes.c_void_p
    ggml.ggml_backend_dev_by_type.argtypes = [ctypes.c_int]
    ggml.ggml_backend_dev_backend_reg.restype = ctypes.c_void_p
    ggml.ggml_backend_dev_backend_reg.argtypes = [ctypes.c_void_p]
    ggml.ggml_backend_reg_get_proc_address.restype = ctypes.c_void_p
    ggml.ggml_backend_reg_get_proc_address.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    ggml.ggml_backend_buft_name.restype = ctypes.c_char_p
    ggml.ggml_backend_buft_name.argtypes = [ctypes.c_void_p]
    device = ggml.ggml_backend_dev_by_type(_CPU_DEVICE)
    if not device:
        return None, []
    registry = ggml.ggml_backend_dev_backend_reg(device)
    address = ggml.ggml_backend_reg_get_proc_address(registry, b"ggml_backend_dev_get_extra_bufts")
    if not address:
        return None, []
    table = ctypes.CFUNCTYPE(ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p)(address)(device)
    if not table:
        return None, []
    layouts: list[tuple[str, int]] = []
    while table[len(layouts)]:
        pointer = table[len(layouts)]
        layouts.append((ggml.ggml_backend_buft_name(pointer).decode(), pointer))
    return table, layouts
