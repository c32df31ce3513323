"""Source systems: the registry of what to extract and the readers that extract it."""
