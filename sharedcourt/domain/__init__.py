"""The vocabulary every feature shares: dispute types, the values residents state, and China's clock."""
