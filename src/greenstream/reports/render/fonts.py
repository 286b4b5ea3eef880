"""The CJK font a Chinese report needs (Debian ``fonts-noto-cjk`` or ``fonts-wqy-microhei``).

Without one, Chinese text would render as empty boxes ("tofu"), so a Chinese report refuses to
render and says what to install (``make report-deps`` installs it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from greenstream.errors import GreenstreamError

FONT_DIRS: Final = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
CJK_PATTERNS: Final = ("NotoSansCJK*", "NotoSerifCJK*", "wqy-microhei*", "wqy-zenhei*")


class MissingFont(GreenstreamError):
    """No CJK font is installed, so Chinese text cannot render."""


def cjk_font_files() -> list[Path]:
    """Installed CJK font files, in preference order."""
    found: list[Path] = []
    for pattern in CJK_PATTERNS:
        for base in FONT_DIRS:
            if base.is_dir():
                found += sorted(base.rglob(pattern))
    return found


def require_cjk_fonts() -> list[Path]:
    """The directories holding a CJK font; :class:`MissingFont` when there is none."""
    files = cjk_font_files()
    if not files:
        raise MissingFont(
            "no CJK font installed: a Chinese report needs one (Debian: apt-get install "
            "fonts-noto-cjk, or run 'make report-deps')"
        )
    return sorted({f.parent for f in files})
