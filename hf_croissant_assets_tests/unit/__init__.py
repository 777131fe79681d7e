"""Pure functions: no servers, no subprocesses beyond the interpreter."""
