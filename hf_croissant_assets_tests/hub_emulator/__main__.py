"""`python -m hf_croissant_assets_tests.hub_emulator`: see `cli`."""

import sys

from hf_croissant_assets_tests.hub_emulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
