"""The queue every job's voting, start and follow-up tasks go to (each engine has its own: engines.registry)."""

COMBINE_QUEUE = "combine"
