"""Settings, read from CLOUDPOS_* environment variables (and a `.env` file if present)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"


def normalize_db_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLOUDPOS_", env_file=".env", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{VAR / 'cloudpos.db'}")
    redis_url: str | None = None
    # Scheduled jobs inside `cloudpos serve`: by default yes without Redis (embedded), no with it (cloud mode
    # runs `cloudpos worker` once per deployment instead)
    run_jobs: bool | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # how customers' phones reach this server (e-receipt QR codes); default http://host:port
    secret_key: str = ""
    var_dir: Path = VAR
    default_locale: str = "zh_CN"
    default_timezone: str = "Asia/Shanghai"
    # Sessions / tokens
    session_idle_minutes: int = 120
    session_absolute_hours: int = 12
    # Login lockout
    lockout_threshold: int = 5
    lockout_window_minutes: int = 15
    lockout_minutes: int = 15
    # argon2id (OWASP minimum: m=19 MiB, t=2, p=1)
    argon2_memory_kib: int = 19456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    # Requests
    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 50_000_000
    cookie_secure: bool = False
    log_json: bool = True
    # FastAPI's OpenTelemetry spans, metrics and logs, to the globally configured providers (e.g. run under
    # `opentelemetry-instrument`). Off by default: with no SDK set up, asking every request cost ~3 % of a scan.
    opentelemetry: bool = False

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def db_url(self) -> str:
        return normalize_db_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    def resolved_secret(self) -> str:
        """The signing secret: from the environment, else a random one kept in var/secret.key."""
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
