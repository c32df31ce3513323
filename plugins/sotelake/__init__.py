"""sote-lake: the library behind the DAGs.

The sub-packages follow the data flow: ``demo`` (a county's source systems, generated),
``sources`` (the source registry and readers), ``privacy`` (henkilötunnus checks and
pseudonyms), ``lake`` (raw zone, quarantine, load audit), ``quality`` (Great Expectations
suites and the steward report), ``transform`` (dbt) and ``publish`` (reports).
"""

from sotelake.withholding import install_log_withholding

# Every log record of a process that uses the library is withheld as it is made (no password,
# no henkilötunnus: sotelake.withholding), whichever logger made it and wherever it is written.
install_log_withholding()
