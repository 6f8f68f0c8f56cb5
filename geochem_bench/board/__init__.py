"""From records to the public board: aggregation, leaderboard, rendering, Hub, citations."""
