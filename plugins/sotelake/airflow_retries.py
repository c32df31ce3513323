"""Which failures Airflow retries: none that cannot heal, and every retry says when it comes.

The DAG's tasks share one retry policy (Airflow's ``retry_policy``, evaluated in the task's
process on the exception itself):

- an error no retry can fix (``sotelake.errors.is_permanent``: a wrong or missing setting or
  secret, a file that is not there, a changed delivery, a rejected batch, a dbt project that
  does not compile or a failing dbt test) fails the task at once, whichever task it is;
- anything else (a refused connection, a lock another process holds, a full disk) is retried
  after the task's own ``retry_delay``, growing by ``retry_exponential_backoff`` up to
  ``max_retry_delay``; the task's log says which try failed and when the next one starts.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from airflow.sdk.definitions.retry_policy import RetryDecision, RetryPolicy

from sotelake.errors import is_permanent

log = logging.getLogger(__name__)


class RetryWhatMayHeal(RetryPolicy):
    """Fail at once on a permanent error; retry anything else, saying when."""

    def __init__(
        self,
        delay: timedelta = timedelta(minutes=2),
        backoff: float = 2.0,
        max_delay: timedelta = timedelta(minutes=30),
    ) -> None:
        # used when Airflow gives no task in the context; the task's own values win
        self.delay, self.backoff, self.max_delay = delay, backoff, max_delay

    def evaluate(self, exception, try_number, max_tries, context=None) -> RetryDecision:
        if is_permanent(exception):
            reason = f"{type(exception).__name__} cannot heal: failed at once, without retries"
            log.error("%s", reason)
            return RetryDecision.fail(reason)
        if try_number > max_tries:  # the last try: Airflow fails the task
            return RetryDecision.default()
        delay = self.next_delay(try_number, (context or {}).get("task"))
        at = datetime.now(UTC) + delay
        reason = (
            f"{type(exception).__name__} may heal: try {try_number} of {max_tries + 1} failed; "
            f"the next starts in {_duration(delay)}, at {at:%Y-%m-%d %H:%M:%S} UTC"
        )
        log.warning("%s", reason)
        return RetryDecision.retry(delay, reason)

    def next_delay(self, try_number: int, task=None) -> timedelta:
        """The wait after try ``try_number`` (1-based) failed."""
        delay = getattr(task, "retry_delay", None) or self.delay
        backoff = getattr(task, "retry_exponential_backoff", None) or self.backoff
        longest = getattr(task, "max_retry_delay", None) or self.max_delay
        if isinstance(delay, int | float):
            delay = timedelta(seconds=delay)
        if isinstance(longest, int | float):
            longest = timedelta(seconds=longest)
        return min(delay * (max(backoff, 1.0) ** (try_number - 1)), longest)


def _duration(delay: timedelta) -> str:
    seconds = int(delay.total_seconds())
    if seconds % 60:
        return f"{seconds} s"
    return f"{seconds // 60} min"
