"""Alembic migrations of the stepauth schema, run by :func:`stepauth.store.open_store`."""
