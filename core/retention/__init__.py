"""Data lifecycle: retention of growing tables (`prune`) and complete deletion of an account (`accounts`)."""
