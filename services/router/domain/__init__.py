"""Routing rules, pure: which queue a lead belongs to and which rep takes it.

``model`` holds the frozen values (config and workload), ``availability`` whether a rep can
work now and the rep's working time ahead, ``rules`` the rule match, ``strategies`` the
per-queue rep choice, ``routing`` the whole decision with nurture and fallback queues,
``owners`` the existing-owner match (an account's leads go to the rep who works it),
``sla`` the first-contact deadlines and clocks, ``reassignment`` what follows a breach,
``load`` open leads weighed by bucket and the day/week/month counts behind the caps,
``fairness`` the ledger that turns a rep's record into the share multiplier strategies read.
Nothing here does I/O or reads the clock: callers pass ``now`` (aware, UTC), the reps'
loads, the queues' cursors and any new ids.
"""
