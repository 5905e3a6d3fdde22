"""Core's own hook implementations: fallbacks every other plugin can override (trylast)."""

from __future__ import annotations

from govcred.core.hookspecs import hookimpl


@hookimpl(trylast=True)
def govcred_working_calendar(settings):
    """The State Council holiday table shipped with govcred, plus imported years."""
    from govcred.core.calendar.working import load_calendar

    return load_calendar(settings.data_dir)
