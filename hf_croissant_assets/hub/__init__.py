"""The Hub client (aiohttp: listing, Croissant, retries) and its rate-limit pacer."""
