"""WSGI entry point for gunicorn: ``gunicorn 'govcred.verifier.wsgi:app'`` with GOVCRED_VERIFIER_TRUST set.

Each worker builds its own app (no --preload), so each has its own refresh thread.
"""

from govcred.verifier.app import create_app

app = create_app()
