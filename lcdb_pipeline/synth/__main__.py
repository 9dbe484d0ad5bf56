import sys

from lcdb_pipeline.synth import main

sys.exit(main())
