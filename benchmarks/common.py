"""What every benchmark sets up the same way. A benchmark runs from the repository's root as a module
(`python -m benchmarks.NAME`): it imports the installed supportbot (`pip install -e .`), its siblings as
`benchmarks.*`, and this checkout's test fixtures (fake servers, tiny models) as `tests.*`; nothing edits sys.path.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
DATA = Path(__file__).resolve().parent / "data"

# Quiet and offline-friendly, as the `supportbot` command itself: Chroma's telemetry off, no tokenizer fork warnings,
# no download progress bars in measured output. Set before the libraries read them, on import.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
