"""Stage 6: the hub's ordered log of decisions and lifts, pushed to every member."""
