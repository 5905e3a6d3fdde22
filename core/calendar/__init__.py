"""core.calendar.working."""
