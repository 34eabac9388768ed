"""The router's use cases: route scored leads, retry waiting ones, keep first-contact SLAs,
close won/lost leads, forget erased ones.

``routing`` decides owners; ``sla`` runs the clocks (contacts, warnings, breaches,
reassignment); ``source`` says which routing config version a decision uses; ``config``
changes the routing config (admin API, file reload, rollback); ``events`` is the consumer's
batch handler, ending with ``HANDLERS``, the table of what the router reacts to.
"""
