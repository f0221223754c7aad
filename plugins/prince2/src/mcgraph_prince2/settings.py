"""Settings of the PRINCE2 plugin, read from ``MCGRAPH_PRINCE2_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Prince2Settings(BaseSettings):
    """The defaults a project board starts from."""

    model_config = SettingsConfigDict(env_prefix="MCGRAPH_PRINCE2_")

    default_quorum: int = Field(default=2, ge=1, description="Board approvals a stage boundary needs by default.")
    exception_report_days: int = Field(
        default=5, ge=0, description="Days the project manager has to report on an exceeded tolerance."
    )
