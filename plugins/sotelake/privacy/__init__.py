"""Privacy by design: henkilötunnus checks, keyed pseudonyms, small-cell suppression."""
