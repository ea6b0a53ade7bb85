"""Alembic migrations of the advance registry (run by `banquasso.registry.db.upgrade`)."""
