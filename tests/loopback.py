"""Moved to tests/servers.py (the one module of raw test servers); kept so branches that
still ``import loopback`` go on working until they are merged."""

from servers import FAST, KINDS, WORKFLOWS, Loopback, Reply, Seen, make_client, threaded

__all__ = ["FAST", "KINDS", "WORKFLOWS", "Loopback", "Reply", "Seen", "make_client", "threaded"]
