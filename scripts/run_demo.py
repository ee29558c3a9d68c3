"""`make demo`: start the sandbox on a free loopback port, run scripts/demo.py against it,
stop the sandbox, and exit with the demo's status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cflow_async.sandbox import SandboxProcess


def main() -> int:
    demo = Path(__file__).with_name("demo.py")
    with SandboxProcess() as sandbox:
        print(f"sandbox started at {sandbox.url}\n", flush=True)
        env = dict(os.environ)
        env.update(
            CFLOW_BASE_URL=sandbox.url,
            CFLOW_API_KEY=sandbox.api_key,
            CFLOW_USER_KEY=sandbox.user_key,
            CFLOW_USERNAME=sandbox.username,
        )
        code = subprocess.call([sys.executable, str(demo)], env=env)
    print("\nsandbox stopped", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
