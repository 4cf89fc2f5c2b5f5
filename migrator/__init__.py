"""migrator: move a fleet of forked Helm charts onto one central chart."""

__version__ = "0.1.0"
