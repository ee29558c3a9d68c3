"""Counting this process's TCP sockets from /proc, to prove no connection is leaked."""

from __future__ import annotations

import os

import pytest


def _own_socket_inodes() -> set[int]:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def tcp_sockets(port: int, *, side: str) -> int:
    """Open TCP sockets of this process to (``side="client"``) or on (``"server"``, listening
    socket excluded) ``port``, from /proc/net/tcp{,6} matched against our own fds."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to count sockets")
    mine = _own_socket_inodes()
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            with open(table) as fh:
                rows = fh.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            fields = row.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
            if inode not in mine or state == "0A":  # 0A: LISTEN
                continue
            address = remote if side == "client" else local
            if int(address.rsplit(":", 1)[1], 16) == port:
                count += 1
    return count
