"""Alembic environment: the engine and metadata come from ``core.migrate``.

On SQLite, foreign keys are off while migrations run: a batch migration recreates a table
(copy, DROP, rename), and dropping a table that other rows reference fails with "FOREIGN KEY
constraint failed" on a populated database (0004 -> 0003 dropped ``status_lists`` under
``credentials``). SQLite's documented procedure for schema changes is exactly this: turn them
off outside the transaction, migrate, then ``PRAGMA foreign_key_check`` before committing.
"""

from alembic import context

config = context.config
engine = config.attributes["engine"]
target_metadata = config.attributes["target_metadata"]


def _foreign_key_violations(connection) -> list:
    return connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # before the first statement: PRAGMA foreign_keys is a no-op inside a transaction
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite and (violations := _foreign_key_violations(connection)):
                raise RuntimeError(f"the migration left rows that break a foreign key: {violations[:10]}")
        if connection.in_transaction():
            connection.commit()
    finally:
        if sqlite:
            if connection.in_transaction():
                connection.rollback()
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
