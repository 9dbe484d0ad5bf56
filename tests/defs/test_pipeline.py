"""The pipeline end to end through real Dagster machinery, on generated DVO databases and a real PostgreSQL.

Expected rows come from `independent.py` (astropy.io.fits + pandas + astropy's own light_travel_time), not
from the pipeline's reader or mapping.
"""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest
import sqlalchemy as sa
from astropy import units as u
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time
from dagster import (
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
    materialize,
)
from dagster._core.storage.defs_state.base import set_defs_state_storage

from lcdb_pipeline.defs.checks import all_checks
from lcdb_pipeline.defs.keys import DATA_SET
from lcdb_pipeline.defs.partitions import dvo_regions
from lcdb_pipeline.defs.reference import lightcurvedb_reference
from lcdb_pipeline.defs.region import dvo_region
from lcdb_pipeline.defs.resources import (
    DEFAULT_OBSERVATORIES,
    DVORootResource,
    lcdb_resources,
)
from lcdb_pipeline.defs.schedules import changed_regions_schedule
from lcdb_pipeline.defs.sensors import new_dvo_regions_sensor
from lcdb_pipeline.synth import generate
from lcdb_schema.database import make_engine
from lcdb_schema.migrations import upgrade_database
from support.independent import expected_table

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["ps1_v1", "ps1_v5_load", "elixir"])
def loaded(request, tmp_path_factory, make_database):
    """A generated DVO database of one format (ELIXIR: in MEF mode), loaded region by region into a fresh
    LightcurveDB."""
    url = make_database(f"pipeline_{request.param}")
    root = tmp_path_factory.mktemp(f"dvo_{request.param}")
    generate(root, scale="small", seed=7, fmt=request.param)
    env = {"LCDB_DATABASE_URL": url, "LCDB_DVO_ROOT": str(root)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    upgrade_database(url)
    # Entering an instance makes its defs-state storage Dagster's "current" one (a context variable) until
    # exit; across a module-scoped fixture's tests that reference can outlive the instance and break the next
    # Definitions built. lcdb keeps no defs state: none is current while this fixture's instance lives.
    with instance_for_test() as instance, set_defs_state_storage(None):
        from lcdb_pipeline.dvo import DVODatabase

        regions = DVODatabase(root).populated_regions()
        instance.add_dynamic_partitions(dvo_regions.name, regions)
        resources = lcdb_resources()
        assert materialize([lightcurvedb_reference], instance=instance, resources=resources).success
        results = {}
        for region in regions:
            results[region] = materialize([dvo_region, *all_checks], partition_key=region, instance=instance,
                                          resources=resources)
        yield {"url": url, "root": root, "regions": regions, "instance": instance, "results": results,
               "engine": make_engine(url), "resources": resources}
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _fetch_observations(engine, table_name):
    with engine.connect() as conn:
        return conn.execute(sa.text("""
            SELECT o.id, i.name, o.filter_name, o.cadence_reference, o.region
            FROM observation o JOIN instrument i ON i.id = o.instrument_id
            WHERE o.catalog_table = :t AND o.type = 'dvo_observation'"""), {"t": table_name}).all()


def _fetch_arrays(engine, obs_id):
    with engine.connect() as conn:
        ds = conn.execute(sa.text("""
            SELECT t.name, g.name, d.values, d.errors FROM data_set d
            JOIN target t ON t.id = d.target_id JOIN processing_group g ON g.id = d.processing_group_id
            WHERE d.observation_id = :o"""), {"o": obs_id}).all()
        tst = conn.execute(sa.text("""
            SELECT t.name, s.barycentric_julian_dates FROM target_specific_time s
            JOIN target t ON t.id = s.target_id WHERE s.observation_id = :o"""), {"o": obs_id}).all()
        qfa = conn.execute(sa.text("""
            SELECT t.name, q.type, q.quality_flags FROM quality_flag_array q
            JOIN target t ON t.id = q.target_id WHERE q.observation_id = :o"""), {"o": obs_id}).all()
    return ds, tst, qfa


def test_every_region_materializes_with_passing_checks(loaded):
    assert loaded["regions"], "the generator populates several regions"
    for region, result in loaded["results"].items():
        assert result.success, region
        evaluations = result.get_asset_check_evaluations()
        assert len(evaluations) == len(all_checks)
        assert all(e.passed for e in evaluations), [(e.check_name, e.metadata) for e in evaluations if not e.passed]
        mats = {e.asset_key.path[-1]: e.materialization for e in result.get_asset_materialization_events()}
        assert set(mats) == {"observation", "target_specific_time", "data_set", "quality_flag_array"}
        meta = mats["data_set"].metadata
        for key in ("catalog tables", "objects", "measurements", "duplicates dropped", "rows written", "seconds",
                    "rows/s"):
            assert key in meta, key
        assert meta["rows written"].value > 0
        assert "data:image/png;base64," in meta["sample lightcurve"].value
        excluded = meta["measurements excluded, per kind"].value
        assert all(excluded[k] > 0 for k in ("reference/secondary", "stack (SkyChip)", "forced (ForcedWarp)"))
        assert excluded["camera without observatory"] == 0
        assert meta["measurements excluded (not epochs)"].value == sum(excluded.values())


def test_rows_equal_an_independent_computation(loaded):
    from lcdb_pipeline.dvo import DVODatabase

    engine, root = loaded["engine"], loaded["root"]
    database = DVODatabase(root)
    checked_targets = 0
    total_duplicates = 0
    checked_errors_differ = False
    for region in loaded["regions"]:
        for table_name in database.tables_in_region(region):
            expected = expected_table(root, table_name)
            rows = _fetch_observations(engine, table_name)
            assert {(cam, f) for _, cam, f, _, _ in rows} == set(expected)
            for obs_id, camera, filter_name, cadences, obs_region in rows:
                exp = expected[(camera, filter_name)]
                assert obs_region == region
                assert cadences.dtype == np.int64
                np.testing.assert_array_equal(cadences, exp.cadences_ms)
                ds, tst, qfa = _fetch_arrays(engine, obs_id)
                got = {(name, group): (values, errors) for name, group, values, errors in ds}
                assert {n for n, _ in got} == set(exp.errors)
                checked_errors_differ |= any(
                    not np.array_equal(exp.errors[n]["psf/relphot"], exp.errors[n]["psf/instrumental"], equal_nan=True)
                    for n in exp.errors)
                for name in exp.errors:
                    for group, key in (("psf/instrumental", "mag"), ("psf/relphot", "calibrated"),
                                       ("aperture/instrumental", "m_aper")):
                        values, errors = got[(name, group)]
                        assert values.dtype == np.float64 and values.size == exp.cadences_ms.size
                        if key == "calibrated":
                            np.testing.assert_allclose(values, exp.values[key][name], rtol=0, atol=1e-9)
                        else:
                            np.testing.assert_array_equal(values, exp.values[key][name])
                        np.testing.assert_allclose(errors, exp.errors[name][group], rtol=1e-15, atol=0)
                flags = {(name, kind): f for name, kind, f in qfa}
                for name in exp.errors:
                    np.testing.assert_array_equal(flags[(name, "dvo_phot_flags")].view(np.uint32), exp.phot_flags[name])
                    np.testing.assert_array_equal(flags[(name, "dvo_db_flags")].view(np.uint32), exp.db_flags[name])
                bjds = dict(tst)
                assert set(bjds) == set(exp.errors)
                # BJD against astropy's full light_travel_time for a few targets per observation.
                site = DEFAULT_OBSERVATORIES[camera]
                location = EarthLocation.from_geodetic(site["lon"] * u.deg, site["lat"] * u.deg, site["height"] * u.m)
                t = Time(exp.mid_unix, format="unix", scale="utc", location=location)
                for name in sorted(exp.errors)[:3]:
                    ra, dec = exp.positions[name]
                    ltt = t.light_travel_time(SkyCoord(ra * u.deg, dec * u.deg), "barycentric", ephemeris="builtin")
                    want = (t.tdb + ltt).jd
                    diff_s = np.abs(bjds[name] - want) * 86400
                    assert diff_s.max() < 1e-3, f"{table_name} {camera}.{filter_name} target {name}: {diff_s.max()} s"
                    checked_targets += 1
                total_duplicates += exp.duplicates
    assert checked_targets > 0
    assert total_duplicates > 0, "the generator writes duplicate measurements; they must be resolved"
    if "ELIXIR" not in str(DVODatabase(root).images.format):  # ELIXIR has no MAG_CAL_ERR
        assert checked_errors_differ, "relphot errors include MAG_CAL_ERR"
    reported = sum(r.get_asset_materialization_events()[0].materialization.metadata["duplicates dropped"].value
                   for r in loaded["results"].values())
    assert reported == total_duplicates


def _ids(engine):
    with engine.connect() as conn:
        return {
            "mission": set(conn.execute(sa.text("SELECT id FROM mission")).scalars()),
            "catalog": set(conn.execute(sa.text("SELECT id FROM mission_catalog")).scalars()),
            "target": set(conn.execute(sa.text("SELECT id FROM target")).scalars()),
            "instrument": set(conn.execute(sa.text("SELECT id FROM instrument")).scalars()),
            "processing_group": set(conn.execute(sa.text("SELECT id FROM processing_group")).scalars()),
            "observation": set(conn.execute(sa.text("SELECT id FROM observation")).scalars()),
        }


def _counts(engine):
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("data_set", "target_specific_time", "quality_flag_array")}


