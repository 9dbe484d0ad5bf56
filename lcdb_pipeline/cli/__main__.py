import sys

from lcdb_pipeline.cli import main

sys.exit(main())
