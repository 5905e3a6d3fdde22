"""core.web.api.applications."""
