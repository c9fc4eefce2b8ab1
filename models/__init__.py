"""Model loading for the hub: device policy, the one model cache, the registry and the loaders."""
