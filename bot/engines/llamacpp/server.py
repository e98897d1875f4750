"""llama.cpp's OpenAI-compatible model server, started with the weight layouts llama.cpp can run on this CPU.

    python -m bot.engines.llamacpp.server --model FILE.gguf [any option of python -m llama_cpp.server]

The model server behind `generator.backend: openai` on a machine without a GPU (deploy/, the tests,
benchmarks/fleet.py). It is `python -m llama_cpp.server`, unchanged, except that its weights never go into
llama.cpp's AMX layout, which segfaults at the first answer on some Sapphire Rapids machines, and that, as the
bot's own llama.cpp engine does, it keeps them in plain buffers on a CPU with AMX (bot/engines/llamacpp/buffers.py says
why). Only llama-cpp-python[server] is needed, not the rest of supportbot.
"""

from __future__ import annotations

import runpy

from bot.engines.llamacpp.buffers import cpu_has_amx, safe_buffers


def main() -> None:
    with safe_buffers(not cpu_has_amx()):
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
