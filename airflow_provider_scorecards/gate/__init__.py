"""The score gate, with no Airflow import.

What must hold and the verdict (``condition``), its wording (``report``), waivers, explanations, and the
rollout that turns a result into the ``verdict`` document.
"""
