"""Sites: the gazetteer of places, the registry of Shared Court sites, nearest-site search."""
