"""A day of the pipeline without Airflow, for the tests of daily builds."""

from datetime import date

KEY = b"c" * 32  # the tests' pseudonymisation key


def daily_run(settings, day: date, changed_only: bool = True) -> dict:
    """Every load of ``day``, their validation and the build (of what they changed, when
    ``changed_only`` and the previous build allows it; else everything)."""
    from sotelake import pipeline

    planned = pipeline.plan_loads(day, settings)
    loads = [pipeline.extract(load, KEY, settings=settings) for load in planned]
    checked = pipeline.validate(planned, loads, f"run-{day}", settings)
    changed = checked["changed"] if changed_only else None
    return pipeline.transform(f"run-{day}", checked["held_back"], day, settings, changed=changed)
