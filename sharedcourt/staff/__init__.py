"""Staff accounts: people, their roles and scopes, console sessions and the audit log (issue 12)."""
