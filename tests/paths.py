"""Where the tests find the repository's own files, whatever folder a test module sits in."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
EVENTS = REPO_ROOT / "events"
LAYER_PACKAGE = REPO_ROOT / "layers/common/sf_bigtime"
