"""Where the shared page look lives: the base templates and the CSS/JavaScript.

The issuer's pages and the standalone verifier's page share one look; the verifier finds
the files here (the one web module it may import) rather than through the issuer app.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent

#: Jinja templates (``base.html``, ``verify/page.html``, the issuer's pages).
TEMPLATES = _HERE / "templates"
#: ``app.css`` and the pages' scripts.
STATIC = _HERE / "static"
