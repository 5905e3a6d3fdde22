"""Project-specific test setup. The generic fixtures (databases on SQLite and PostgreSQL,
settings, runtimes, the app, the outbox inspector, Redis, Chromium) come from the test kit,
:mod:`govcred.testing`, which pytest loads through its ``pytest11`` entry point; helpers for
code outside fixtures are imported from ``govcred.testing`` too.

The kit registers govcred's built-in plugins explicitly, so this suite does not change
when another plugin (``examples/qingtian_extra_rule``, say) is installed next to govcred.
"""

from __future__ import annotations

# pytester: the kit's own tests (tests/testing/) run small pytest sessions against it.
pytest_plugins = ["pytester"]