def test_rematerialization_keeps_ids_and_counts(loaded):
    engine, instance, resources = loaded["engine"], loaded["instance"], loaded["resources"]
    before_ids, before_counts = _ids(engine), _counts(engine)
    assert materialize([lightcurvedb_reference], instance=instance, resources=resources).success
    region = loaded["regions"][0]
    assert materialize([dvo_region], partition_key=region, instance=instance, resources=resources).success
    assert _ids(engine) == before_ids
    assert _counts(engine) == before_counts


def test_failing_asset_check_is_reported(loaded):
    """PostgreSQL silently truncating one array (a trigger stands in for a faulty writer or a bad migration):
    the region's run still completes, and the cadence-grid check fails, naming the count of bad rows."""
    engine, instance, resources = loaded["engine"], loaded["instance"], loaded["resources"]
    region = loaded["regions"][0]
    with engine.begin() as conn:
        victim, group = conn.execute(sa.text("""
            SELECT d.target_id, d.processing_group_id FROM data_set d JOIN observation o ON o.id = d.observation_id
            WHERE o.region = :r ORDER BY d.id LIMIT 1"""), {"r": region}).one()
        conn.execute(sa.text(f"""
            CREATE FUNCTION lcdb_test_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN NEW.values := NEW.values[1:1]; RETURN NEW; END $$;
            CREATE TRIGGER lcdb_test_truncate BEFORE INSERT ON data_set FOR EACH ROW
            WHEN (NEW.target_id = {victim} AND NEW.processing_group_id = {group})
            EXECUTE FUNCTION lcdb_test_truncate();"""))
    try:
        result = materialize([dvo_region, *all_checks], partition_key=region, instance=instance,
                             resources=resources)
        assert result.success  # a failing check is reported; it does not crash the run
        failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
        assert [(e.asset_key, e.check_name) for e in failed] == [(DATA_SET, "arrays_match_cadence_grid")]
        assert failed[0].metadata["rows with wrong length"].value >= 1
        stored = instance.get_latest_asset_check_evaluation_record(failed[0].asset_check_key)
        assert stored is not None and not stored.evaluation.passed  # what the UI shows
    finally:  # restore the region for the other tests
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TRIGGER lcdb_test_truncate ON data_set; DROP FUNCTION lcdb_test_truncate()"))
        assert materialize([dvo_region], partition_key=region, instance=instance, resources=resources).success


