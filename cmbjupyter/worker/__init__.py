"""Code that runs inside the isolated worker subprocess (``python -m cmbjupyter.worker``).

It imports nothing from Jupyter and nothing from the host side of cmbjupyter: only the standard
library, the event codec and the engine it is told to run.
"""
