"""Stage 4: detections become signed signals, batched in envelopes for the hub."""
