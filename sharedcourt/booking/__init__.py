"""Booking: mediation slots from opening hours and holidays, bookings, reminders."""
