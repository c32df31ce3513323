"""Errors that a retry cannot fix: a wrong setting, a changed delivery, a rejected batch.

Airflow tasks turn these into failures without retries (AirflowFailException); anything else
(a database that did not answer, a full disk) is retried.
"""


class PermanentError(RuntimeError):
    """Fix the configuration, the delivery or the data, then re-run or replay."""
