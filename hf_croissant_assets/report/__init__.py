"""The daily report: numbers computed from the lake, and charts drawn from them."""
