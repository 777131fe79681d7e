"""`python -m hf_croissant_assets_tests.browser`: the test suite's one system need.

The UI test drives Debian's Chromium through Playwright (no browser download is possible or
wanted). On a fresh machine this installs it with apt-get when we are root; the README's test
command runs it before pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def ensure_chromium() -> None:
    if (
        os.environ.get("HF_CROISSANT_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    ):
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        print("installing Debian's chromium for the UI test (apt-get)...", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
            check=True,
            env=env,
        )
    else:
        print(
            "chromium is not installed and this is not a root Debian shell: install it "
            "(e.g. `sudo apt-get install chromium`) or set HF_CROISSANT_CHROMIUM; the UI test "
            "will fail without it",
            file=sys.stderr,
        )


def main() -> int:
    ensure_chromium()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
