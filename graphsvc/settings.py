"""Runtime configuration, read from ``GRAPHSVC_*`` environment variables.

Use :func:`get_settings` everywhere; tests and the demo replace it with :func:`use_settings`.
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from graphsvc.errors import ConfigurationError

MIN_KEY_LENGTH = 32


class Role(StrEnum):
    """What a caller of the API may do (``graphsvc.api.security.ROLE_MATRIX``)."""

    UNDERWRITER = "underwriter"
    INVESTIGATOR = "investigator"
    COLLECTOR = "collector"
    ADMIN = "admin"


class ApiKey(BaseModel):
    """Who holds an API key: a name for the audit trail and a role."""

    name: str = Field(min_length=1, max_length=64)
    role: Role


class Settings(BaseSettings):
    """All settings; every field can be set as ``GRAPHSVC_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="GRAPHSVC_", extra="ignore")

    hmac_key: SecretStr | None = Field(
        default=None,
        description="Secret key for identity-number tokens (HMAC-SHA256), at least 32 characters.",
    )
    hmac_key_file: Path | None = Field(
        default=None, description="File holding the HMAC key, used when hmac_key is unset."
    )
    default_region: str = Field(
        default="CN", description="Region assumed for phone numbers written without a country code."
    )
    timezone: str = Field(
        default="UTC", description="Time zone assumed for timestamps written without an offset."
    )
    batch_rows: int = Field(default=1_000_000, ge=1, description="Rows per atomic load batch.")
    bulk_rows: int = Field(default=500_000, ge=1,
                           description="Loads of at least this many rows run in bulk mode (stored keys held "
                                       "in memory, the write-ahead log checkpointed in the background).")
    api_keys: dict[str, ApiKey] = Field(
        default_factory=dict,
        description="API keys by SHA-256 hex digest of the key: {digest: {name, role}} "
                    "(`graphsvc apikey` makes one). Keys themselves are never stored.",
    )
    api_max_body_bytes: int = Field(default=65_536, ge=1024, description="Largest request body (413 above).")
    api_rate_per_second: float = Field(default=500.0, gt=0, description="Requests per second per API key.")
    api_rate_burst: int = Field(default=1_000, ge=1, description="Requests a key may send at once.")
    api_max_nodes: int = Field(default=2_000, ge=10, description="Most nodes one network or path request visits.")
    api_reveal_purposes: list[str] = Field(
        default_factory=lambda: ["collections", "催收"],
        description="X-Purpose values (their first word, any case) under which a collector's skip-trace shows "
                    "the borrower's own numbers in full; other numbers are masked, each revealed on request.")
    backend: Literal["embedded", "neo4j"] = Field(
        default="embedded", description="Store of record: the embedded SQLite file, or Neo4j with GDS.")
    neo4j_uri: str | None = Field(default=None, description="Neo4j address, e.g. neo4j://db.internal:7687.")
    neo4j_user: str = Field(default="neo4j", description="Neo4j user.")
    neo4j_password: SecretStr | None = Field(default=None, description="Neo4j password.")
    neo4j_database: str = Field(default="neo4j", description="Neo4j database name.")
    api_timeout_seconds: float = Field(default=2.0, gt=0, description="Time budget of one traversal request.")
    score_budget_ms: float = Field(
        default=25.0, gt=0, description="Time budget of growing a new applicant's group on score-on-write; past it "
                                        "the answer says neighbourhood.truncated (as past policy.online_group_cap).")

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        import phonenumbers

        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {value!r}")
        return value

    def identity_key(self) -> bytes:
        """Return the HMAC key, refusing to run without a real one.

        Raises
        ------
        ConfigurationError
            When neither ``GRAPHSVC_HMAC_KEY`` nor a readable key file is set, or the
            key is shorter than 32 characters.
        """
        if self.hmac_key is not None:
            key = self.hmac_key.get_secret_value()
        elif self.hmac_key_file is not None and self.hmac_key_file.exists():
            key = self.hmac_key_file.read_text(encoding="utf-8").strip()
        else:
            raise ConfigurationError(
                "no HMAC key for identity numbers: set GRAPHSVC_HMAC_KEY (32+ characters) "
                "or GRAPHSVC_HMAC_KEY_FILE; only `graphsvc demo` creates a local key by itself"
            )
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigurationError(
                f"the HMAC key must be at least {MIN_KEY_LENGTH} characters, got {len(key)}"
            )
        return key.encode("utf-8")


_current: Settings | None = None


def get_settings() -> Settings:
    """The settings in force: read once from the environment unless replaced."""
    global _current
    if _current is None:
        _current = Settings()
    return _current


def use_settings(settings: Settings | None) -> Settings:
    """Replace the settings in force (tests, the demo); ``None`` re-reads the environment."""
    global _current
    _current = settings
    return get_settings()


def ensure_demo_key(path: Path) -> Path:
    """Create a local demo key file once (mode 0600) and return its path."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path
