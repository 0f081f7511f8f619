/// `TroveClient`: see docs/ARCHITECTURE.md. Filled in by the issue that owns this module.
