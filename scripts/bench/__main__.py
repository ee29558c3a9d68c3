"""``python -m scripts.bench`` from the repository root (also ``python scripts/bench``)."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:
    # Run by path: make the repository root importable so `scripts.bench` resolves.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from scripts.bench.runner import main

if __name__ == "__main__":
    sys.exit(main())
