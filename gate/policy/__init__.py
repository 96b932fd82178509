"""What the user wrote: the policy model, its loader and units, and the JSON Schema."""
