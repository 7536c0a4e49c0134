"""Settings of the service API: token lifetimes, lockout, limits. Secrets are never stored here.

Values come from the environment (``CITYBRAIN_API_...``) or are passed to ``create_app`` by tests.
The JWT signing key is read from the environment variable that ``signing_key_env`` names; when it is
unset, a key is generated once per workspace into ``<workspace>/.secrets/`` (mode 0600), beside the
ops database and outside every lake zone.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYBRAIN_API_", frozen=True, extra="ignore")

    # Authentication
    signing_key_env: str = "CITYBRAIN_API_SIGNING_KEY"
    access_token_minutes: int = Field(15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(7, ge=1, le=90)
    lockout_attempts: int = Field(5, ge=1, le=100)
    lockout_minutes: int = Field(15, ge=1, le=24 * 60)
    # How long a verified API key or token's user is remembered in this process. Disabling a user
    # through the API takes effect at once; through the CLI (another process) within this time.
    auth_cache_seconds: float = Field(5.0, ge=0, le=300)
    # Unmasking
    unmask_max_minutes: int = Field(60, ge=1, le=24 * 60)
    # Hostile input
    max_body_bytes: int = Field(1_048_576, ge=1024)
    rate_limit_per_second: float = Field(50.0, gt=0)
    rate_limit_burst: int = Field(200, ge=1)
    rate_limit_enabled: bool = True
