"""Alembic environment: runs against the engine handed over by `bot.db.upgrade`."""

from alembic import context
from sqlmodel import SQLModel

import bot.models  # noqa: F401  (registers every table on the metadata)

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things: batch mode copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
