"""Operating settings: flags, else environment (IVR_*), else a TOML config file, else defaults.

The precedence is the one README "Everyday commands" gives. Flags are applied by the CLI through `load_settings(**overrides)`.
The config file is `$IVR_CONFIG`, else `ivr.toml` in the working directory, if present.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def _config_file() -> Path | None:
    explicit = os.environ.get("IVR_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("ivr.toml")
    return local if local.exists() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IVR_", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: Path.home() / ".local" / "share" / "ivr")
    db_url: str | None = None  # default: sqlite file under data_dir
    vosk_model: Path | None = None  # a model directory; else data_dir/models/<lang>
    agent_uri: str = "sip:agent@127.0.0.1:5090"
    grammars_dir: Path = REPO_ROOT / "grammars"
    # trained understanding models (ivr/classifier.py); keyed by a hash of the example files, so one
    # directory may be shared by several data dirs (e.g. every worker of a host, or a test session)
    model_cache: Path | None = None  # default: data_dir/cache
    prompts_dir: Path = REPO_ROOT / "audio_prompts"
    # ivr serve
    sip: str = "127.0.0.1:5070"
    http: str = "127.0.0.1:8080"
    audiosocket: str | None = None
    sip_workers: int = 1
    # RTP/RTCP ports: worker i (SIP port base+2i) uses sip_rtp_base + i*sip_rtp_span onwards, so
    # workers never collide and a firewall can be written (docs/scale.md)
    sip_rtp_base: int = 10000
    sip_rtp_span: int = 100
    sip_allow: list[str] = Field(default_factory=lambda: ["127.0.0.0/8"])
    # glibc malloc arenas of the SIP workers and their engine hosts (MALLOC_ARENA_MAX in the env they
    # are started with): per-call threads otherwise grow one arena each, kept at its high-water mark
    # (BENCHMARKS.md "Soak").  0 = glibc's default (8 x cores; the environment is left as it is).
    sip_malloc_arena_max: int = Field(default=2, ge=0)
    # an engine host with no call open for this long gives freed heap back to the OS (glibc
    # malloc_trim(0); ivr/transports/sip/engine_host.py IdleTrim); 0 = never
    sip_malloc_trim_idle_s: float = Field(default=3.0, ge=0)
    secret_key: str | None = None  # console session signing; generated into data_dir when unset
    metrics_token: str | None = None  # when set, /metrics needs "Authorization: Bearer <token>"
    http_secure_cookies: bool = False  # behind HTTPS: the console session cookie is sent over TLS only
    # source networks allowed to read /metrics and /openapi.json (docs/console.md: bind them to an
    # internal address); others get 403.  Default: loopback and the private ranges.
    ops_allow: list[str] = Field(
        default_factory=lambda: ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
    )
    login_concurrency: int = Field(default=2, ge=1, le=64)  # argon2 verifications at once (64 MiB each)
    # media transports (/media WebSocket, AudioSocket; ivr/transports/guard.py, docs/telephony.md
    # "Media security"): a shared secret (Bearer / Basic password / signed URL / signed AudioSocket
    # UUID); without it and without media_allow every media connection is refused
    media_token: str | None = None
    media_allow: list[str] = Field(default_factory=list)  # CIDRs trusted without the token (e.g. the PBX)
    media_origins: list[str] = Field(default_factory=list)  # browser Origins allowed on /media (none: no browser)
    media_max_per_source: int = Field(default=32, ge=1)  # open media connections per source address
    media_idle_timeout_s: float = Field(default=5.0, gt=0)  # no message from the peer this long → call ended

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        cfg = _config_file()
        if cfg is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cfg))
        return tuple(sources)

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{self.data_dir / 'ivr.sqlite3'}"

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def model_cache_dir(self) -> Path:
        return self.model_cache or self.cache_dir

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"


def load_settings(**overrides: Any) -> Settings:
    """Settings with CLI flags applied on top (None means 'flag not given')."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**given)


@lru_cache(maxsize=1)
def default_settings() -> Settings:
    return Settings()
