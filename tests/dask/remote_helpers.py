"""Functions a test submits to the cluster in place of the relay (importable on the Dask workers)."""

from __future__ import annotations


def broken_relay(events_name: str, control_name: str) -> None:
    """A relay that fails before doing anything: the host must report the Dask task's error."""
    raise RuntimeError("the relay broke")
