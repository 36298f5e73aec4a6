"""Setup of the artifact parser tests."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# hypothesis, when installed, keeps a cache folder: keep it out of the working tree.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "exhunt-hypothesis")
)
