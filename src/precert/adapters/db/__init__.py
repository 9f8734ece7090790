"""SQLAlchemy 2 persistence: one code path for SQLite and PostgreSQL."""
