import sys

from lcdb_pipeline.bench.child import main

sys.exit(main())
