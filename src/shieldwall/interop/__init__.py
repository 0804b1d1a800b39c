"""Speaking other projects' protocols, so their tools can join an alliance."""
