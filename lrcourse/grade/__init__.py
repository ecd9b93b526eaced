"""lrcourse-grade: grade a class's submitted notebooks (see :mod:`lrcourse.grade.cli`)."""
