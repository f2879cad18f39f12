"""Pictures of the model's state."""
