# The hostile class's notebooks are graded by tests/test_grade.py, never run by nbval.
collect_ignore_glob = ["*.ipynb"]
