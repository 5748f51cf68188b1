"""Native code runs in-process: a segfault must fail the run loudly, with a
Python traceback, instead of silently killing the test session."""

import faulthandler

faulthandler.enable()
