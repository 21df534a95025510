"""Teaching: exercise checks, challenges, and ``netlab reproduce`` (the article's claims, tested).

lesson.py     ``lesson.start``/``lesson.reset``: a clean start that takes away only what is netlab's
leftovers.py  what is the kit's among what appeared since a clean start, and its removal
sessions.py   the lessons open in other notebooks, whose world a lesson start leaves alone
checks.py     state-based checks of exercises; the first failing step gives the hint
challenges/   the challenges of notebook 05, one module each
reproduce/    the article's claims, the experiments that test them, and the report
"""
