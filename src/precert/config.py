"""Settings from the environment (``PRECERT_*``), with embedded defaults that need no servers."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the data lives and where the servers listen."""

    model_config = SettingsConfigDict(env_prefix="PRECERT_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{Path('var') / 'precert.db'}",
        description="SQLAlchemy URL; sqlite:///var/precert.db by default, or postgresql+psycopg://",
    )
    redis_url: str | None = Field(default=None, description="Redis URL for the multi-node queue")
    host: str = "127.0.0.1"
    port: int = 8000
    sandbox_port: int = 8001
    sandbox_database_url: str = Field(
        default=f"sqlite:///{Path('var') / 'sandbox.db'}",
        description="The sandbox payer's own store (never precert's database)",
    )
    public_url: str | None = Field(
        default=None,
        description="precert's URL as payers reach it, for rest-hook notifications; "
        "http://HOST:PORT when unset",
    )
    max_body_bytes: int = 1024 * 1024
    json_logs: bool = False
    secret_key: str | None = Field(
        default=None, description="Signs UI session cookies; generated into var/ when unset"
    )
