"""Developer tooling: run the stack as separate processes, the demo, benchmark helpers."""
