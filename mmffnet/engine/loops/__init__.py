from .multi_test_loop import MultiTestLoop

__all__ = ['MultiTestLoop']
