"""WSGI entry point for any WSGI server: ``gunicorn 'govcred.core.web.wsgi:app'``.

Settings come from the environment as for every command (``GOVCRED_DATA_DIR``,
``GOVCRED_DATABASE_URL``, ...). The app serves requests only: under another server, run the
jobs yourself (``govcred worker`` processes and ``govcred lifecycle sweep`` from a timer; both
take the same leases as ``govcred serve``), or use ``govcred serve``, which runs gunicorn with
the jobs thread in every worker. Load it in each worker (no ``--preload``): a database
connection must not cross a fork.
"""

from govcred.core.web import create_app

app = create_app()
