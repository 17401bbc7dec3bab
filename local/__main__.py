"""``python -m local`` (``make dev``): run the whole system on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import errno
import signal
import sys
import threading
from types import FrameType

from .banner import render_banner
from .config import ConfigError, LocalConfig
from .lambda_runtime import FunctionLoadError
from .stack import LocalStack
from .template_model import TemplateError


def main() -> int:
    try:
        config = LocalConfig.from_environ()
    except ConfigError as error:
        print(f"local stack: {error}", file=sys.stderr)
        return 2
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001 - signal handler signature
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack = LocalStack(config)
    try:
        running = stack.start()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            print(
                f"local stack: a port is in use (PORT={config.port}, AWS_PORT={config.aws_port}): "
                "stop what holds it or choose another, e.g. `make dev PORT=3001`",
                file=sys.stderr,
            )
        else:
            print(f"local stack: could not start: {error}", file=sys.stderr)
        return 1
    except (ConfigError, TemplateError, FunctionLoadError) as error:
        print(f"local stack: could not start: {error}", file=sys.stderr)
        return 1
    if not stopping.is_set():
        print(render_banner(running), flush=True)
        stopping.wait()
    print("local stack: stopping", flush=True)
    stack.stop()
    print("local stack: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
