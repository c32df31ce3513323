"""Developer and test tooling (not used by the pipeline at run time)."""
