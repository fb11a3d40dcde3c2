"""archsweep.search."""
