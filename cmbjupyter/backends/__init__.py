"""Where a worker runs: a local subprocess (default) or a Dask cluster."""
