"""One Settings object, read from ``MCGRAPH_*`` environment variables and CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///mcgraph.db"
DEVELOPMENT_SECRET_KEY = "mcgraph-development-key-do-not-use-in-production"

CommaList = Annotated[list[str], NoDecode]


class SettingsError(Exception):
    """A setting has a bad value; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MCGRAPH_", extra="forbid", frozen=True)

    env: Literal["development", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    broker_url: str | None = None
    bus_url: str | None = None
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET_KEY)
    secret_key_previous: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Former values of MCGRAPH_SECRET_KEY, comma-separated: stored secrets encrypted with them still decrypt until `mcgraph secrets rotate` re-encrypts them with the current key.",
    )
    allowed_origins: CommaList = Field(default_factory=list)
    plugins: CommaList | None = None
    disable_plugins: CommaList = Field(default_factory=list)
    trace_plugins: bool = Field(default=False, description="Log every plugin hook call, its arguments and its result (pluggy's tracing), for plugin authors.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] | None = None
    max_page_size: int = Field(default=100, ge=1, le=1000)
    # Abuse limits on GraphQL documents (see mcgraph.api.limits).
    max_query_depth: int = Field(default=12, ge=1, description="Deepest nesting of fields in an operation, through fragments; __schema/__type subtrees exempt.")
    max_aliases: int = Field(default=15, ge=0, description="Aliased fields in an operation, counted through fragments.")
    max_tokens: int = Field(default=2000, ge=1, description="Lexical tokens of a GraphQL document; parsing stops past it.")
    max_query_cost: int = Field(default=50_000, ge=1, description="Estimated cost: 1 per field (computed fields such as schedule: their declared cost), times first/last of paginated fields.")
    max_errors: int = Field(default=20, ge=2, description="Errors returned per response; the last one says how many more were left out.")
    max_directives: int = Field(default=5, ge=1, description="Directives on one field, fragment, operation or variable; more refuse the document with one TOO_MANY_DIRECTIVES error.")
    default_page_size: int = Field(default=20, ge=1)
    max_list_items: int = Field(default=1000, ge=1, description="Items of any list in a query's or mutation's arguments (ids, steps, updates...); more are refused with BAD_USER_INPUT before anything runs (mcgraph.api.input_bounds).")
    max_string_length: int = Field(default=100_000, ge=1, description="Characters of any string argument without a smaller bound of its own (descriptions, instructions, comment bodies...); longer ones are refused with BAD_USER_INPUT before anything runs.")
    max_process_steps: int = Field(default=500, ge=1, description="Steps of one process version; more are refused (TOO_LONG). A project made from a process gets one task per step.")
    max_request_bytes: int = Field(default=1_048_576, ge=1, description="Largest GraphQL POST body; larger ones are refused with 413.")
    max_query_string_bytes: int = Field(default=8192, ge=1, description="Longest GraphQL GET query string; longer ones are refused with 414.")
    max_json_depth: int = Field(default=64, ge=2, le=512, description="Deepest nesting of arrays and objects in a request's JSON (POST body, GET variables and extensions, WebSocket messages) and in a document's list and object values; deeper is refused.")
    max_execution_seconds: float = Field(default=30.0, ge=0, description="A query or mutation still running after this long is stopped and answered with TIMEOUT; 0: no limit.")
    rate_limit_requests_per_minute: int = Field(default=1200, ge=0, description="Queries and mutations one token (without a token: one client address) may send per minute; 0: no limit.")
    rate_limit_cost_per_minute: int = Field(default=1_000_000, ge=0, description="Estimated query cost (as for MCGRAPH_MAX_QUERY_COST) one token may spend per minute; 0: no limit.")
    rate_limit_url: str | None = Field(default=None, description="Redis that keeps the rate-limit counters, shared by every API process; default: the Redis of MCGRAPH_BUS_URL or MCGRAPH_BROKER_URL, else each process counts alone.")
    idempotency_ttl_seconds: int = Field(default=86_400, ge=1, description="How long the answer to a mutation sent with an Idempotency-Key is kept for replay.")
    default_methodology: str = "simple"
    health_sweep_seconds: float = Field(default=300.0, ge=0, description="0 turns the in-process sweep off.")
    schedule_seconds: float = Field(default=30.0, ge=0, description="How often scheduled runs are started; 0: off.")
    bus_channel: str = Field(default="mcgraph", pattern=r"^[a-z][a-z0-9_]{0,62}$", description="Names the bus channel and the automation queue; deployments sharing a Redis, RabbitMQ or PostgreSQL server use different ones.")
    relay_sweep_seconds: float = Field(default=10.0, ge=0, description="How often events left unpublished are published again; 0: only on start.")
    hub_poll_seconds: float = Field(default=5.0, ge=0, description="How often the hub looks for events whose signal was lost; 0: off.")
    response_cache_mb: float = Field(default=64.0, ge=0, description="Memory of each API process for answers to queries, served again while nothing they read changed; 0: off.")
    ws_max_subscriptions: int = Field(default=100, ge=1, description="Operations at once on one WebSocket.")
    ws_queue_size: int = Field(default=256, ge=1, description="Messages waiting to be sent on one WebSocket before its client counts as too slow.")
    ws_queue_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, description="Bytes of subscription results waiting to be sent on one WebSocket before its client counts as too slow.")
    ws_credential_check_seconds: float = Field(default=5.0, ge=0, description="How often every open WebSocket's token is checked again, so that an idle one whose token was revoked, expired or lost its member is closed (operations and results check it anyway); 0: off.")
    ws_keep_alive_seconds: float = Field(default=15.0, gt=0)
    ws_compression: bool = Field(default=False, description="Offer permessage-deflate on WebSockets: each socket keeps its own zlib state (tens of KB) and compresses its own copy of every message.")
    subscription_buffer: int = Field(default=10_000, ge=1, description="Events one live subscription may have waiting before it is ended with a resume cursor.")
    automation_max_attempts: int = Field(default=5, ge=1, le=50, description="Attempts of an automation run before it is DEAD.")
    automation_retry_seconds: float = Field(default=2.0, gt=0, description="First retry delay; each next one doubles, up to an hour.")
    automation_max_depth: int = Field(default=5, ge=1, le=50, description="How long a chain of automations (one triggering the next) may grow.")
    automation_sweep_seconds: float = Field(default=15.0, ge=0, description="How often runs left queued or due for a retry are sent again; 0: off.")
    automation_stuck_seconds: float = Field(default=300.0, gt=0, description="A run RUNNING this long is taken for abandoned by a dead worker and tried again.")
    expression_max_steps: int = Field(default=250_000, ge=1_000, description="Steps one evaluation of an automation rule may take: its condition and all its templates together (a step is about a microsecond of CPU); past it the evaluation stops with EXPRESSION_TOO_COSTLY, and a rule whose worst case is over it is refused when saved.")
    shutdown_seconds: float = Field(default=30.0, gt=0, description="How long a stopping process lets in-flight requests and running automations finish before it cuts them short.")
    worker_threads: int = Field(default=2, ge=1, le=64, description="Worker threads of the in-process broker and of each `mcgraph worker`.")
    webhook_allow: CommaList = Field(default_factory=list, description="Hosts, addresses or networks webhooks may reach although not public.")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    hours_per_day: float = Field(default=8.0, gt=0, le=24)
    # Health thresholds of the default rules (see mcgraph.domain.health).
    health_schedule_gap_at_risk: float = Field(default=0.10, ge=0, le=1)
    health_schedule_gap_off_track: float = Field(default=0.25, ge=0, le=1)
    health_overdue_at_risk: int = Field(default=1, ge=1)
    health_overdue_off_track: int = Field(default=5, ge=1)
    health_slip_days_at_risk: float = Field(default=0.0, ge=0)
    health_slip_days_off_track: float = Field(default=5.0, ge=0)
    health_cost_over_at_risk: float = Field(default=0.05, ge=0)
    health_cost_over_off_track: float = Field(default=0.15, ge=0)

    @field_validator("allowed_origins", "plugins", "disable_plugins", "webhook_allow", "secret_key_previous", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "expected a URL starting with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
            raise ValueError("expected a URL starting with redis:// or amqp://, or nothing")
        return value or None

    @field_validator("rate_limit_url")
    @classmethod
    def _known_rate_limit_store(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://")):
            raise ValueError("expected a URL starting with redis://, or nothing")
        return value or None

    @field_validator("bus_url")
    @classmethod
    def _known_bus(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "postgresql://")):
            raise ValueError("expected a URL starting with redis:// or postgresql://, or nothing")
        return value or None

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> Settings:
        if self.env == "production" and (
            self.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY
            or len(self.secret_key.get_secret_value()) < 32
        ):
            raise ValueError(
                "MCGRAPH_SECRET_KEY: expected a random string of at least 32 characters "
                "when MCGRAPH_ENV=production"
            )
        if self.default_page_size > self.max_page_size:
            raise ValueError(
                "MCGRAPH_DEFAULT_PAGE_SIZE: expected a number no larger than MCGRAPH_MAX_PAGE_SIZE"
            )
        for rule in ("schedule_gap", "overdue", "slip_days", "cost_over"):
            if getattr(self, f"health_{rule}_at_risk") > getattr(self, f"health_{rule}_off_track"):
                raise ValueError(
                    f"MCGRAPH_HEALTH_{rule.upper()}_AT_RISK: expected a number no larger than "
                    f"MCGRAPH_HEALTH_{rule.upper()}_OFF_TRACK"
                )
        if 0 < self.rate_limit_cost_per_minute < self.max_query_cost:
            raise ValueError(
                "MCGRAPH_RATE_LIMIT_COST_PER_MINUTE: expected 0 or a number no smaller than MCGRAPH_MAX_QUERY_COST"
            )
        return self

    @property
    def rate_limit_store(self) -> str | None:
        """The Redis URL the rate-limit counters live in; None: in this process."""
        if self.rate_limit_url:
            return self.rate_limit_url
        for url in (self.bus_url, self.broker_url):
            if url and url.startswith(("redis://", "rediss://")):
                return url
        return None

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1].split("?", 1)[0]
        return None if path in ("", ":memory:") else Path(path)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with ``overrides`` (CLI flags) on top.

    Raises :class:`SettingsError` with one line naming the variable and what it expected.
    """
    clean = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        raise SettingsError(_first_problem(exc)) from None


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = [str(part) for part in error.get("loc", ()) if part != "__root__"]
    message = error["msg"].removeprefix("Value error, ")
    if not location:
        return message
    variable = "MCGRAPH_" + location[0].upper()
    value = error.get("input")
    shown = "" if isinstance(value, dict) or value is None else f" (got {value!r})"
    return f"{variable}: {message}{shown}"
