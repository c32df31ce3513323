"""sote-lake: the library behind the DAGs.

The sub-packages follow the data flow: ``demo`` (a county's source systems, generated),
``sources`` (the source registry and readers), ``privacy`` (henkilötunnus checks and
pseudonyms), ``lake`` (raw zone, quarantine, load audit), ``quality`` (Great Expectations
suites and the steward report), ``transform`` (dbt) and ``publish`` (reports).
"""
