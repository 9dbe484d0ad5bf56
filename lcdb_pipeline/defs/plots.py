"""A picture for the Dagster UI: the lightcurve of one sample target of a region, as a Markdown image."""

from __future__ import annotations

import base64
import io

import numpy as np
import sqlalchemy as sa

SAMPLE_QUERY = sa.text("""
    SELECT t.name, i.name || ' ' || o.filter_name, o.cadence_reference, d.values, d.errors
    FROM observation o
    JOIN instrument i ON i.id = o.instrument_id
    JOIN data_set d ON d.observation_id = o.id
    JOIN processing_group g ON g.id = d.processing_group_id
    JOIN target t ON t.id = d.target_id
    WHERE o.region = :region AND g.name = 'psf/relphot'
      AND d.target_id = (
        SELECT d2.target_id FROM data_set d2 JOIN observation o2 ON o2.id = d2.observation_id
        WHERE o2.region = :region ORDER BY cardinality(d2.values) DESC, d2.target_id LIMIT 1)
    ORDER BY 2
""")


def lightcurve_markdown(engine: sa.Engine, region: str) -> str | None:
    """Markdown with an inline PNG of a well-sampled target's calibrated lightcurve, or None if empty."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with engine.connect() as conn:
        rows = conn.execute(SAMPLE_QUERY, {"region": region}).all()
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 3), dpi=80)
    for name, band, cadences, values, errors in rows:
        mjd = np.asarray(cadences, dtype=np.float64) / 86_400_000.0 + 40587.0
        values, errors = np.asarray(values, float), np.asarray(errors, float)
        ok = np.isfinite(values)
        ax.errorbar(mjd[ok], values[ok], yerr=np.where(np.isfinite(errors[ok]), errors[ok], 0), fmt=".",
                    label=band, ms=3)
    ax.invert_yaxis()
    ax.set_xlabel("MJD (UTC)")
    ax.set_ylabel("calibrated mag")
    ax.set_title(f"target {rows[0][0]} ({region})")
    ax.legend(fontsize=7, ncol=2, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return f"![lightcurve of target {rows[0][0]}](data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()})"
