"""WSGI entry point for any WSGI server: ``gunicorn 'govcred.core.web.wsgi:app'``.

Settings come from the environment as for every command (``GOVCRED_DATA_DIR``,
``GOVCRED_DATABASE_URL``, ...). The app serves requests only: under another server, run the
jobs yourself (``govcred worker`` processes and ``govcred lifecycle sweep`` from a timer; both
take the same leases as ``govcred serve``), or use ``govcred serve``, which runs gunicorn with
the jobs thread in every worker. Load it in each worker (no ``--preload``): a database
connection must not cross a fork.
"""

import sys

from govcred.core.exceptions import ConfigError
from govcred.core.web import create_app

#: gunicorn's own status for "the application could not be loaded": its master then stops
#: with "App failed to load" instead of booting worker after worker into the same refusal
APP_LOAD_ERROR = 4

try:
    app = create_app()
except ConfigError as exc:
    # the operator reads what to fix, not a traceback ending in it
    print(f"配置错误 (configuration error): {exc.message}", file=sys.stderr, flush=True)
    raise SystemExit(APP_LOAD_ERROR) from None