def test_sensor_adds_exactly_the_new_regions(tmp_path):
    root = tmp_path / "dvo"
    generate(root, scale="small", seed=3)
    from lcdb_pipeline.dvo import DVODatabase

    populated = DVODatabase(root).populated_regions()
    hidden = populated[-1]
    shutil.move(root / hidden, tmp_path / "hidden")
    resources = {"dvo": DVORootResource(root=str(root))}
    with instance_for_test() as instance:
        first = new_dvo_regions_sensor(build_sensor_context(instance=instance, resources=resources))
        added = first.dynamic_partitions_requests[0].partition_keys
        assert sorted(added) == sorted(set(populated) - {hidden})
        assert sorted(r.partition_key for r in first.run_requests) == sorted(added)
        instance.add_dynamic_partitions(dvo_regions.name, list(added))
        shutil.move(tmp_path / "hidden", root / hidden)
        second = new_dvo_regions_sensor(build_sensor_context(instance=instance, resources=resources))
        assert list(second.dynamic_partitions_requests[0].partition_keys) == [hidden]
        instance.add_dynamic_partitions(dvo_regions.name, [hidden])
        third = new_dvo_regions_sensor(build_sensor_context(instance=instance, resources=resources))
        assert not getattr(third, "run_requests", None)


def _schedule_requests(instance, resources):
    # Entered and left: the context's own instance (made from the ref on first use) sets Dagster's "current"
    # defs-state storage until exit; left open, that reference outlives the instance and breaks the next
    # Definitions built (after a garbage collection) -- see the `loaded` fixture.
    with build_schedule_context(instance=instance, resources=resources) as context:
        return changed_regions_schedule(context)


