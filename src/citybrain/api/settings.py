"""Settings of the service API: token lifetimes, lockout, limits, CORS; never secrets.

Values come from the ``[api]`` section of ``citybrain.toml`` (``ApiSettings.for_config``) or are
passed to ``create_app`` by tests; an environment variable ``CITYBRAIN_API_<NAME>`` overrides either
for one run. The JWT signing key is read from the environment variable that ``signing_key_env``
names; when it is unset, a key is generated once per workspace into ``<workspace>/.secrets/``
(mode 0600), beside the ops database and outside every lake zone.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from citybrain.core.config import ApiConfig


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
    # Browsers of these origins may call the API cross-site; empty: no CORS headers at all.
    cors_origins: tuple[str, ...] = ()
    # Audit rows are committed in groups (see AuditWriter), at most this many milliseconds after
    # a group's first row.
    audit_flush_ms: float = Field(5.0, ge=0, le=100)
    # A write always waits for its audit row's commit before it acts, and so does showing personal
    # data in clear under an unmask grant. A masked read of personal data answers without waiting
    # unless this is true: its row is committed within audit_flush_ms, and a crash in that window
    # can lose it (a read changes nothing, and the answer was masked). If the audit log cannot be
    # written, reads are refused as well.
    audit_wait_reads: bool = False
    # How often an index prebuilt from the lake (credit reports) looks for a newer load.
    index_check_seconds: float = Field(1.0, ge=0, le=3600)
    # Processes ``citybrain serve`` starts.
    workers: int = Field(1, ge=1, le=64)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the workspace file, which arrives as init values.
        return env_settings, init_settings

    @classmethod
    def for_config(cls, config: ApiConfig, **overrides: object) -> ApiSettings:
        """Settings from a workspace's ``[api]`` section (environment still wins)."""
        values: dict[str, object] = config.model_dump()
        values["cors_origins"] = tuple(config.cors_origins)
        return cls.model_validate(values | overrides)
