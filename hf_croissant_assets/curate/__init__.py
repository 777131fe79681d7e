"""Raw partitions to curated tables: listing rows, the Croissant parser, the data checks."""
