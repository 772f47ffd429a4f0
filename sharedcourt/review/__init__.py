"""Transcript review for staff (issue 12): search over conversations; the pages and roles build on it."""
