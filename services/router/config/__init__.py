"""The router's configuration: its environment settings and the ``routing`` section of the
config file (the routing config).

``settings`` holds the ``LEADFLOW_*`` settings; ``model`` the section's pydantic models, its
loader and :func:`~.model.to_domain`, which turns them into the frozen values in
``services.router.domain`` (which never imports pydantic). Every problem is reported at its
key, e.g. ``routing.queues[1].members[0]: unknown rep 'zed'``. A queue's first-contact SLA
block is in ``sla``, reps in ``reps``, existing-owner match in ``owners``, load weights and
the fairness policy in ``fairness``; the JSON form of a version in ``document``, admin
changes in ``changes``; the shared field types and error helpers in ``fields``. Import the
submodule that defines a name; nothing is re-exported here.
"""
