"""Training: the recipes (every net size, λ and learning rate), the trainer and the profiler."""
