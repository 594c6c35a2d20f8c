"""Unit tests of include/mm2_stack/ (the local stack controller and `make ui`)."""
