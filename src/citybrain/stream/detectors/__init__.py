"""Built-in stream detectors: the live side of the built-in topics."""
