"""Sharing the lake on the Hub: publishing each day, bootstrapping a new lake from it."""
