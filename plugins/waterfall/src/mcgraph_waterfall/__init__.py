"""The waterfall methodology for mcgraph.

Phases (requirements, design, build, test, deploy, then closed) run in order; a phase
is closed by a milestone (``setPhaseMilestone``) whose tasks are the phase's, and the
next phase starts when they are done and the milestone is signed off. Tasks do not
start before their finish-to-start predecessors are done. Health adds earned value
(``WATERFALL_SPI``, ``WATERFALL_CPI``); ``Project.phases`` and ``Project.earnedValue``
show them.
"""
