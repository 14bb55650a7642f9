"""Alembic environment: always run by ``evaluator.store`` on a connection it has opened and locked."""
from alembic import context

from evaluator.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")  # SQLite alters tables by copying them
with context.begin_transaction():
    context.run_migrations()
