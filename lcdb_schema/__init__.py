"""LightcurveDB: the SQLAlchemy models of astronomical lightcurves in PostgreSQL.

Usable on its own by an analyst::

    from sqlalchemy.orm import Session
    from lcdb_schema import Target
    from lcdb_schema.database import make_engine

    with Session(make_engine()) as session:          # LCDB_DATABASE_URL, or the embedded server
        target = session.query(Target).filter_by(name=12345678).first()
        for lc in target.datasets:
            print(lc.processing_group.name, lc.values)

Any SQLAlchemy engine on the psycopg 3 driver works too (``sqlalchemy.create_engine(url)``): the array
columns read and write numpy arrays without a set-up call. The constraints, cascades and public methods are
upstream LightcurveDB's (docs/schema.md lists them and lcdb's few divergences).

Modules: `base` (LCDBModel, mixins), `types` (numpy array columns), `mission`, `instrument`,
`observation`, `processing`, `products`, `dvo` (the DVO extension, lcdb's instrument registry),
`timesystem` (astropy time formats), `database` (URLs, engines, the embedded server), `migrations` (Alembic).
"""

from lcdb_schema.base import CreatedOnMixin, LCDBModel, NameAndDescriptionMixin
from lcdb_schema.dvo import DBFlagsArray, DVOInstrument, DVOObservation, PhotFlagsArray
from lcdb_schema.instrument import Instrument
from lcdb_schema.mission import Mission, MissionCatalog, Target
from lcdb_schema.observation import FITSFrame, Observation
from lcdb_schema.processing import DetrendingMethod, PhotometricSource, ProcessingGroup
from lcdb_schema.products import DataSet, QualityFlagArray, TargetSpecificTime

__all__ = [
    "CreatedOnMixin",
    "DBFlagsArray",
    "DVOInstrument",
    "DVOObservation",
    "DataSet",
    "DetrendingMethod",
    "FITSFrame",
    "Instrument",
    "LCDBModel",
    "Mission",
    "MissionCatalog",
    "NameAndDescriptionMixin",
    "Observation",
    "PhotFlagsArray",
    "PhotometricSource",
    "ProcessingGroup",
    "QualityFlagArray",
    "Target",
    "TargetSpecificTime",
]