def test_schedule_requests_only_changed_regions(loaded):
    instance, resources, root = loaded["instance"], loaded["resources"], loaded["root"]
    assert not isinstance(_schedule_requests(instance, resources), list), "nothing changed since the load"
    region = loaded["regions"][-1]
    changed = (sorted((root / region).glob("*.cpm")) or sorted((root / region).glob("*.cpt")))[0]  # MEF: the .cpt
    later = time.time() + 10
    os.utime(changed, (later, later))
    instance.add_dynamic_partitions(dvo_regions.name, ["../etc"])  # a bad key must not stop the others
    try:
        requests = _schedule_requests(instance, resources)
    finally:
        instance.delete_dynamic_partition(dvo_regions.name, "../etc")
    assert [r.partition_key for r in requests] == [region]
    assert materialize([dvo_region], partition_key=region, instance=instance, resources=resources).success
    assert not isinstance(_schedule_requests(instance, resources), list)


def _add_exposure(root, table_name: str, n_new: int = 5) -> tuple[int, dict[int, float]]:
    """Append a new exposure (one day after the last) to `table_name`: copies of `n_new` measurements of
    objects with a position, with a new TIME, written with astropy.io.fits; the .cpt's NMEASURE/NMEAS follow
    and SORTED becomes F. Returns the new cadence (ms) and {ave_ref: MAG} of the added measurements."""
    from astropy.io import fits

    cpt_path = root / f"{table_name}.cpt"
    with fits.open(cpt_path) as cpt:
        cpm_path = cpt_path.parent / cpt[0].header["MEASURE"].strip()
        positioned = np.isfinite(cpt[1].data["RA"]) & np.isfinite(cpt[1].data["DEC"])
    with fits.open(cpm_path) as cpm:
        old = cpm[1].data
        on_chip = np.asarray(old["IMAGE_ID"]) != 0  # chip detections (stack, forced, REF rows have no image)
        rows = np.flatnonzero(positioned[np.asarray(old["AVE_REF"]).astype(np.int64)] & on_chip)[:n_new]
        added = old[rows].copy()
        new_time = int(np.max(old["TIME"])) + 86_400
        added["TIME"] = new_time
        added["TIME_MSEC"] = 0
        hdu = fits.BinTableHDU.from_columns(cpm[1].columns, nrows=len(old) + n_new, header=cpm[1].header)
        for name in old.columns.names:
            hdu.data[name][len(old):] = added[name]
        fits.HDUList([cpm[0].copy(), hdu]).writeto(cpm_path, overwrite=True)
    with fits.open(cpt_path) as cpt:
        primary, objects = cpt[0].copy(), cpt[1].copy()
    for ref in np.asarray(added["AVE_REF"]).astype(np.int64):
        objects.data["NMEASURE"][ref] += 1
    primary.header["SORTED"] = False
    primary.header["NMEAS"] = primary.header["NMEAS"] + n_new
    fits.HDUList([primary, objects]).writeto(cpt_path, overwrite=True)
    mags = {int(r): float(m) for r, m in zip(np.asarray(added["AVE_REF"]), np.asarray(added["MAG"], np.float64))}
    return new_time * 1000, mags


