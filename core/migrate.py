"""Alembic, driven from code: core's revisions plus one branch per plugin that has tables.

``govcred init`` and ``govcred db upgrade`` call :func:`upgrade`; there is no alembic.ini
to keep in step with the settings.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from govcred.core.orm import metadata as core_metadata

MIGRATIONS = Path(__file__).parent / "migrations"


def plugin_sources(pm) -> list:
    return [src for src in pm.hook.govcred_migrations() if src is not None]


def alembic_config(engine: sa.engine.Engine, pm) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    locations = [str(MIGRATIONS / "versions")] + [str(src.directory) for src in plugin_sources(pm)]
    cfg.set_main_option("version_locations", " ".join(locations))
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["engine"] = engine
    cfg.attributes["target_metadata"] = target_metadata(pm)
    return cfg


def target_metadata(pm) -> list[sa.MetaData]:
    return [core_metadata] + [src.metadata for src in plugin_sources(pm)]


def upgrade(engine: sa.engine.Engine, pm, revision: str = "heads") -> None:
    command.upgrade(alembic_config(engine, pm), revision)


def current_heads(engine: sa.engine.Engine, pm) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def script_heads(engine: sa.engine.Engine, pm) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(engine, pm)).get_heads())


def check_revision(engine: sa.engine.Engine, pm, revision: str) -> None:
    """:class:`govcred.core.exceptions.ConfigError` naming the known revisions unless ``revision``
    is one of them (or ``base``): asked before anyone is asked to confirm a downgrade."""
    from govcred.core.exceptions import ConfigError

    known = [r.revision for r in ScriptDirectory.from_config(alembic_config(engine, pm)).walk_revisions()]
    if revision != "base" and revision not in known:
        raise ConfigError(f"没有迁移版本 {revision} (unknown revision; known: {', '.join(sorted(known))}, base)")


def downgrade(engine: sa.engine.Engine, pm, revision: str) -> None:
    """Take the schema back to ``revision`` (what each revision's ``downgrade`` keeps of the rows);
    a revision Alembic does not know raises :class:`govcred.core.exceptions.ConfigError`."""
    from alembic.util import CommandError

    from govcred.core.exceptions import ConfigError

    cfg = alembic_config(engine, pm)
    check_revision(engine, pm, revision)
    try:
        command.downgrade(cfg, revision)
    except CommandError as exc:
        raise ConfigError(f"不能降级到 {revision} (cannot downgrade): {exc}") from exc
