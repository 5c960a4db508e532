"""Alembic environment: the engine comes from migrate.alembic_config, never from an ini file."""

from alembic import context

from paperscope.store.schema import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
