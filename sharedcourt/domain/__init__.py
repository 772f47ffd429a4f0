"""The vocabulary every feature shares: dispute types and the values residents state."""
