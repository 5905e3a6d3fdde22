"""Where the CJK font for PDFs comes from.

fpdf2 embeds (a subset of) a TrueType font, so the PDF reads the same on any machine; it
needs a font file with the Chinese glyphs. Packages ship them: Debian's fonts-wqy-zenhei and
fonts-noto-cjk (the browser tests install the first). ``GOVCRED_PDF_FONT`` names another
file; otherwise the known package paths are tried, then fontconfig (``fc-match``). Without
one a clear configuration error says what to install -- never a PDF of empty boxes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from govcred.core.exceptions import ConfigError

#: (file, index of the face in a collection) from the Debian packages, in order of preference
PACKAGED = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # the SC face
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
)


def cjk_font() -> tuple[Path, int]:
    """``(font file, face index)`` of a font with Chinese glyphs; ConfigError when none."""
    named = os.environ.get("GOVCRED_PDF_FONT")
    if named:
        if not Path(named).is_file():
            raise ConfigError(f"GOVCRED_PDF_FONT={named}: no such font file")
        return Path(named), 0
    for path, index in PACKAGED:
        if Path(path).is_file():
            return Path(path), index
    fc_match = shutil.which("fc-match")
    if fc_match:
        found = subprocess.run(
            [fc_match, "-f", "%{file}", "WenQuanYi Zen Hei:lang=zh-cn"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if found and Path(found).is_file() and found.endswith((".ttf", ".ttc", ".otf")):
            return Path(found), 0
    raise ConfigError(
        "PDFs need a Chinese font: install the Debian package fonts-wqy-zenhei "
        "(apt-get install fonts-wqy-zenhei) or set GOVCRED_PDF_FONT to a .ttf/.ttc file"
    )
