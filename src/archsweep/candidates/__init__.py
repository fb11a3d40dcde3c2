"""archsweep.candidates."""