def test_table_that_gains_an_exposure_grows_its_arrays(loaded, tmp_path):
    if not (loaded["root"] / "Photcodes.dat").exists():
        pytest.skip("no DVO root")
    from astropy.io import fits

    engine, instance, resources, root = loaded["engine"], loaded["instance"], loaded["resources"], loaded["root"]
    region = loaded["regions"][0]
    table_name = sorted(p.with_suffix("").relative_to(root).as_posix() for p in (root / region).glob("*.cpt"))[0]
    before = {(cam, f): (oid, cad.size) for oid, cam, f, cad, _ in _fetch_observations(engine, table_name)}
    if not (root / f"{table_name}.cpm").exists():
        pytest.skip("MEF mode (ELIXIR): the tables are HDUs of the .cpt, rewritten by the reader tests")
    with fits.open(root / f"{table_name}.cpm") as h:
        if "PADDING" in h[1].columns.names:  # PS1_V5_LOAD: astropy cannot rewrite duplicate column names
            pytest.skip("rewriting PS1_V5_LOAD tables needs duplicate column names")
    new_cadence, mags = _add_exposure(root, table_name)
    assert materialize([dvo_region, *all_checks], partition_key=region, instance=instance,
                       resources=resources).success
    after = {(cam, f): (oid, cad) for oid, cam, f, cad, _ in _fetch_observations(engine, table_name)}
    assert set(after) == set(before)
    grown = [key for key in after if after[key][1].size == before[key][1] + 1]
    assert grown, "the observations measured in the new exposure gain one cadence"
    for key in after:
        obs_id, cadences = after[key]
        assert obs_id == before[key][0], "observation ids are kept"
        ds, tst, qfa = _fetch_arrays(engine, obs_id)
        assert all(values.size == cadences.size for _, _, values, _ in ds)
        assert all(b.size == cadences.size for _, b in tst)
        assert all(f.size == cadences.size for _, _, f in qfa)
        if key in grown:
            assert cadences[-1] == new_cadence
            assert any(np.isfinite(values[-1]) for _, g, values, _ in ds if g == "psf/instrumental")
    expected = expected_table(root, table_name)
    for (camera, filter_name), exp in expected.items():
        np.testing.assert_array_equal(after[(camera, filter_name)][1], exp.cadences_ms)


def test_region_run_on_an_empty_database_brings_schema_and_reference_first(tmp_path, make_database, monkeypatch):
    """What the sensor does on a fresh deployment: region runs before anyone materialized the reference assets."""
    url = make_database("fresh_region")  # no schema at all
    root = tmp_path / "dvo"
    generate(root, scale="small", seed=2)
    monkeypatch.setenv("LCDB_DATABASE_URL", url)
    monkeypatch.setenv("LCDB_DVO_ROOT", str(root))
    from lcdb_pipeline.dvo import DVODatabase

    region = DVODatabase(root).populated_regions()[0]
    with instance_for_test() as instance:
        instance.add_dynamic_partitions(dvo_regions.name, [region])
        result = materialize([dvo_region, *all_checks], partition_key=region, instance=instance,
                             resources=lcdb_resources())
        assert result.success
        assert all(e.passed for e in result.get_asset_check_evaluations())
    with make_engine(url).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM mission")).scalar_one() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM processing_group")).scalar_one() == 3
        assert conn.execute(sa.text("SELECT count(DISTINCT region) FROM observation")).scalar_one() == 1


def test_readme_query_example_runs_as_written(loaded, capsys):
    import re
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")  # plt.show() is then a no-op
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Query a lightcurve", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert re.search(r"^[ns]\d{4}/\S+ (GPC1|MEGACAM) \w: \d+ of \d+ epochs measured$", out, re.M), out


def test_dvo_time_scale_setting_reaches_the_mission(loaded, monkeypatch):
    """LCDB_DVO_TIME_SCALE (default utc, the IPP's GPC1 FPA.TIMESYS) is the Mission's time_epoch_scale; a
    value that is not a time scale is refused, naming the setting."""
    engine, instance, root = loaded["engine"], loaded["instance"], loaded["root"]
    try:
        for scale in ("tai", None):
            if scale:
                monkeypatch.setenv("LCDB_DVO_TIME_SCALE", scale)
            else:
                monkeypatch.delenv("LCDB_DVO_TIME_SCALE")
            resources = lcdb_resources(dvo_root=root)
            assert materialize([lightcurvedb_reference], instance=instance, resources=resources).success
            with engine.connect() as conn:
                stored = conn.execute(sa.text("SELECT time_epoch_scale FROM mission")).scalar_one()
            assert stored == (scale or "utc")
    finally:  # the module's database is UTC again for the other tests
        monkeypatch.delenv("LCDB_DVO_TIME_SCALE", raising=False)
        assert materialize([lightcurvedb_reference], instance=instance, resources=loaded["resources"]).success
    with pytest.raises(ValueError, match="LCDB_DVO_TIME_SCALE = 'tt' is not a DVO time scale"):
        lcdb_resources(time_scale="tt")["mission"].spec()
