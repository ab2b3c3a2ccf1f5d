"""The repository speaks for itself: it cites only documents it contains."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A design document kept outside the repository, cited by its file name or as "the design's"
# (upper case), which a reader of the repository cannot open.
OUTSIDE = re.compile("DESIGN" + r"(\.md\b|'s\b)")


def test_no_file_cites_a_design_document_outside_the_repository() -> None:
    """Docs and tests point to the project's own docs, never to a file a reader cannot open."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    citing = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in {".py", ".md", ".yml", ".yaml", ".toml", ".txt"}:
            continue
        if OUTSIDE.search(path.read_text(encoding="utf-8", errors="replace")):
            citing.append(name)
    assert citing == []
