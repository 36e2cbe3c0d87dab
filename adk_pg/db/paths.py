"""Where the bundled SQL lives: inside the package in a wheel, at the repo root in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # adk_pg/


def resource_dir(name: str) -> Path:
    """Return the directory ``sql`` or ``migrations``.

    A wheel carries them inside the package (``adk_pg/sql``); a source checkout or an
    editable install keeps them at the repository root, next to the package.

    Raises:
        FileNotFoundError: neither location exists (a broken installation).
    """
    for candidate in (_PACKAGE_DIR / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"adk-pg cannot find its {name}/ directory next to {_PACKAGE_DIR}")
