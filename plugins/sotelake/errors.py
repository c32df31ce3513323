"""Errors that a retry cannot fix: a wrong setting, a changed delivery, a rejected batch.

Airflow tasks fail at once on these (sotelake.airflow_retries), and so does the command line;
anything else (a database that refused the connection, a lock held by another process, a full
disk) may heal, and is retried.
"""

from __future__ import annotations


class PermanentError(RuntimeError):
    """Fix the configuration, the delivery or the data, then re-run or replay."""


class ConfigurationError(PermanentError):
    """A setting is missing or wrong; the message says which and how to fix it."""


# Errors of the standard library that no retry heals: a file or folder that is not there, or
# that this process may not read (a source database deleted or never copied, a key file in the
# wrong place). A refused connection (ConnectionError) or a lock is not among them.
PERMANENT_OS_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)


def is_permanent(error: BaseException) -> bool:
    """Whether ``error`` (or the error it was raised from) is one that no retry can fix."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, (PermanentError, *PERMANENT_OS_ERRORS)):
            return True
        seen.add(id(error))
        error = error.__cause__
    return False
