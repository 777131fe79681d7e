"""Fetching the day: the resumable listing crawl, the incremental Croissant plan and crawl."""
