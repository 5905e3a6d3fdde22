"""core.accounts.officers."""
