"""``leadflow bench``: measure throughput, latency and CPU of a running Leadflow.

Modules: :mod:`run` (the command), :mod:`target` (the embedded stack or an external one),
:mod:`load` and :mod:`client` (the load generator), :mod:`collect` (the topic reader),
:mod:`outcomes` and :mod:`stats` (pure figures), :mod:`scenarios` (one scenario end to end),
:mod:`ceilings` (the machine's own limits), :mod:`resources` (CPU and memory from /proc),
:mod:`receiver` (the webhook receiver) and :mod:`report` (tables and JSON).
See docs/performance.md for the method.
"""
