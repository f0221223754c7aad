"""Health reasons from earned value: ``WATERFALL_SPI`` and ``WATERFALL_CPI``.

An index strictly below its off-track threshold is OFF_TRACK, else strictly below its
at-risk threshold AT_RISK, else no reason. The thresholds are settings
(``MCGRAPH_WATERFALL_SPI_AT_RISK``, ``..._SPI_OFF_TRACK``, ``..._CPI_AT_RISK``,
``..._CPI_OFF_TRACK``; 0.9 and 0.8 unless set). A reason's ``value`` is the index and its
``threshold`` the one crossed. The reasons join mcgraph's default ones; the report's
health is the worst of them all.
"""

from __future__ import annotations

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mcgraph.plugins import Health, HealthReason, HealthReport

from mcgraph_waterfall.evm import EarnedValue


class WaterfallSettings(BaseSettings):
    """Where the performance indices turn a project at risk, then off track.

    An index strictly below a threshold crosses it.
    """

    model_config = SettingsConfigDict(env_prefix="MCGRAPH_WATERFALL_")

    spi_at_risk: float = 0.9
    spi_off_track: float = 0.8
    cpi_at_risk: float = 0.9
    cpi_off_track: float = 0.8

    @model_validator(mode="after")
    def _ordered(self) -> WaterfallSettings:
        for index in ("spi", "cpi"):
            if getattr(self, f"{index}_off_track") > getattr(self, f"{index}_at_risk"):
                raise ValueError(f"{index}_off_track must not be above {index}_at_risk")
        return self


def index_reason(
    code: str, index: float | None, at_risk: float, off_track: float, message: str
) -> HealthReason | None:
    """The reason an index gives, if it crossed a threshold."""
    if index is None:
        return None
    if index < off_track:
        return HealthReason(code, Health.OFF_TRACK, message, index, off_track)
    if index < at_risk:
        return HealthReason(code, Health.AT_RISK, message, index, at_risk)
    return None


def evm_reasons(figures: EarnedValue, settings: WaterfallSettings) -> list[HealthReason]:
    """The SPI and CPI reasons of a project's figures, schedule first."""
    found = [
        index_reason(
            "WATERFALL_SPI",
            figures.spi,
            settings.spi_at_risk,
            settings.spi_off_track,
            f"schedule performance index {figures.spi or 0:.2f}: earned {figures.ev} of {figures.pv} planned",
        ),
        index_reason(
            "WATERFALL_CPI",
            figures.cpi,
            settings.cpi_at_risk,
            settings.cpi_off_track,
            f"cost performance index {figures.cpi or 0:.2f}: earned {figures.ev} for {figures.ac} spent",
        ),
    ]
    return [reason for reason in found if reason is not None]


def with_reasons(default: HealthReport, added: list[HealthReason]) -> HealthReport:
    """``default`` with ``added`` reasons: worst first, ours before the default's at a tie."""
    reasons = sorted([*added, *default.reasons], key=lambda reason: -reason.health.rank)
    worst = max((reason.health for reason in reasons), key=lambda health: health.rank, default=Health.ON_TRACK)
    return HealthReport(worst, reasons)
