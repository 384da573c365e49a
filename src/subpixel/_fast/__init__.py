"""Optional per-backend fast paths, each imported only when its backend's array arrives."""
