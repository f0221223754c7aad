"""The agile health rules, added to mcgraph's default ones, and their thresholds
(:class:`AgileSettings`, ``MCGRAPH_AGILE_...``).

``AGILE_SCOPE_CREEP``
    The active sprint's points added after its start, as a share of its committed
    points: OFF_TRACK strictly above ``scope_creep_off_track`` (25%), else AT_RISK
    strictly above ``scope_creep_at_risk`` (10%). Needs committed points above zero.
``AGILE_OVERCOMMITTED``
    The active sprint committed strictly more than ``overcommit_ratio`` (1.2) times the
    average completed points of the previous sprints (the last ``velocity_window``):
    AT_RISK. Needs at least one completed sprint. ``value`` is committed / average.
``AGILE_VELOCITY_SHORTFALL``
    The last completed sprint completed strictly less than ``shortfall_ratio`` (0.8)
    of what it committed: AT_RISK. ``value`` is completed / committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mcgraph.plugins import Health, HealthReason, HealthReport

TOLERANCE = 1e-9


class AgileSettings(BaseSettings):
    """Thresholds of the agile health rules; shares are fractions (0.1 for 10%)."""

    model_config = SettingsConfigDict(env_prefix="MCGRAPH_AGILE_")

    scope_creep_at_risk: float = Field(0.10, ge=0, description="Scope added / committed above which a sprint is at risk.")
    scope_creep_off_track: float = Field(0.25, ge=0, description="Scope added / committed above which it is off track.")
    overcommit_ratio: float = Field(1.2, gt=0, description="Committed / average velocity above which a sprint is overcommitted.")
    shortfall_ratio: float = Field(0.8, gt=0, description="Completed / committed below which a sprint fell short.")
    velocity_window: int = Field(3, ge=1, description="How many completed sprints the average velocity covers.")


@dataclass(frozen=True, slots=True)
class SprintFigures:
    """What the rules read: the active sprint's commitment and added scope, and the
    committed and completed points of completed sprints, oldest first."""

    active_committed: float | None
    active_scope_added: float
    completed: Sequence[tuple[float, float]]  # (committed, completed) per completed sprint


def scope_creep(committed: float | None, added: float, settings: AgileSettings) -> HealthReason | None:
    if not committed or committed <= 0:
        return None
    share = added / committed
    if share > settings.scope_creep_off_track + TOLERANCE:
        health, threshold = Health.OFF_TRACK, settings.scope_creep_off_track
    elif share > settings.scope_creep_at_risk + TOLERANCE:
        health, threshold = Health.AT_RISK, settings.scope_creep_at_risk
    else:
        return None
    message = f"scope grew {share:.0%} since the sprint started ({added:g} of {committed:g} points)"
    return HealthReason("AGILE_SCOPE_CREEP", health, message, share, threshold)


def overcommitment(committed: float | None, previous: Sequence[float], settings: AgileSettings) -> HealthReason | None:
    window = list(previous[-settings.velocity_window :])
    if committed is None or not window:
        return None
    average = sum(window) / len(window)
    if average <= 0:
        return None
    ratio = committed / average
    if ratio <= settings.overcommit_ratio + TOLERANCE:
        return None
    message = f"the sprint commits {committed:g} points, {ratio:.1f}x the average velocity of {average:g}"
    return HealthReason("AGILE_OVERCOMMITTED", Health.AT_RISK, message, ratio, settings.overcommit_ratio)


def shortfall(committed: float | None, completed: float | None, settings: AgileSettings) -> HealthReason | None:
    if not committed or committed <= 0 or completed is None:
        return None
    ratio = completed / committed
    if ratio >= settings.shortfall_ratio - TOLERANCE:
        return None
    message = f"the last sprint completed {completed:g} of {committed:g} committed points ({ratio:.0%})"
    return HealthReason("AGILE_VELOCITY_SHORTFALL", Health.AT_RISK, message, ratio, settings.shortfall_ratio)


def agile_reasons(figures: SprintFigures, settings: AgileSettings) -> list[HealthReason]:
    """The agile reasons the figures give, in the order of the module docstring."""
    completed = [done for _, done in figures.completed]
    last = figures.completed[-1] if figures.completed else (None, None)
    found = [
        scope_creep(figures.active_committed, figures.active_scope_added, settings),
        overcommitment(figures.active_committed, completed, settings),
        shortfall(last[0], last[1], settings),
    ]
    return [reason for reason in found if reason is not None]


def combine(reasons: Sequence[HealthReason], default: HealthReport) -> HealthReport:
    """The default report with ``reasons`` added: worst first, health the worst of all."""
    every = sorted([*reasons, *default.reasons], key=lambda reason: -reason.health.rank)
    worst = max([default.health, *(reason.health for reason in every)], key=lambda health: health.rank)
    return HealthReport(worst, every)
