from tests._reference import reference_home, served

__all__ = ["reference_home", "served"]
