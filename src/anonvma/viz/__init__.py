"""Pictures of the model's state, and of runs as timelines."""
