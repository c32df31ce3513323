"""What the tests share: a throwaway PostgreSQL cluster (postgres), a headless Chromium
(chromium), an independent recomputation of the indicators (independent), a daily run of the
pipeline (daily), edits of the demo record system (record_edits), Airflow probe DAGs
(probe_dags) and the OpenLineage schema check (openlineage_events). The tests' folder is on
sys.path (tests/conftest.py), so a test imports them as ``support.<module>``."""

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
FIXTURES = TESTS / "fixtures"
