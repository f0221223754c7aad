"""Background work: sweeps and scheduled jobs, later automation rules on Dramatiq."""
