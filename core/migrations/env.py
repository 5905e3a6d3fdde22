"""Alembic environment: the engine and metadata come from ``core.migrate``."""

from alembic import context

config = context.config
engine = config.attributes["engine"]
target_metadata = config.attributes["target_metadata"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()
