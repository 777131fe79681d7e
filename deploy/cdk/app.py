#!/usr/bin/env python3
"""CDK entry point (`cdk.json`: "app": "python3 app.py").

    cd deploy/cdk
    cdk deploy HfCroissantImage                    # the ECR repository, once
    ../scripts/build.sh && ../scripts/push.sh      # the image (prints its tag)
    cdk deploy HfCroissant -c image_tag=<tag>      # everything else

Settings are CDK context: defaults in cdk.json, overrides with `-c key=value`
(hf_croissant_cdk/config.py lists and validates them).
"""

from __future__ import annotations

import sys

from hf_croissant_cdk.config import ContextError
from hf_croissant_cdk.stack import build_app


def main() -> None:
    try:
        app, _image_stack, _stack = build_app()
    except ContextError as exc:
        print(f"cdk app: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    app.synth()


if __name__ == "__main__":
    main()
