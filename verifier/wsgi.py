"""WSGI entry point for gunicorn: ``gunicorn 'govcred.verifier.wsgi:app'`` with GOVCRED_VERIFIER_TRUST set.

Each worker builds its own app (no --preload), so each has its own refresh thread.
"""

import sys

from govcred.core.exceptions import ConfigError
from govcred.verifier.app import create_app

#: gunicorn's status for "the application could not be loaded" (as the issuer's WSGI entry):
#: its master then stops with "App failed to load" instead of booting worker after worker
APP_LOAD_ERROR = 4

try:
    app = create_app()
except ConfigError as exc:
    # the operator reads every problem to fix, one line each, not a traceback ending in one
    problems = exc.details.get("problems") or [exc.message]
    print("配置错误 (configuration error):", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    sys.stderr.flush()
    raise SystemExit(APP_LOAD_ERROR) from None
