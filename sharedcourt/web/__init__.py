"""Staff web: sign-in check, console, staff APIs, templates and static files."""
