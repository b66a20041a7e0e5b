"""The store fixtures of tests/store (SQLite, and PostgreSQL on a throw-away cluster)."""

from tests.store.conftest import postgres_cluster, postgres_url, store_url

__all__ = ["postgres_cluster", "postgres_url", "store_url"]
