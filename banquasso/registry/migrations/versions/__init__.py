"""Alembic revision scripts of the advance registry."""
