"""The lake: raw zone, quarantine and the load audit, all Parquet, partitioned by load date."""
