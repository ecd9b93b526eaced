"""The instructor's hidden cases for the fixture chapter (tests/grading/hostile_class.py)."""

CASES = {
    "double": [(10,), (-7,)],  # arguments; the expected value comes from the check cell's reference
    "step": [{"args": (5.0, 2.0, 0.5), "expected": 4.0}],  # or arguments with the expected value
}
