"""Teaching: exercise checks, challenges, and ``netlab reproduce`` (the article's claims, tested).

checks.py     state-based checks of exercises; the first failing step gives the hint
challenges/   the challenges of notebook 05, one module each
reproduce/    the article's claims, the experiments that test them, and the report
"""
