"""archsweep.validation."""
